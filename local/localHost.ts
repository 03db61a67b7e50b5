import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import functions, { type HttpResponseInit, type Timer } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';
import { Cron } from 'croner';
import type { FunctionRegistration } from '../shared/azure/functionRegistry.js';
import { methodNotAllowed } from '../shared/http/methods.js';
import { RequestError } from '../shared/http/requestError.js';
import { json, problem } from '../shared/http/responses.js';
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
type EventHandler = (event: unknown, context: InvocationContext) => Promise<void>;

interface Route {
  methods: readonly string[];
  authLevel: string;
  pattern: RegExp;
  names: string[];
  handler: HttpHandler;
  name: string;
}

/** The part of a function's `app.http` registration the local host serves. */
export interface HttpRegistration {
  route?: string;
  /** Default, as for the host: GET and POST. */
  methods?: readonly string[];
  /** Default, as for the host: function (a key is needed when the local host has one). */
  authLevel?: 'anonymous' | 'function' | 'admin';
  handler: HttpHandler;
}

/** What the host stand-in needs to bind a registration to this machine. */
export interface LocalBindings {
  /** An app setting's value, for `%NAME%` in a binding expression; undefined when it is not set. */
  setting(name: string): string | undefined;
  /** The queue named `name` in the storage account of a binding's `connection`. */
  queue(connection: string, name: string): QueueClient;
  /** Run timer triggers (false: runs are started by hand). */
  timers: boolean;
}

/** A served function and what it is bound to: its route, its queue (resolved), its schedule. */
export interface ServedFunction {
  name: string;
  trigger: FunctionRegistration['trigger'];
  target: string;
}

/**
 * `%NAME%` in a binding expression replaced by the app setting NAME, as the host resolves it.
 * An unset setting is an error naming the function and the setting (the host refuses to start).
 */
export function resolveBinding(functionName: string, expression: string, setting: (name: string) => string | undefined): string {
  return expression.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = setting(name);
    if (value === undefined || value === '') throw new Error(`function ${functionName}: binding expression ${expression} names app setting ${name}, which is not set`);
    return value;
  });
}

/** Bodies beyond this are refused with 413 (the backfill API takes a few hundred bytes). */
const MAX_BODY_BYTES = 1 << 20;

/** Write a handler's answer (or ours); a response already under way can only be cut off. */
function send(res: ServerResponse, response: HttpResponseInit): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = response.jsonBody !== undefined ? JSON.stringify(response.jsonBody) : typeof response.body === 'string' ? response.body : '';
  res.writeHead(response.status ?? 200, { ...(response.jsonBody !== undefined ? { 'content-type': 'application/json' } : {}), ...(response.headers as Record<string, string>) }).end(text);
}

export interface LocalHostOptions {
  logger: Logger;
  /** host.json extensions.queues.maxDequeueCount (Settings.maxDequeueCount). */
  maxDequeueCount: number;
  /** Pause before a failed message becomes visible again (default 2 s; the host uses visibilityTimeout). */
  retryDelaySeconds?: number;
  /** Pause between polls of an empty queue (default 500 ms). */
  pollIntervalMs?: number;
  /**
   * When set, routes that are not anonymous need this key, in `x-functions-key` or `?code=`, as
   * in Azure (401 without it). Unset, like `func start`, no key is asked for: the host listens
   * on 127.0.0.1 only.
   */
  functionKey?: string;
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
  private readonly eventHandlers: { name: string; handler: EventHandler }[] = [];
  private readonly polled: QueueClient[] = [];
  private running = 0;
  private server: Server | undefined;
  readonly served: ServedFunction[] = [];
  url = '';

  constructor(private readonly options: LocalHostOptions) {}

  /**
   * Serve the app's own registrations (shared/azure/functionRegistry.ts), each bound as the
   * host binds it: HTTP routes under /api, queue triggers on the queue their `%SETTING%`
   * expression names (poison queue `<queue>-poison`), timers on their resolved schedule,
   * Event Grid functions through publish().
   */
  serveFunctions(registrations: FunctionRegistration[], bindings: LocalBindings): void {
    for (const r of registrations) {
      switch (r.trigger) {
        case 'http':
          this.http(r.name, r.options as HttpRegistration);
          this.served.push({ name: r.name, trigger: r.trigger, target: `/api/${r.options.route ?? r.name}` });
          break;
        case 'storageQueue': {
          const name = resolveBinding(r.name, r.options.queueName, bindings.setting);
          const connection = r.options.connection ?? 'AzureWebJobsStorage';
          this.queue(r.name, bindings.queue(connection, name), bindings.queue(connection, `${name}-poison`), r.options.handler as QueueHandler);
          this.served.push({ name: r.name, trigger: r.trigger, target: name });
          break;
        }
        case 'timer': {
          if (!bindings.timers) {
            this.served.push({ name: r.name, trigger: r.trigger, target: 'by hand' });
            break;
          }
          const schedule = resolveBinding(r.name, r.options.schedule, bindings.setting);
          this.timer(r.name, schedule, r.options.handler as TimerHandler);
          this.served.push({ name: r.name, trigger: r.trigger, target: schedule });
          break;
        }
        case 'eventGrid':
          this.eventHandlers.push({ name: r.name, handler: r.options.handler as EventHandler });
          this.served.push({ name: r.name, trigger: r.trigger, target: 'publish()' });
          break;
      }
    }
  }

  /** Deliver one event, as an Event Grid subscription does, to every Event Grid function. A handler's failure is the caller's (Event Grid would deliver again). */
  async publish(event: unknown): Promise<void> {
    if (this.eventHandlers.length === 0) throw new Error('no Event Grid function is served');
    for (const { name, handler } of this.eventHandlers) await this.invoke(() => handler(event, context(name, this.options.logger)));
  }

