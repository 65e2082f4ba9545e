import net from "node:net";

/**
 * A listener on 127.0.0.1 in front of the real PostgreSQL at `target`, which a subclass says what
 * to do with each connection. `stop` cuts every connection and refuses new ones, as an outage
 * would; `start` brings it back on the same port.
 */
export abstract class LoopbackFront {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(protected readonly target: URL) {}

  protected abstract accept(client: net.Socket): void;

  async start(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
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

  protected connectTarget(): net.Socket {
    return net.connect(Number(this.target.port || 5432), this.target.hostname);
  }

  /** Keeps `s` for `stop` to cut; a socket error runs `onError` (by default, destroys `s`). */
  protected track(s: net.Socket, onError: () => void = () => s.destroy()): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", onError);
  }
}

/** A loopback TCP relay to the real server that the test can cut and restore. */
export class Relay extends LoopbackFront {
  /** Bytes held back in each direction while paused, delivered on resume. */
  private readonly held: Array<() => void> = [];
  private paused = false;

  protected accept(client: net.Socket): void {
    const upstream = this.connectTarget();
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    this.track(client, cut);
    this.track(upstream, cut);
    this.forward(client, upstream);
    this.forward(upstream, client);
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
}
