/**
 * The thread that owns the SQLite connection. Group commit: every request that arrived while the
 * previous commit was fsyncing is decided in order, the decisions are posted at once, then all
 * their records are committed in one transaction and "durable" is posted. The HTTP thread never
 * waits on an fsync, and one fsync covers a whole batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SqliteEngine } from "./sqliteEngine.js";
import { toWire, type Reply, type Request, type WireError, type WorkerConfig } from "./sqliteProtocol.js";

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

port.on("message", (batch: Request[]) => {
  for (const r of batch) queue.push(r);
  if (!scheduled) {
    scheduled = true;
    // setImmediate runs after the event loop has delivered every message already waiting, so
    // everything that queued up during the last commit lands in this batch.
    setImmediate(flush);
  }
});

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  let decided: { id: number; error?: WireError }[] = [];
  const commitDecided = (): void => {
    if (decided.length === 0) return;
    post({ t: "decisions", items: decided });
    const ids = decided.filter((d) => !d.error).map((d) => d.id);
    decided = [];
    try {
      engine.commit();
      post({ t: "durable", ids });
    } catch (e) {
      post({ t: "durable", ids, error: toWire(e) });
    }
  };
  for (const r of batch) {
    if (r.op === "sign") {
      try {
        engine.decide(r.req);
        decided.push({ id: r.id });
      } catch (e) {
        decided.push({ id: r.id, error: toWire(e) });
      }
      continue;
    }
    // Anything else sees the database with every earlier decision committed.
    commitDecided();
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
  commitDecided();
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
