import { createServer, createConnection, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the database, so a test can make the source "go away" mid-stream by
 * cutting every connection, then let it come back; it also counts the sessions the database
 * sees: open now, and the most ever open at once.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  port = 0;
  /** Client connections open through the relay now. */
  open = 0;
  /** The most client connections ever open at once. */
  peak = 0;
  /** Client connections accepted in all. */
  accepted = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.destroy();
        return;
      }
      this.accepted++;
      this.open++;
      this.peak = Math.max(this.peak, this.open);
      client.once('close', () => this.open--);
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Drop every open connection and refuse new ones. */
  cut(): void {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.refusing = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
