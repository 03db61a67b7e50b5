import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import functions, { type HttpResponseInit, type Timer } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';
import { Cron } from 'croner';
import type { Logger } from '../shared/logging/logger.js';

/**
 * The part of the Azure Functions host the local runner needs, around the very same handlers:
 * HTTP routes, NCRONTAB timers, and Storage Queue triggers with the host's retry semantics
 * (base64 JSON, dequeue count, maxDequeueCount, then the `-poison` queue).
 */
// A CommonJS package: Node's ESM loader sees `app` as a named export but not these classes.
const { HttpRequest, InvocationContext } = functions;
type HttpRequest = InstanceType<typeof HttpRequest>;
type InvocationContext = InstanceType<typeof InvocationContext>;

type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
type QueueHandler = (message: unknown, context: InvocationContext) => Promise<void>;
type TimerHandler = (timer: Timer, context: InvocationContext) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: HttpHandler;
  name: string;
}

export interface LocalHostOptions {
  logger: Logger;
  /** host.json extensions.queues.maxDequeueCount (default 5). */
  maxDequeueCount?: number;
  /** Pause before a failed message becomes visible again (default 2 s; the host uses visibilityTimeout). */
  retryDelaySeconds?: number;
  pollIntervalMs?: number;
}

let invocations = 0;
const context = (functionName: string, logger: Logger, extra: { dequeueCount?: number } = {}): InvocationContext =>
  new InvocationContext({
    functionName,
    invocationId: `local-${Date.now().toString(36)}-${++invocations}`,
    logHandler: (level, ...args) => logger[level === 'error' ? 'error' : level === 'warning' ? 'warn' : level === 'trace' || level === 'debug' ? 'debug' : 'info']({ function: functionName }, args.map(String).join(' ')),
    ...(extra.dequeueCount === undefined ? {} : { triggerMetadata: { dequeueCount: extra.dequeueCount } }),
  });

export class LocalHost {
  private readonly routes: Route[] = [];
  private readonly stops: (() => Promise<void> | void)[] = [];
  private readonly abort = new AbortController();
  private server: Server | undefined;
  url = '';

  constructor(private readonly options: LocalHostOptions) {}

  /** `route` like Functions routes: `backfill/{id}`, served under /api. */
  http(name: string, method: string, route: string, handler: HttpHandler): void {
    const names: string[] = [];
    const pattern = new RegExp(`^/api/${route.replace(/\{(\w+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    this.routes.push({ method, pattern, names, handler, name });
  }

  timer(name: string, schedule: string, handler: TimerHandler): Cron {
    const job = new Cron(schedule, { protect: true }, async () => {
      try {
        await handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: job.nextRun()?.toISOString() ?? '', lastUpdated: new Date().toISOString() } }, context(name, this.options.logger));
      } catch (err) {
        this.options.logger.error({ err, function: name }, `${name} failed`);
      }
    });
    this.stops.push(() => job.stop());
    return job;
  }

  /** Poll `queue` until stopped; a failing message is retried, then moved to `<queue>-poison`. */
  queue(name: string, queue: QueueClient, poison: QueueClient, handler: QueueHandler): void {
    const max = this.options.maxDequeueCount ?? 5;
    const loop = async (): Promise<void> => {
      // The host creates trigger queues (and poison queues on first use); so do we, up front.
      await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]).catch(() => undefined);
      while (!this.abort.signal.aborted) {
        let handled = 0;
        try {
          const { receivedMessageItems: items } = await queue.receiveMessages({ numberOfMessages: 4, visibilityTimeout: 600 });
          for (const item of items) {
            handled++;
            const payload: unknown = JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8'));
            try {
              await handler(payload, context(name, this.options.logger, { dequeueCount: item.dequeueCount }));
              await queue.deleteMessage(item.messageId, item.popReceipt);
            } catch (err) {
              this.options.logger.warn({ err, function: name, dequeueCount: item.dequeueCount }, `${name} failed (attempt ${item.dequeueCount} of ${max})`);
              if (item.dequeueCount >= max) {
                await poison.sendMessage(item.messageText);
                await queue.deleteMessage(item.messageId, item.popReceipt);
              } else {
                await queue.updateMessage(item.messageId, item.popReceipt, undefined, this.options.retryDelaySeconds ?? 2);
              }
            }
          }
        } catch (err) {
          if (!this.abort.signal.aborted) this.options.logger.error({ err, queue: queue.name }, 'queue poll failed');
        }
        if (handled === 0) await delay(this.options.pollIntervalMs ?? 500, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    };
    const running = loop();
    this.stops.push(() => running);
  }

  async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const route = this.routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no function for ${req.method} ${url.pathname}` } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const match = route.pattern.exec(url.pathname)!;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    try {
      const response = await route.handler(
        new HttpRequest({ method: req.method!, url: url.toString(), headers, params, ...(chunks.length ? { body: { string: Buffer.concat(chunks).toString('utf8') } } : {}) }),
        context(route.name, this.options.logger),
      );
      const body = response.jsonBody !== undefined ? JSON.stringify(response.jsonBody) : typeof response.body === 'string' ? response.body : '';
      res.writeHead(response.status ?? 200, { ...(response.jsonBody !== undefined ? { 'content-type': 'application/json' } : {}), ...(response.headers as Record<string, string>) }).end(body);
    } catch (err) {
      this.options.logger.error({ err, function: route.name }, `${route.name} failed`);
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'internal error; see the log' } }));
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.stops.map((s) => s()));
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }
}
