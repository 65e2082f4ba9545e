import net from "node:net";

/** A loopback TCP relay to the real server that the test can cut and restore. */
export class Relay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Bytes held back in each direction while paused, delivered on resume. */
  private readonly held: Array<() => void> = [];
  private paused = false;
  port = 0;
  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port || 5432), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /**
   * The server stops answering without closing anything, as a hung or partitioned host does:
   * connections stay open and accept bytes, none reach the other side until resume().
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const deliver of this.held.splice(0)) deliver();
  }

  private forward(from: net.Socket, to: net.Socket): void {
    from.on("data", (chunk: Buffer) => {
      if (this.paused) this.held.push(() => to.destroyed || to.write(chunk));
      else to.write(chunk);
    });
    from.on("end", () => {
      if (this.paused) this.held.push(() => to.end());
      else to.end();
    });
  }

  async stop(): Promise<void> {
    const server = this.server!;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(database: string): string {
    return `postgres://${this.target.username}@127.0.0.1:${this.port}/${database}`;
  }
}
