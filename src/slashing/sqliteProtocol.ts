/**
 * Messages between SqliteSlashingStore (sqlite.ts) and the thread owning the connection
 * (sqliteWorker.ts). Each operation's arguments and answer are declared once, in Operations; both
 * sides are typed from it, so a request the worker does not carry out, or an answer of the wrong
 * shape, does not compile.
 */
import { InterchangeError, SlashingError, StorageError } from "./errors.js";
import type { KeyState, ParsedInterchange } from "./interchange.js";
import type { SignRecord, StoredHistory } from "./sqliteEngine.js";
import type { DatabaseIdentity, ImportSummary, PruneSummary } from "./store.js";

export interface WorkerConfig {
  path: string;
  genesisValidatorsRoot?: string;
}

/** What an export reads: the chain it is for and each key's state, in the order the file lists them. */
export interface ExportedStates {
  genesisValidatorsRoot: string;
  states: KeyState[];
}

type NoArgs = Record<never, never>;

export interface Operations {
  load: { args: { pubkey: string; gvr: string }; result: StoredHistory };
  commit: { args: { gvr: string; records: SignRecord[] }; result: void };
  import: { args: { parsed: ParsedInterchange }; result: ImportSummary };
  export: { args: { genesisValidatorsRoot?: string; pubkeys?: string[] }; result: ExportedStates };
  prune: { args: NoArgs; result: PruneSummary };
  ping: { args: NoArgs; result: void };
  close: { args: NoArgs; result: void };
}

export type Op = keyof Operations;
export type Result<K extends Op> = Operations[K]["result"];

/** A request before the store numbers it. */
export type Call<K extends Op = Op> = K extends Op ? { op: K } & Operations[K]["args"] : never;

/** Posted by the store, a turn's worth at a time, carried out in order. */
export interface Request {
  id: number;
  call: Call;
}

/** A request's outcome, tagged with its operation so the store can check it got the answer it asked for. */
export type Answer<K extends Op = Op> = { [P in K]: { op: P; value: Result<P> } }[K];

export type ReplyItem = { id: number } & (Answer | { error: WireError });

export type WireError =
  | { cls: "SlashingError"; code: SlashingError["code"]; message: string; context: SlashingError["context"] }
  | { cls: "InterchangeError"; code: InterchangeError["code"]; message: string; context: InterchangeError["context"] }
  | { cls: "StorageError"; code: StorageError["code"]; message: string; context: StorageError["context"] }
  | { cls: "Error"; message: string };

/** `chain` is the genesis_validators_root the database is bound to once the request is done. */
export type Reply =
  | { t: "ready"; chain: string | null; identity: DatabaseIdentity }
  | { t: "openFailed"; error: WireError }
  | { t: "results"; items: ReplyItem[]; chain: string | null };

export function toWire(e: unknown): WireError {
  const { message } = e instanceof Error ? e : { message: String(e) };
  if (e instanceof SlashingError) return { cls: "SlashingError", code: e.code, message, context: e.context };
  if (e instanceof InterchangeError) return { cls: "InterchangeError", code: e.code, message, context: e.context };
  if (e instanceof StorageError) return { cls: "StorageError", code: e.code, message, context: e.context };
  return { cls: "Error", message };
}

export function fromWire(w: WireError): Error {
  switch (w.cls) {
    case "SlashingError":
      return new SlashingError(w.code, w.message, w.context);
    case "InterchangeError":
      return new InterchangeError(w.code, w.message, w.context);
    case "StorageError":
      return new StorageError(w.code, w.message, w.context);
    case "Error":
      return new StorageError("DATABASE_UNAVAILABLE", `slashing database thread failed: ${w.message}`);
  }
}

/**
 * Reads the answer to a request for `op` out of a reply item, or null when the item answers another
 * operation (a protocol fault the store refuses rather than passing on a value of the wrong shape).
 */
export const answerTo: { [K in Op]: (a: Answer) => { value: Result<K> } | null } = {
  load: (a) => (a.op === "load" ? { value: a.value } : null),
  commit: (a) => (a.op === "commit" ? { value: a.value } : null),
  import: (a) => (a.op === "import" ? { value: a.value } : null),
  export: (a) => (a.op === "export" ? { value: a.value } : null),
  prune: (a) => (a.op === "prune" ? { value: a.value } : null),
  ping: (a) => (a.op === "ping" ? { value: a.value } : null),
  close: (a) => (a.op === "close" ? { value: a.value } : null),
};
