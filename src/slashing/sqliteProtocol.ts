/** Messages between SqliteSlashingStore (sqlite.ts) and the thread owning the connection (sqliteWorker.ts). */
import { SignerError } from "../errors.js";
import { InterchangeError, SlashingError, StorageError } from "./errors.js";
import type { ParsedInterchange } from "./interchange.js";
import type { SignRecord } from "./sqliteEngine.js";

export interface WorkerConfig {
  path: string;
  genesisValidatorsRoot?: string;
}

/** Posted by the store once per event-loop turn, carried out in order. */
export type Request =
  | { id: number; op: "load"; pubkey: string; gvr: string }
  | { id: number; op: "commit"; gvr: string; records: SignRecord[] }
  | { id: number; op: "import"; parsed: ParsedInterchange }
  | { id: number; op: "export"; genesisValidatorsRoot?: string; pubkeys?: string[] }
  | { id: number; op: "prune" }
  | { id: number; op: "ping" }
  | { id: number; op: "close" };

export interface WireError {
  cls: "SlashingError" | "StorageError" | "InterchangeError" | "Error";
  code: string;
  message: string;
  context: Record<string, unknown>;
}

/** `chain` is the genesis_validators_root the database is bound to once the request is done. */
export type Reply =
  | { t: "ready"; chain: string | null }
  | { t: "openFailed"; error: WireError }
  | { t: "results"; items: { id: number; value?: unknown; error?: WireError }[]; chain: string | null };

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
