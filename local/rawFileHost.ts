import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A loopback stand-in for GitHub's raw file host (raw.githubusercontent.com) as the file
 * source sees it: files with a strong ETag (quoted SHA of the content, as GitHub sends) and a
 * Last-Modified, 304 on a matching If-None-Match or an If-Modified-Since not older, redirects,
 * gzip when asked and allowed, and the failures a real host has: a status, a body cut short,
 * no answer at all. Each request is recorded with its conditional headers.
 */
export interface HostedFile {
  body: string | Buffer | (() => string | Buffer);
  contentType?: string;
  /** Overrides the ETag derived from the content (a host whose validators change with the same bytes). */
  etag?: string;
  lastModified?: Date;
  gzip?: boolean;
  /** Answer with this status and a short text body instead. */
  status?: number;
  /** Send the headers and this many bytes of the body, then drop the connection. */
  truncateAt?: number;
  /** 302 to this path (or URL). */
  redirectTo?: string;
  /** Never answer (a timeout). */
  hang?: boolean;
  /** Ignore conditional headers (a host without validators support). */
  noConditional?: boolean;
}

export interface HostRequest {
  path: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  status: number;
}

export class RawFileHost {
  readonly files = new Map<string, HostedFile>();
  readonly requests: HostRequest[] = [];
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  set(path: string, file: HostedFile): void {
    this.files.set(path, file);
  }

  requestsFor(path: string): HostRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = this.files.get(path);
    const record = (status: number): void => {
      this.requests.push({
        path,
        status,
        ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}),
        ...(req.headers['if-modified-since'] ? { ifModifiedSince: String(req.headers['if-modified-since']) } : {}),
      });
    };
    if (!file) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404: Not Found');
      return;
    }
    if (file.hang) {
      record(0);
      this.hanging.add(res);
      return;
    }
    if (file.redirectTo) {
      record(302);
      res.writeHead(302, { location: file.redirectTo }).end();
      return;
    }
    if (file.status) {
      record(file.status);
      res.writeHead(file.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`error ${file.status}`);
      return;
    }
    const raw = typeof file.body === 'function' ? file.body() : file.body;
    const content = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
    const etag = file.etag ?? `"${createHash('sha1').update(content).digest('hex')}"`;
    const lastModified = (file.lastModified ?? new Date('2026-11-01T00:00:00Z')).toUTCString();
    const headers: Record<string, string> = { 'content-type': file.contentType ?? 'text/plain; charset=utf-8', etag, 'last-modified': lastModified };
    if (!file.noConditional) {
      const inm = req.headers['if-none-match'];
      const ims = req.headers['if-modified-since'];
      if ((inm !== undefined && inm === etag) || (inm === undefined && ims !== undefined && Date.parse(ims) >= Date.parse(lastModified))) {
        record(304);
        res.writeHead(304, { etag, 'last-modified': lastModified }).end();
        return;
      }
    }
    let body = content;
    if (file.gzip && /gzip/.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = gzipSync(content);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    record(200);
    res.writeHead(200, headers);
    if (file.truncateAt !== undefined) {
      res.write(body.subarray(0, file.truncateAt), () => res.destroy());
      return;
    }
    res.end(body);
  }
}
