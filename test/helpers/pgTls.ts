import net from "node:net";
import { readFileSync } from "node:fs";
import tls from "node:tls";

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * The real PostgreSQL on 127.0.0.1 behind TLS, as a remote continuity store would be: it answers a
 * client's SSLRequest with 'S', terminates TLS with `cert`/`key` (a throwaway CA's, see tls.ts) and
 * relays the plain protocol to the server. `stop` cuts every connection and refuses new ones, as an
 * outage would; `start` brings it back on the same port.
 */
export class PostgresTlsFront {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly target: URL,
    private readonly cert: string,
    private readonly key: string,
  ) {}

  async start(): Promise<void> {
    const context = tls.createSecureContext({ cert: readFileSync(this.cert), key: readFileSync(this.key) });
    const server = net.createServer((client) => {
      this.track(client);
      client.once("data", (first) => {
        if (!first.subarray(0, 8).equals(SSL_REQUEST)) {
          client.destroy(); // a client that does not ask for TLS gets nothing
          return;
        }
        client.write("S");
        const secure = new tls.TLSSocket(client, { isServer: true, secureContext: context });
        const upstream = net.connect(Number(this.target.port || 5432), this.target.hostname);
        this.track(secure);
        this.track(upstream);
        secure.on("error", () => upstream.destroy());
        upstream.on("error", () => secure.destroy());
        secure.pipe(upstream).pipe(secure);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server!;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The URL a signer is given: the front's port, the target's user and the given database. */
  url(database: string): string {
    return `postgres://${this.target.username}@127.0.0.1:${this.port}/${database}`;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => s.destroy());
  }
}