  /**
   * Nothing is running and no queue it polls holds a message, visible or delayed: nothing more
   * happens until something new arrives. What a test waits for instead of "long enough".
   */
  async drained(): Promise<boolean> {
    if (this.running > 0) return false;
    const counts = await Promise.all(this.polled.map(async (q) => (await q.getProperties()).approximateMessagesCount ?? 0));
    return counts.every((n) => n === 0) && this.running === 0;
  }

  private async invoke<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  }

  /** A function's own `app.http` options: `route` like Functions routes (`backfill/{id}`, default the name), served under /api. */
  http(name: string, registration: HttpRegistration): void {
    const names: string[] = [];
    const route = registration.route ?? name;
    const pattern = new RegExp(`^/api/${route.replace(/\{(\w+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const methods = (registration.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
    this.routes.push({ methods, authLevel: registration.authLevel ?? 'function', pattern, names, handler: registration.handler, name });
  }

  timer(name: string, schedule: string, handler: TimerHandler): Cron {
    const job = new Cron(schedule, { protect: true }, async () => {
      try {
        await this.invoke(() => handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: job.nextRun()?.toISOString() ?? '', lastUpdated: new Date().toISOString() } }, context(name, this.options.logger)));
      } catch (err) {
        this.options.logger.error({ err, function: name }, `${name} failed`);
      }
    });
    this.stops.push(() => job.stop());
    return job;
  }

  /** Poll `queue` until stopped; a failing message is retried, then moved to `<queue>-poison`. */
  queue(name: string, queue: QueueClient, poison: QueueClient, handler: QueueHandler): void {
    const max = this.options.maxDequeueCount;
    this.polled.push(queue);
    const loop = async (): Promise<void> => {
      // The host creates trigger queues (and poison queues on first use); so do we, up front.
      await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]).catch(() => undefined);
      while (!this.abort.signal.aborted) {
        let handled = 0;
        try {
          const { receivedMessageItems: items } = await queue.receiveMessages({ numberOfMessages: 4, visibilityTimeout: 600 });
          for (const item of items) {
            handled++;
            // Like the host: JSON is handed over decoded, anything else as text (the handler's schema names the problem).
            const text = Buffer.from(item.messageText, 'base64').toString('utf8');
            let payload: unknown = text;
            try {
              payload = JSON.parse(text);
            } catch {
              // not JSON: text it is
            }
            try {
              await this.invoke(async () => {
                await handler(payload, context(name, this.options.logger, { dequeueCount: item.dequeueCount }));
                await queue.deleteMessage(item.messageId, item.popReceipt);
              });
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
    // Requests the HTTP parser refuses get Node's own 400 (no 'clientError' listener); the rest go
    // through serve(), and should even writing the answer fail, the connection is dropped, not the process.
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        this.options.logger.error({ err }, 'answering an HTTP request failed');
        res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  /**
   * One request, like the host: route, method, parameters, body, handler. A request that cannot
   * be served gets a 4xx naming the problem (unknown path 404, wrong method 405 with Allow, a
   * parameter that is not valid percent-encoding 400, a body over 1 MiB 413), a failing handler
   * 500; nothing a client sends escapes this method, so nothing can stop the process.
   */
  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let name = 'http';
    try {
      const method = (req.method ?? 'GET').toUpperCase();
      let url: URL;
      try {
        url = new URL(req.url ?? '/', this.url);
      } catch {
        throw new RequestError('url', `is not a valid request target: ${JSON.stringify(req.url).slice(0, 200)}`);
      }
      const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
      if (matching.length === 0) throw new RequestError('url', `no function for ${method} ${url.pathname}`, 404);
      const route = matching.find((r) => r.methods.includes(method));
      if (!route) {
        send(res, methodNotAllowed(method, [...new Set(matching.flatMap((r) => r.methods))]));
        return;
      }
      name = route.name;
      if (route.authLevel !== 'anonymous' && !this.keyMatches(req.headers['x-functions-key'], url.searchParams.get('code'))) {
        // Azure answers a missing or wrong key with an empty 401.
        res.writeHead(401, { 'content-length': '0' }).end();
        return;
      }
      const match = route.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => {
        try {
          params[n] = decodeURIComponent(match[i + 1]!);
        } catch {
          throw new RequestError(n, `is not valid percent-encoded UTF-8: ${JSON.stringify(match[i + 1]).slice(0, 200)}`);
        }
      });
      const body = await readBody(req).catch((err: unknown) => {
        // The rest of the body stays unread on the connection: close it after the answer, or the
        // client's next request on it (fetch keeps connections alive) would never be read.
        res.setHeader('connection', 'close');
        throw err;
      });
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      const response = await route.handler(
        new HttpRequest({ method, url: url.toString(), headers, params, ...(body.length ? { body: { string: body.toString('utf8') } } : {}) }),
        context(route.name, this.options.logger),
      );
      send(res, response);
    } catch (err) {
      if (err instanceof RequestError) {
        send(res, problem(err));
        return;
      }
      this.options.logger.error({ err, function: name }, `${name} failed`);
      send(res, json(500, { error: { message: 'internal error; see the log' } }));
    }
  }

  private keyMatches(header: string | string[] | undefined, code: string | null): boolean {
    const key = this.options.functionKey;
    if (!key) return true;
    const given = Buffer.from((Array.isArray(header) ? header[0] : header) ?? code ?? '', 'utf8');
    const want = Buffer.from(key, 'utf8');
    return given.length === want.length && timingSafeEqual(given, want);
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

/** The request body, at most MAX_BODY_BYTES (a client that sends more gets 413). */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RequestError('body', `is larger than ${MAX_BODY_BYTES} bytes`, 413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
