import net from "node:net";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { LoopbackFront } from "./relay.js";
import { ADMIN_URL, createTestDatabase } from "./slashingPostgres.js";
import { makePki } from "./tls.js";

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * The real PostgreSQL on 127.0.0.1 behind TLS, as a remote continuity store would be: it answers a
 * client's SSLRequest with 'S', terminates TLS with `cert`/`key` (a throwaway CA's, see tls.ts) and
 * relays the plain protocol to the server.
 */
export class PostgresTlsFront extends LoopbackFront {
  private readonly context: tls.SecureContext;

  constructor(target: URL, cert: string, key: string) {
    super(target);
    this.context = tls.createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) });
  }

  protected accept(client: net.Socket): void {
    this.track(client);
    client.once("data", (first) => {
      if (!first.subarray(0, 8).equals(SSL_REQUEST)) {
        client.destroy(); // a client that does not ask for TLS gets nothing
        return;
      }
      client.write("S");
      const secure = new tls.TLSSocket(client, { isServer: true, secureContext: this.context });
      const upstream = this.connectTarget();
      this.track(secure);
      this.track(upstream);
      secure.on("error", () => upstream.destroy());
      upstream.on("error", () => secure.destroy());
      secure.pipe(upstream).pipe(secure);
    });
  }
}

/**
 * A continuity store for one test: a new database of the real PostgreSQL behind a started
 * PostgresTlsFront whose throwaway PKI (`pki.caCert` is the CA to give the signer) is made in
 * `dir`. Both are gone after the test.
 */
export async function tlsTestDatabase(t: { after(fn: () => Promise<void>): void }, dir: string) {
  const pki = makePki(dir);
  const front = new PostgresTlsFront(new URL(ADMIN_URL), pki.serverCert, pki.serverKey);
  await front.start();
  const db = await createTestDatabase();
  t.after(async () => {
    await front.stop().catch(() => undefined);
    await db.drop();
  });
  return { pki, front, url: front.url(new URL(db.url).pathname.slice(1)) };
}
