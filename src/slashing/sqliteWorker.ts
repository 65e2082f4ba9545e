/**
 * The thread that owns the SQLite connection, so that its fsyncs never block the HTTP event loop.
 * It decides nothing: it reads keys' histories and writes the batches of records the store decided
 * (sqlite.ts), each batch in one transaction, and answers a message's requests in one message.
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
  post({ t: "ready", chain: engine.boundChain });
} catch (e) {
  post({ t: "openFailed", error: toWire(e) });
  port.close();
  process.exit(0);
}

// A request that cannot be read would leave its caller waiting: end the thread, and the store with it.
port.on("messageerror", () => process.exit(1));

port.on("message", (requests: Request[]) => {
  const items: { id: number; value?: unknown; error?: WireError }[] = [];
  let closing = false;
  for (const r of requests) {
    try {
      items.push({ id: r.id, value: run(r) });
    } catch (e) {
      items.push({ id: r.id, error: toWire(e) });
    }
    if (r.op === "close") {
      closing = true;
      break;
    }
  }
  post({ t: "results", items, chain: engine.boundChain });
  if (closing) port.close();
});

function run(r: Request): unknown {
  switch (r.op) {
    case "load":
      return engine.loadHistory(r.pubkey, r.gvr);
    case "commit":
      return engine.commitRecords(r.gvr, r.records);
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
