import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../shared/logging/logger.js';
import type { Notice } from '../../shared/notify/notifier.js';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';
export type Responder = (req: RecordedRequest, server: HttpStandIn) => Reply;

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers through a responder
 * the test can swap. 'hang' keeps the request open until the server closes.
 */
export class HttpStandIn {
  readonly requests: RecordedRequest[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  port = 0;

  constructor(public respond: Responder) {}

  static async start(respond: Responder): Promise<HttpStandIn> {
    const standIn = new HttpStandIn(respond);
    await standIn.listen();
    return standIn;
  }

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(recorded);
        const reply = this.respond(recorded, this);
        if (reply === 'hang') {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        }
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Requests whose path starts with `prefix`. */
  to(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  reset(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export const ACS_API_VERSION = '2025-09-01';

export type AcsSendMode = 'accept' | 'fail-500' | 'hang' | 'reject-400';

/**
 * Azure Communication Services Email as far as EmailClient.beginSend goes: POST
 * /emails:send answers 202 with an Operation-Location, GET of that location answers Running
 * `runningPolls` times, then the final status.
 */
export class AcsStandIn {
  readonly accessKey = randomBytes(32).toString('base64');
  sendMode: AcsSendMode = 'accept';
  runningPolls = 1;
  finalStatus: 'Succeeded' | 'Failed' = 'Succeeded';
  private readonly polls = new Map<string, number>();

  private constructor(readonly http: HttpStandIn) {}

  static async start(): Promise<AcsStandIn> {
    let acs: AcsStandIn | undefined;
    const http = await HttpStandIn.start((req, server) => acs!.answer(req, server));
    acs = new AcsStandIn(http);
    return acs;
  }

  get connectionString(): string {
    return `endpoint=${this.http.origin}/;accesskey=${this.accessKey}`;
  }

  get sends(): RecordedRequest[] {
    return this.http.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/emails:send'));
  }

  get statusPolls(): RecordedRequest[] {
    return this.http.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/emails/operations/'));
  }

  private answer(req: RecordedRequest, server: HttpStandIn): Reply {
    const json = { 'content-type': 'application/json' };
    if (req.method === 'POST' && req.path === `/emails:send?api-version=${ACS_API_VERSION}`) {
      if (this.sendMode === 'hang') return 'hang';
      if (this.sendMode === 'fail-500') return { status: 500, headers: json, body: JSON.stringify({ error: { code: 'InternalError', message: 'stand-in failure' } }) };
      if (this.sendMode === 'reject-400') return { status: 400, headers: json, body: JSON.stringify({ error: { code: 'BadRequest', message: 'sender not verified' } }) };
      const id = String(req.headers['operation-id'] ?? randomBytes(8).toString('hex'));
      this.polls.set(id, 0);
      return {
        status: 202,
        headers: { ...json, 'operation-location': server.url(`/emails/operations/${id}?api-version=${ACS_API_VERSION}`) },
        body: JSON.stringify({ id, status: 'Running' }),
      };
    }
    const m = /^\/emails\/operations\/([^?]+)/.exec(req.path);
    if (req.method === 'GET' && m) {
      const id = decodeURIComponent(m[1]!);
      const seen = this.polls.get(id);
      if (seen === undefined) return { status: 404, headers: json, body: JSON.stringify({ error: { code: 'NotFound', message: 'no such operation' } }) };
      this.polls.set(id, seen + 1);
      const status = seen < this.runningPolls ? 'Running' : this.finalStatus;
      const body: Record<string, unknown> = { id, status };
      if (status === 'Failed') body.error = { code: 'EmailDroppedAllRecipientsSuppressed', message: 'all recipients suppressed' };
      return { status: 200, headers: json, body: JSON.stringify(body) };
    }
    return { status: 404, body: '' };
  }

  /** Whether the request carries a valid ACS HMAC-SHA256 signature for this stand-in's key. */
  signatureValid(req: RecordedRequest): boolean {
    const date = String(req.headers['x-ms-date'] ?? '');
    const contentHash = createHash('sha256').update(req.body).digest('base64');
    if (req.headers['x-ms-content-sha256'] !== contentHash) return false;
    const url = new URL(req.path, this.http.origin);
    const pathAndQuery = url.search ? `${url.pathname}${url.search}` : url.pathname;
    const toSign = `${req.method}\n${pathAndQuery}\n${date};${req.headers.host};${contentHash}`;
    const signature = createHmac('sha256', Buffer.from(this.accessKey, 'base64')).update(toSign).digest('base64');
    return req.headers.authorization === `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** A logger whose lines the test can read. */
export function captureLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace', base: undefined }, sink);
  return { logger, lines, text: () => lines.join('') };
}

export function failureNotice(overrides: Partial<Notice> = {}): Notice {
  return {
    kind: 'ingestion-failed',
    severity: 'error',
    runId: 'run-20260301T0000-ab12',
    subject: 'orders',
    title: 'ingestion of orders failed',
    detail: 'connect ECONNREFUSED 10.0.0.4:1433',
    lookAt: 'run ledger: subject orders, run run-20260301T0000-ab12; logs filtered on runId=run-20260301T0000-ab12',
    key: 'ingest:orders',
    ...overrides,
  };
}
