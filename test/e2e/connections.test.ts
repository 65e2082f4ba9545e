import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { costlyKeystore, randomKey, tempDir } from "../helpers/keysFixtures.js";
import { sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, startTestSigner, writeKeystores } from "../helpers/signer.js";
import { signingCases } from "../helpers/signingCases.js";

/** A client that may misbehave: what it wrote is up to the test, and `closed` settles when the server ends the connection. */
interface RawClient {
  socket: Socket;
  /** Everything the server sent. */
  received: () => string;
  closed: Promise<void>;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let received = "";
  socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => undefined); // a reset is one way for the server to close
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => received, closed };
}

/** A sign request whose body never finishes: it promises 100 kB and sends a few bytes. */
function startEndlessBody(client: RawClient, pubkey: string): void {
  client.socket.write(
    `POST /api/v1/eth2/sign/${pubkey} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":`,
  );
}

/** Sends a whole GET /upcheck on the connection and waits for its answer: the server has the connection. */
async function upcheckOn(client: RawClient): Promise<void> {
  const before = client.received().length;
  client.socket.write("GET /upcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  while (!client.received().slice(before).includes("\r\n\r\nOK")) {
    await new Promise((r) => setTimeout(r, 10));
    if (client.socket.destroyed) throw new Error(`connection closed before /upcheck answered: ${client.received()}`);
  }
}

describe("a hostile network cannot exhaust the server", () => {
  const attestation = signingCases().find((c) => c.type === "ATTESTATION")!;

  it("closes 100 connections whose bodies never finish, and silent ones, while other clients keep signing", async (t) => {
    const signer = await startTestSigner(t, { flags: { "headers-timeout-ms": "1000", "request-timeout-ms": "3000" } });
    const key = signer.keys[0]!;
    const slow = await Promise.all(Array.from({ length: 100 }, () => rawClient(signer.url)));
    for (const client of slow) startEndlessBody(client, key.pubkey);
    // Connections that never send a byte: the headers timeout ends them.
    const silent = await Promise.all(Array.from({ length: 10 }, () => rawClient(signer.url)));

    // Meanwhile, another client signs and every signature verifies.
    const open = () => slow.filter((c) => !c.socket.destroyed).length;
    const openWhileSigning: number[] = [];
    for (let i = 0; i < 5; i++) {
      openWhileSigning.push(open());
      const res = await sign(signer.url, key.pubkey, attestation.body);
      assert.equal(res.status, 200, res.message);
      const sig = Signature.fromBytes(Buffer.from(res.signature!.slice(2), "hex"));
      assert.ok(verify(attestation.expectedRoot, PublicKey.fromBytes(key.pubkeyBytes), sig));
    }
    assert.ok(openWhileSigning[0]! > 0, "signing went on while the slow connections were open");

    // The client never ends them: each is closed by the server, with 408 where Node writes one.
    await Promise.all([...slow, ...silent].map((c) => c.closed));
    for (const c of slow) assert.doesNotMatch(c.received(), /HTTP\/1\.1 200/);
    assert.ok(slow.some((c) => /^HTTP\/1\.1 408/.test(c.received())), "the request timeout answered 408");
    assert.equal((await sign(signer.url, key.pubkey, attestation.body)).status, 200, "still serving afterwards");
  });

  it("holds at most --max-connections connections; one more is closed at once, and a freed place serves again", async (t) => {
    const signer = await startTestSigner(t, { flags: { "max-connections": "4" } });
    const held = await Promise.all(Array.from({ length: 4 }, () => rawClient(signer.url)));
    for (const c of held) await upcheckOn(c);
    const extra = await rawClient(signer.url);
    extra.socket.write("GET /upcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await extra.closed;
    assert.equal(extra.received(), "", "the connection over the cap got no answer");
    held[0]!.socket.destroy();
    await held[0]!.closed;
    // The server counts the freed place once it has seen the close: retry until it has.
    for (;;) {
      const again = await rawClient(signer.url);
      try {
        await upcheckOn(again);
        again.socket.destroy();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const c of held) c.socket.destroy();
  });

  it("lets a request run past the idle timeout while it is being answered (a keymanager import that decrypts for seconds)", async (t) => {
    const signer = await startTestSigner(t, { flags: { "idle-connection-timeout-seconds": "1" } });
    // Three of the costliest keystores the default bound takes: about a second each, in one request.
    const keystores = await Promise.all([randomKey(), randomKey(), randomKey()].map(async (k) => JSON.stringify(await costlyKeystore(k, "pw"))));
    const res = await fetch(`${signer.url}/eth/v1/keystores`, {
      method: "POST",
      headers: { authorization: `Bearer ${signer.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ keystores, passwords: ["pw", "pw", "pw"] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { data: Array<{ status: string }> }).data.map((d) => d.status), ["imported", "imported", "imported"]);
  });

  it("exits on SIGTERM with such connections still open: the server closes them after --shutdown-timeout-ms", async (t) => {
    const dir = await tempDir(t, "sigterm");
    const dirs = await writeKeystores(dir, 1);
    // Request timeouts far away: only the shutdown bound can end these connections.
    const signer = await spawnSigner(
      serveArgs(join(dir, "data"), dirs, "--request-timeout-ms", "600000", "--headers-timeout-ms", "600000", "--shutdown-timeout-ms", "1000"),
    );
    t.after(() => {
      if (signer.child.exitCode === null) signer.child.kill("SIGKILL");
    });
    const slow = await Promise.all(Array.from({ length: 20 }, () => rawClient(signer.url)));
    for (const c of slow) {
      await upcheckOn(c); // the server holds the connection before its endless request begins
      startEndlessBody(c, dirs.keys[0]!.pubkey);
    }
    signer.child.kill("SIGTERM");
    assert.equal(await signer.exited, 0, "a clean exit, not the last-resort one");
    await Promise.all(slow.map((c) => c.closed));
  });
});
