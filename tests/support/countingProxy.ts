import { createServer, request, type Server } from 'node:http';

/** One request that went through the proxy: method, path and (for queries) the OData filter. */
export interface SeenRequest {
  method: string;
  path: string;
  filter: string | null;
}

/**
 * An HTTP relay in front of one storage endpoint (Azurite's Table service) that records every
 * request the SDK clients really send: the transactions a storage account would count.
 */
export class CountingProxy {
  private server: Server | undefined;
  readonly seen: SeenRequest[] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      this.seen.push({ method: req.method ?? 'GET', path: url.pathname, filter: url.searchParams.get('$filter') });
      const upstream = request({ host: this.targetHost, port: this.targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => res.destroy(err));
      req.pipe(upstream);
    });
    // Many requests at once over keep-alive connections: the default 5 s idle timeout is fine.
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Forget what was counted so far (between the phases of a test). */
  reset(): void {
    this.seen.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve()) ?? resolve();
    });
  }
}
