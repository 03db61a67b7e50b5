import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A LOCAL STAND-IN for the Spotify accounts service and the part of the Web API soundlake's
 * preset pulls (`GET /v1/search` for tracks and artists), on loopback. It is not Spotify: it
 * answers the way the Web API reference documents (client-credentials tokens from
 * `POST /api/token` with HTTP Basic client authentication; paging objects with `items`, `next`,
 * `offset`, `limit`, `total`; search `limit` at most 10 for apps in development mode, as since
 * February 2026; 401 for an expired token; 429 with Retry-After) over a small deterministic
 * catalogue, and it can be told to misbehave (expire tokens, throttle, fail, repeat a page).
 */
export interface StandInTrack {
  id: string;
  name: string;
  artists: { id: string; name: string }[];
  album: { id: string; name: string; release_date: string };
  duration_ms: number;
  explicit: boolean;
  /** The recording's ISRC: the industry's join key between Spotify and a label's catalogue. */
  external_ids: { isrc: string };
  /** 0..100; the Web API gives it to apps in extended quota mode (not, since February 2026, in development mode). */
  popularity: number;
}
export interface StandInArtist {
  id: string;
  name: string;
  genres: string[];
}

export interface Fault {
  /** Path prefix it applies to (`/v1/search`, `/api/token`). */
  path: string;
  status: number;
  retryAfter?: string;
}

const id = (prefix: string, i: number): string => `${prefix}${String(i).padStart(22 - prefix.length, '0')}`;

/** A made-up ISRC no demo track has (registrant `STI` where the demo's is `SLK`). */
export const standInIsrc = (i: number): string => `XSSTI26${String(i).padStart(5, '0')}`;

/** `isrcOf(i)`: the ISRC of the i-th track (0-based). */
export function standInCatalogue(trackCount = 23, artistCount = 7, isrcOf: (i: number) => string = (i) => standInIsrc(i + 1)): { tracks: StandInTrack[]; artists: StandInArtist[] } {
  const artists = Array.from({ length: artistCount }, (_, i) => ({ id: id('ar', i + 1), name: `Stand-in Artist ${i + 1}`, genres: [['pop', 'rock', 'jazz'][i % 3]!] }));
  const tracks = Array.from({ length: trackCount }, (_, i) => {
    const a = artists[i % artistCount]!;
    return {
      id: id('tr', i + 1),
      name: `Stand-in Track ${i + 1}`,
      artists: [{ id: a.id, name: a.name }],
      album: { id: id('al', Math.floor(i / 3) + 1), name: `Stand-in Album ${Math.floor(i / 3) + 1}`, release_date: `2026-${String((i % 12) + 1).padStart(2, '0')}-01` },
      duration_ms: 120_000 + i * 7_000,
      explicit: i % 4 === 0,
      external_ids: { isrc: isrcOf(i) },
      popularity: (i * 37 + 11) % 101,
    };
  });
  return { tracks, artists };
}

export class SpotifyStandIn {
  url = '';
  readonly requests: { method: string; path: string; status: number; authorization?: string }[] = [];
  readonly faults: Fault[] = [];
  /** Tokens issued and still valid. */
  private readonly valid = new Set<string>();
  tokensIssued = 0;
  /** The search's `next` points at the page itself from this page on (1-based); 0: never. */
  repeatFromPage = 0;
  /** Pages after this one (1-based) come back empty with a `next` link still set; 0: never. */
  emptyAfterPage = 0;
  private server: Server | undefined;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    readonly catalogue = standInCatalogue(),
    readonly tokenSeconds = 3600,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Every token issued so far stops working (as when one expires). */
  expireTokens(): void {
    this.valid.clear();
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? 'GET', path, status, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const fault = this.faults.findIndex((f) => url.pathname.startsWith(f.path));
    if (fault >= 0) {
      const f = this.faults.splice(fault, 1)[0]!;
      return this.answer(req, res, f.status, { error: { status: f.status, message: f.status === 429 ? 'API rate limit exceeded' : 'Service unavailable' } }, f.retryAfter ? { 'retry-after': f.retryAfter } : {});
    }
    if (req.method === 'POST' && url.pathname === '/api/token') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const [cid, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent) : [];
      if (new URLSearchParams(body).get('grant_type') !== 'client_credentials') return this.answer(req, res, 400, { error: 'unsupported_grant_type' });
      if (cid !== this.clientId || secret !== this.clientSecret) return this.answer(req, res, 400, { error: 'invalid_client', error_description: 'Invalid client' });
      const token = `standin-${randomBytes(8).toString('hex')}`;
      this.valid.add(token);
      this.tokensIssued++;
      return this.answer(req, res, 200, { access_token: token, token_type: 'Bearer', expires_in: this.tokenSeconds });
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) return this.answer(req, res, 401, { error: { status: 401, message: 'No token provided' } });
    if (!this.valid.has(bearer)) return this.answer(req, res, 401, { error: { status: 401, message: 'The access token expired' } });
    if (req.method === 'GET' && url.pathname === '/v1/search') return this.search(req, res, url);
    return this.answer(req, res, 404, { error: { status: 404, message: 'Service not found' } });
  }

  private search(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const type = url.searchParams.get('type');
    const q = url.searchParams.get('q');
    const limit = Number(url.searchParams.get('limit') ?? 5);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    if (!q) return this.answer(req, res, 400, { error: { status: 400, message: 'No search query' } });
    if (!Number.isInteger(limit) || limit < 0 || limit > 10) return this.answer(req, res, 400, { error: { status: 400, message: 'Invalid limit' } });
    const all: unknown[] = type === 'track' ? this.catalogue.tracks : type === 'artist' ? this.catalogue.artists : [];
    if (type !== 'track' && type !== 'artist') return this.answer(req, res, 400, { error: { status: 400, message: 'Bad search type field' } });
    const page = Math.floor(offset / Math.max(limit, 1)) + 1;
    const at = (o: number): string => {
      const u = new URL(url);
      u.searchParams.set('offset', String(o));
      return u.toString();
    };
    const empty = this.emptyAfterPage > 0 && page > this.emptyAfterPage;
    const items = empty ? [] : all.slice(offset, offset + limit);
    const repeat = this.repeatFromPage > 0 && page >= this.repeatFromPage;
    const next = repeat ? url.toString() : empty ? at(offset + limit) : offset + limit < all.length ? at(offset + limit) : null;
    const key = `${type}s`;
    this.answer(req, res, 200, { [key]: { href: url.toString(), items, limit, next, offset, previous: offset > 0 ? at(Math.max(0, offset - limit)) : null, total: all.length } });
  }
}
