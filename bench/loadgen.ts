/**
 * Load generator, run as its own process by bench/run.ts so that it does not share an event loop
 * with the signer. Each connection owns a disjoint set of keys and signs attestations for them one
 * after another with rising epochs, so every request is legitimate and must be signed (a refusal
 * counts as an error). Prints one JSON line with the figures.
 *
 * It speaks HTTP/1.1 over plain keep-alive sockets, one request in flight per connection, rather
 * than through node:http: on two cores every microsecond the load generator spends is taken from
 * the signer it measures, and node:http's client costs several times more per request.
 *
 * With SIGNER_PID it also reports the CPU time the signer process (all its threads) and this
 * process spent per signed request over the measured window: on a machine where both share the
 * cores, that, not the signature alone, is what bounds the throughput (Linux only, from /proc);
 * and the signer's per thread, to show which thread a change made cheaper or dearer.
 *
 * In burst mode every connection has one key, and all of them sign at once, round after round.
 *
 * Usage: node --import tsx bench/loadgen.ts URL CONNECTIONS DURATION_MS WARMUP_MS PUBKEY_FILE START_EPOCH [SIGNER_PID [steady|burst]]
 */
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { FULU_FORK_INFO } from "../test/helpers/messages.js";

const [url, connArg, durationArg, warmupArg, pubkeyFile, startEpochArg, signerPidArg, modeArg] = process.argv.slice(2);
const mode = modeArg === "burst" ? "burst" : "steady";
const connections = Number(connArg);
const durationMs = Number(durationArg);
const warmupMs = Number(warmupArg);
const pubkeys = JSON.parse(readFileSync(pubkeyFile!, "utf8")) as string[];
let epoch = Number(startEpochArg);
if (pubkeys.length < connections) {
  // Each connection needs keys of its own, or two connections would race on one key's epochs.
  console.error(`loadgen: ${connections} connections need at least as many keys, got ${pubkeys.length}`);
  process.exit(2);
}
const target = new URL(url!);

const ROOT = "0x" + "ab".repeat(32);
const forkInfo = JSON.stringify(FULU_FORK_INFO);

