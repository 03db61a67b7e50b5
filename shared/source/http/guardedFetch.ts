import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Agent } from 'undici';
import type { HttpSettings } from './httpSettings.js';

type Undici = { agent: Agent; request: typeof import('undici').request };

/** A request the fetcher refused or a response it could not use; says which URL and why. */
export class HttpFetchError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(`${url}: ${message}`, options);
    this.name = 'HttpFetchError';
    this.headers = options?.headers ?? {};
  }

  /** The response's headers when there was one (Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;
}

/** Addresses a server-side fetch must not reach unless allowed: loopback, private, link-local, unspecified, CGNAT. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  return family === 4 ? PRIVATE.check(address, 'ipv4') : family === 6 ? PRIVATE.check(address, 'ipv6') : false;
}

function hostAllowed(host: string, allowed: string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) : a.replace(/^\[|\]$/g, '') === h));
}

export interface FetchedBody {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  headers: Record<string, string>;
  /** The body, decompressed, capped and checked for truncation: it errors rather than end short. */
  body: Readable;
}

/**
 * GET over HTTP(S) for URLs a catalog names, with the guards server-side fetching needs: the
 * host allow-list on every hop, no private addresses (checked on the address actually
 * connected, so DNS cannot point an allowed name at 127.0.0.1), redirects followed within a
 * limit, timeouts, a size cap after decompression, and a body that fails when it ends short of
 * its Content-Length. Anything but 2xx and 304 is an error naming the URL and the status.
 */
export class GuardedFetch {
  /**
   * undici (about 1 MB of bundled code) loads with the first request: a run that fetches nothing,
   * such as a database extraction from the CLI, never compiles it.
   */
  private agent: Promise<Undici> | undefined;
  private readonly lookup: LookupFunction;

  constructor(private readonly settings: HttpSettings) {
    const allowPrivate = settings.allowPrivateAddresses;
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const usable = (addresses as LookupAddress[]).filter((a) => allowPrivate || !isPrivateAddress(a.address));
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} resolves only to private or loopback addresses (HTTP_ALLOW_PRIVATE_ADDRESSES is false)`), { code: 'EPRIVATE' }), '', 0);
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      });
    };
    this.lookup = lookup;
  }

  private undici(): Promise<Undici> {
    const { timeoutMs } = this.settings;
    return (this.agent ??= import('undici').then(({ Agent, request }) => ({ agent: new Agent({ connect: { lookup: this.lookup, timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }), request })));
  }

  /** GET `url`; 304 comes back with an empty body. */
  get(url: string, headers: Record<string, string> = {}): Promise<FetchedBody> {
    return this.request('GET', url, headers);
  }

  /** POST a form (token endpoints); redirects are not followed for it. */
  post(url: string, headers: Record<string, string>, body: string): Promise<FetchedBody> {
    return this.request('POST', url, headers, body);
  }

  private async request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string): Promise<FetchedBody> {
    const { agent, request } = await this.undici();
    let current = url;
    for (let hop = 0; ; hop++) {
      const target = this.check(current, url);
      let res;
      try {
        res = await request(target, { method, dispatcher: agent, headers: { 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'soundlake', ...headers }, ...(payload === undefined ? {} : { body: payload }) });
      } catch (err) {
        throw new HttpFetchError(current, `request failed: ${(err as Error).message}`, undefined, { cause: err });
      }
      const h = flatten(res.headers);
      if ([301, 302, 303, 307, 308].includes(res.statusCode)) {
        res.body.resume();
        if (!h.location) throw new HttpFetchError(current, `redirect ${res.statusCode} without a Location`, res.statusCode);
        if (method !== 'GET') throw new HttpFetchError(current, `redirect ${res.statusCode} of a ${method} is not followed`, res.statusCode);
        if (hop >= this.settings.maxRedirects) throw new HttpFetchError(url, `more than ${this.settings.maxRedirects} redirects (HTTP_MAX_REDIRECTS)`, res.statusCode);
        current = new URL(h.location, current).toString();
        continue;
      }
      if (res.statusCode === 304) {
        res.body.resume();
        return { status: 304, url: current, headers: h, body: res.body };
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        const text = await res.body.text().catch(() => '');
        throw new HttpFetchError(current, `HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`, res.statusCode, { headers: h });
      }
      return { status: res.statusCode, url: current, headers: h, body: this.decoded(current, res.body, h) };
    }
  }

  async close(): Promise<void> {
    if (this.agent) await (await this.agent).agent.close();
  }

  private check(current: string, original: string): URL {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      throw new HttpFetchError(current, 'not a URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new HttpFetchError(current, `scheme ${u.protocol} is not fetched (http and https only)`);
    const via = current === original ? '' : ` (redirected from ${original})`;
    if (!hostAllowed(u.hostname, this.settings.allowedHosts)) throw new HttpFetchError(current, `host ${u.hostname} is not in HTTP_ALLOWED_HOSTS${via}`);
    const literal = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !this.settings.allowPrivateAddresses && isPrivateAddress(literal)) {
      throw new HttpFetchError(current, `address ${literal} is loopback, private or link-local (HTTP_ALLOW_PRIVATE_ADDRESSES is false)${via}`);
    }
    return u;
  }

  private decoded(url: string, raw: Readable, headers: Record<string, string>): Readable {
    const expected = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
    let wire = 0;
    const counted = raw.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          wire += chunk.length;
          done(null, chunk);
        },
        flush(done) {
          done(expected !== undefined && wire < expected ? new HttpFetchError(url, `body truncated: ${wire} of ${expected} bytes`) : null);
        },
      }),
    );
    raw.on('error', (err) => counted.destroy(new HttpFetchError(url, `body failed after ${wire} bytes: ${err.message}`, undefined, { cause: err })));
    const encoding = (headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
    if (!decoder && encoding !== 'identity') {
      raw.destroy();
      throw new HttpFetchError(url, `content-encoding ${encoding} is not supported`);
    }
    const max = this.settings.maxBytes;
    let size = 0;
    const capped = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) done(new HttpFetchError(url, `body larger than ${max} bytes (HTTP_MAX_BYTES)`));
        else done(null, chunk);
      },
    });
    const source = decoder ? counted.pipe(decoder) : counted;
    counted.on('error', (err) => capped.destroy(err));
    decoder?.on('error', (err) => capped.destroy(err instanceof HttpFetchError ? err : new HttpFetchError(url, `body could not be decompressed (${encoding}): ${err.message}`, undefined, { cause: err })));
    capped.on('close', () => {
      if (!raw.destroyed) raw.destroy();
    });
    return source.pipe(capped);
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
