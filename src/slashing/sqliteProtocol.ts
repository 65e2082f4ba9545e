/** Messages between SqliteSlashingStore (sqlite.ts) and the thread owning the connection (sqliteWorker.ts). */
import { SignerError } from "../errors.js";
import { InterchangeError, SlashingError, StorageError } from "./errors.js";
import type { ParsedInterchange } from "./interchange.js";
import type { SignRequest } from "./sqliteEngine.js";

export interface WorkerConfig {
  path: string;
  genesisValidatorsRoot?: string;
  commitDelayMs: number;
}

export type Request =
  | { id: number; op: "sign"; req: SignRequest }
  | { id: number; op: "import"; parsed: ParsedInterchange }
  | { id: number; op: "export"; genesisValidatorsRoot?: string; pubkeys?: string[] }
  | { id: number; op: "prune" }
  | { id: number; op: "ping" }
  | { id: number; op: "close" };

/** What the store posts to the thread, once per event-loop turn. */
export interface Batch {
  requests: Request[];
  /** A caller's signature is ready: commit what is decided without waiting for the delay. */
  commit: boolean;
}

export interface WireError {
  cls: "SlashingError" | "StorageError" | "InterchangeError" | "Error";
  code: string;
  message: string;
  context: Record<string, unknown>;
}

export type Reply =
  | { t: "ready" }
  | { t: "openFailed"; error: WireError }
  /** Sent before the commit, so the caller can compute signatures while the fsync runs. */
  | { t: "decisions"; items: { id: number; error?: WireError }[] }
  | { t: "durable"; ids: number[]; error?: WireError }
  | { t: "result"; id: number; value?: unknown; error?: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof SignerError) {
    const cls = e instanceof SlashingError ? "SlashingError" : e instanceof InterchangeError ? "InterchangeError" : "StorageError";
    return { cls, code: e.code, message: e.message, context: e.context };
  }
  return { cls: "Error", code: "INTERNAL", message: e instanceof Error ? e.message : String(e), context: {} };
}

export function fromWire(w: WireError): Error {
  switch (w.cls) {
    case "SlashingError":
      return new SlashingError(w.code as SlashingError["code"], w.message, w.context);
    case "InterchangeError":
      return new InterchangeError(w.code as InterchangeError["code"], w.message, w.context);
    case "StorageError":
      return new StorageError(w.code as StorageError["code"], w.message, w.context);
    default:
      return new StorageError("DATABASE_UNAVAILABLE", `slashing database thread failed: ${w.message}`);
  }
}
