import { parentPort } from "node:worker_threads";
import { decryptOne, type DecryptJob, type WorkerReply } from "./decryptPool.js";

// Entry point of the keystore decryption threads started by decryptPool.ts.
const port = parentPort!;
port.on("message", async (job: DecryptJob & { id: number }) => {
  const result = await decryptOne(job);
  let reply: WorkerReply;
  if (result.ok) {
    // The decrypted bytes may sit in Node's shared Buffer pool, which cannot be transferred: copy
    // them into a buffer of their own, wipe the original, and transfer the copy so that no
    // secret stays behind in this thread.
    const secretKey = new Uint8Array(result.key.secretKey);
    result.key.secretKey.fill(0);
    reply = { id: job.id, ok: true, pubkey: result.key.pubkey, secretKey };
    port.postMessage(reply, [secretKey.buffer]);
  } else {
    const { code, message, context } = result.error;
    reply = { id: job.id, ok: false, code, message, context };
    port.postMessage(reply);
  }
});