function request(pubkey: string, targetEpoch: number): string {
  const body =
    `{"type":"ATTESTATION","fork_info":${forkInfo},"attestation":{"slot":"${targetEpoch * 32}","index":"0",` +
    `"beacon_block_root":"${ROOT}","source":{"epoch":"${targetEpoch - 1}","root":"${ROOT}"},` +
    `"target":{"epoch":"${targetEpoch}","root":"${ROOT}"}}}`;
  return (
    `POST /api/v1/eth2/sign/${pubkey} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** CPU seconds used so far (fields utime and stime of a /proc stat file: a process, all its threads, or one thread). */
function cpuSeconds(statFile: string): number | undefined {
  try {
    const stat = readFileSync(statFile, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
/** Each thread's CPU seconds, by thread id: the main thread's id is the process id. */
function threadCpuSeconds(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const seconds = cpuSeconds(`/proc/${pid}/task/${tid}/stat`);
      if (seconds !== undefined) threads.set(tid, seconds);
    }
  } catch {
    // not Linux, or the signer is gone: no breakdown
  }
  return threads;
}
const signerPid = signerPidArg ? Number(signerPidArg) : undefined;
const cpuAt = () => ({
  signer: signerPid ? cpuSeconds(`/proc/${signerPid}/stat`) : undefined,
  threads: signerPid ? threadCpuSeconds(signerPid) : new Map<string, number>(),
  self: process.cpuUsage(),
});
let cpuFrom: ReturnType<typeof cpuAt> | undefined;
let cpuTo: ReturnType<typeof cpuAt> | undefined;

const latencies: number[] = [];
let errors = 0;
const start = performance.now();
const measureFrom = start + warmupMs;
const end = measureFrom + durationMs;
setTimeout(() => (cpuFrom = cpuAt()), warmupMs);
setTimeout(() => (cpuTo = cpuAt()), warmupMs + durationMs);

/** Length of one complete response at the start of `buf`, or -1 when more bytes are needed. */
function responseLength(buf: string): number {
  const headerEnd = buf.indexOf("\r\n\r\n");
  if (headerEnd < 0) return -1;
  const m = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, headerEnd));
  if (!m) throw new Error(`response without content-length: ${buf.slice(0, 200)}`);
  const total = headerEnd + 4 + Number(m[1]);
  return buf.length >= total ? total : -1;
}

/** One keep-alive connection with one request in flight: `send` resolves once its answer is read. */
function openConnection(): Promise<{ send(pubkey: string, targetEpoch: number): Promise<void>; end(): void }> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    let buf = "";
    let pending: { done(): void; fail(e: Error): void } | undefined;
    // `onread` hands each read to the callback in this buffer, without the stream machinery of a
    // 'data' event: the load generator's CPU comes off the cores the signer is measured on.
    const socket = net.connect({
      port: Number(target.port),
      host: target.hostname,
      noDelay: true,
      onread: {
        buffer: Buffer.alloc(64 * 1024),
        callback: (size: number, chunk: Uint8Array) => {
          buf += Buffer.from(chunk.buffer, chunk.byteOffset, size).toString("latin1");
          const n = responseLength(buf);
          if (n < 0) return true;
          const ok = buf.startsWith("HTTP/1.1 200");
          buf = buf.slice(n);
          const now = performance.now();
          if (sentAt >= measureFrom && now <= end) {
            if (ok) latencies.push(now - sentAt);
            else errors++;
          }
          const p = pending;
          pending = undefined;
          p?.done();
          return true;
        },
      },
    });
    // A connection the signer closes (or that fails) with a request out fails the run, naming it,
    // rather than leaving that request unanswered and the process to exit with nothing to say.
    const lost = (e?: Error) => {
      const err = new Error(`connection to the signer lost with a request out${e ? `: ${e.message}` : ""}`);
      if (pending) pending.fail(err);
      else reject(err);
      pending = undefined;
    };
    socket.on("error", lost);
    socket.on("close", () => lost());
    socket.on("connect", () =>
      resolve({
        send(pubkey, targetEpoch) {
          sentAt = performance.now();
          socket.write(request(pubkey, targetEpoch));
          return new Promise((done, fail) => (pending = { done, fail }));
        },
        end: () => {
          socket.removeAllListeners("close");
          socket.end();
        },
      }),
    );
  });
}

const conns = await Promise.all(Array.from({ length: connections }, openConnection));
if (mode === "burst") {
  // A validator client at each slot: every key (one connection each) asks at once for an
  // attestation one epoch above its last, and the next burst starts when the last is answered.
  for (let round = 0; performance.now() < end; round++, epoch++) {
    await Promise.all(conns.map((c, k) => c.send(pubkeys[k]!, epoch)));
  }
} else {
  // Steady load: each connection owns a disjoint set of keys and signs for them one after another.
  await Promise.all(
    conns.map(async (c, ci) => {
      const keys = pubkeys.filter((_, k) => k % connections === ci);
      for (let i = 0; performance.now() < end; i++) await c.send(keys[i % keys.length]!, epoch++);
    }),
  );
}
for (const c of conns) c.end();

latencies.sort((a, b) => a - b);
const perRequestUs = (seconds: number | undefined) => (seconds === undefined || latencies.length === 0 ? null : (seconds / latencies.length) * 1e6);
const signerCpu = cpuFrom?.signer !== undefined && cpuTo?.signer !== undefined ? cpuTo.signer - cpuFrom.signer : undefined;
// Per thread, the main thread first, then the others busiest first: on the signer these are the
// BLS workers (about a signature each per request between them), then the SQLite thread, then
// V8's and libuv's helpers. Ticks are 10 ms samples, so a thread's figure is good to a few percent.
const threadUs: number[] = [];
if (cpuFrom && cpuTo && signerPid) {
  const main = String(signerPid);
  const used = [...cpuTo.threads].map(([tid, s]) => [tid, perRequestUs(s - (cpuFrom!.threads.get(tid) ?? 0)) ?? 0] as const);
  const mainUs = used.find(([tid]) => tid === main)?.[1];
  if (mainUs !== undefined) threadUs.push(mainUs, ...used.filter(([tid]) => tid !== main).map(([, us]) => us).filter((us) => us > 0).sort((a, b) => b - a));
}
const selfCpu = cpuFrom && cpuTo ? (cpuTo.self.user + cpuTo.self.system - cpuFrom.self.user - cpuFrom.self.system) / 1e6 : undefined;
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    connections,
    mode,
    signed: latencies.length,
    errors,
    perSecond: latencies.length / (durationMs / 1000),
    p50: pct(50),
    p99: pct(99),
    max: latencies.at(-1) ?? NaN,
    nextEpoch: epoch,
    signerCpuUsPerRequest: perRequestUs(signerCpu),
    loadgenCpuUsPerRequest: perRequestUs(selfCpu),
    signerThreadsUsPerRequest: threadUs.map((us) => Math.round(us)),
  }),
);
