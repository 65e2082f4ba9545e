/**
 * The thread that owns the SQLite connection, so that its fsyncs never block the HTTP event loop.
 * It decides nothing: it reads keys' histories and writes the batches of records the store decided
 * (sqlite.ts), each batch in one transaction, and answers a message's requests in one message.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SqliteEngine } from "./sqliteEngine.js";
import { toWire, type Answer, type Call, type Reply, type ReplyItem, type Request, type WorkerConfig } from "./sqliteProtocol.js";

const port = parentPort!;
const config: WorkerConfig = workerData;
const post = (m: Reply): void => port.postMessage(m);

let engine: SqliteEngine;
try {
  engine = new SqliteEngine(config.path, config.genesisValidatorsRoot);
  post({ t: "ready", chain: engine.boundChain, identity: engine.identity });
} catch (e) {
  post({ t: "openFailed", error: toWire(e) });
  port.close();
  process.exit(0);
}

// A request that cannot be read would leave its caller waiting: end the thread, and the store with it.
port.on("messageerror", () => process.exit(1));

port.on("message", (requests: Request[]) => {
  const items: ReplyItem[] = [];
  let closing = false;
  for (const r of requests) {
    try {
      items.push({ id: r.id, ...run(r.call) });
    } catch (e) {
      items.push({ id: r.id, error: toWire(e) });
    }
    if (r.call.op === "close") {
      closing = true;
      break;
    }
  }
  post({ t: "results", items, chain: engine.boundChain });
  if (closing) port.close();
});

function run(r: Call): Answer {
  switch (r.op) {
    case "load":
      return { op: r.op, value: engine.loadHistory(r.pubkey, r.gvr) };
    case "commit":
      return { op: r.op, value: engine.commitRecords(r.gvr, r.records) };
    case "import":
      return { op: r.op, value: engine.importInterchange(r.parsed) };
    case "export":
      return { op: r.op, value: engine.exportStates(r.genesisValidatorsRoot, r.pubkeys) };
    case "prune":
      return { op: r.op, value: engine.prune() };
    case "ping":
      return { op: r.op, value: engine.ping() };
    case "close":
      return { op: r.op, value: engine.close() };
  }
}
