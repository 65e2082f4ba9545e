/**
 * The thread that owns the SQLite connection. Group commit: requests are decided in arrival order
 * as soon as they arrive and the decisions posted at once; the records decided meanwhile are
 * committed together in one transaction when a caller needs one of them durable (or after
 * `commitDelayMs`), then "durable" is posted for all of them. The HTTP thread never waits on an
 * fsync, and one fsync covers a whole batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SqliteEngine } from "./sqliteEngine.js";
import { toWire, type Batch, type Reply, type Request, type WireError, type WorkerConfig } from "./sqliteProtocol.js";

const port = parentPort!;
const config = workerData as WorkerConfig;
const post = (m: Reply): void => port.postMessage(m);

let engine: SqliteEngine;
try {
  engine = new SqliteEngine(config.path, config.genesisValidatorsRoot);
  post({ t: "ready" });
} catch (e) {
  post({ t: "openFailed", error: toWire(e) });
  port.close();
  process.exit(0);
}

let queue: Request[] = [];
let scheduled = false;
let commitWanted = false;
/** Allowed since the last commit: their `durable` is settled by the next one. */
let uncommitted: number[] = [];
let commitTimer: NodeJS.Timeout | null = null;

port.on("message", (batch: Batch) => {
  for (const r of batch.requests) queue.push(r);
  if (batch.commit) commitWanted = true;
  if (!scheduled) {
    scheduled = true;
    // setImmediate runs after the event loop has delivered every message already waiting.
    setImmediate(flush);
  }
});

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  let decided: { id: number; error?: WireError }[] = [];
  const postDecisions = (): void => {
    if (decided.length > 0) post({ t: "decisions", items: decided });
    decided = [];
  };
  for (const r of batch) {
    if (r.op === "sign") {
      try {
        engine.decide(r.req);
        decided.push({ id: r.id });
        uncommitted.push(r.id);
      } catch (e) {
        decided.push({ id: r.id, error: toWire(e) });
      }
      continue;
    }
    // Anything else sees the database with every earlier decision committed.
    postDecisions();
    commit();
    try {
      post({ t: "result", id: r.id, value: run(r) });
    } catch (e) {
      post({ t: "result", id: r.id, error: toWire(e) });
    }
    if (r.op === "close") {
      port.close();
      return;
    }
  }
  postDecisions();
  // After deciding, so that the requests that arrived with the wish join its commit.
  if (commitWanted) commit();
  else if (uncommitted.length > 0 && commitTimer === null) commitTimer = setTimeout(commit, config.commitDelayMs);
}

function commit(): void {
  if (commitTimer !== null) clearTimeout(commitTimer);
  commitTimer = null;
  commitWanted = false;
  if (uncommitted.length === 0) return;
  const ids = uncommitted;
  uncommitted = [];
  try {
    engine.commit();
    post({ t: "durable", ids });
  } catch (e) {
    post({ t: "durable", ids, error: toWire(e) });
  }
}

function run(r: Exclude<Request, { op: "sign" }>): unknown {
  switch (r.op) {
    case "import":
      return engine.importInterchange(r.parsed);
    case "export":
      return engine.exportStates(r.genesisValidatorsRoot, r.pubkeys);
    case "prune":
      return engine.prune();
    case "ping":
      return engine.ping();
    case "close":
      return engine.close();
  }
}
