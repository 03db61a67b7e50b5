import { createHash } from 'node:crypto';
import type { RestTableSpec } from '../../config/pipelineConfig.js';
import { SNAPSHOT_COLUMNS } from '../../config/sourceRules.js';
import { FIELD_PARQUET, FieldValueError, toFieldValue } from '../http/fieldValues.js';
import type { ReadRequest, RowBatch, SnapshotPlanner, SnapshotProbe, Source, SourceColumn, TableRef } from '../source.js';
import { SourceError } from '../source.js';
import { RestClient, type RestClientOptions } from './restClient.js';

/**
 * A field `path` that is not in the record: the record's 1-based position in the pull, across
 * pages (a search's or a chart's rank, which the records themselves do not carry).
 */
export const POSITION_PATH = '$position';

/** The value at a dotted path (`tracks.items`); the document itself for ''. */
export function at(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/**
 * A declarative REST endpoint as a daily snapshot source: a table is an endpoint with its
 * parameters, where its records are, how it pages, and the fields to take from each record
 * (by path). A pull is due once per UTC day; it lands every record of every page, stamped with
 * the pull (`_loaded_at`). A pull that fails lands nothing; a pending pull restarts from its
 * first page (an API's pages are not the same twice, so it never resumes in the middle).
 */
export class RestSource implements Source {
  readonly kind = 'rest' as const;
  readonly snapshot: SnapshotPlanner;
  private readonly client: RestClient;

  constructor(
    private readonly options: RestClientOptions & { baseUrl: string },
  ) {
    this.client = new RestClient(options);
    this.snapshot = { resumable: false, probe: async (table, against) => this.probe(table, against) };
  }

  /** Tokens fetched so far (a count). */
  get tokensIssued(): number {
    return this.client.tokensIssued;
  }

  async describe(table: TableRef): Promise<SourceColumn[]> {
    const spec = specOf(table);
    return [
      ...spec.fields.map((f) => {
        const parquet = FIELD_PARQUET[f.type];
        if (!parquet) throw new SourceError(`rest source: field ${f.name} has unknown type ${f.type}`);
        return { name: f.name, sourceType: f.type, nullable: true, parquet };
      }),
      { name: SNAPSHOT_COLUMNS[0], sourceType: 'string', nullable: false, parquet: { kind: 'string' } },
      { name: SNAPSHOT_COLUMNS[1], sourceType: 'timestamp', nullable: false, parquet: { kind: 'timestamp' } },
    ];
  }

  async safeUpperBound(): Promise<string | null> {
    throw new SourceError('rest source: pulls are planned by the day, not by a watermark');
  }

  async hasRows(): Promise<boolean> {
    throw new SourceError('rest source: pulls are planned by the day, not by a watermark');
  }

  private probe(table: TableRef, against: string | null): SnapshotProbe {
    const now = new Date((this.options.now ?? Date.now)());
    const day = now.toISOString().slice(0, 10);
    let last: string | undefined;
    try {
      last = against ? (JSON.parse(against) as { pullDate?: string }).pullDate : undefined;
    } catch {
      last = undefined;
    }
    if (last === day) return { changed: false, version: against, message: `${table.table} was pulled today (${day}); the next pull is due tomorrow (UTC)` };
    return { changed: true, version: JSON.stringify({ pullDate: day, at: now.toISOString() }) };
  }

  /** The first page's URL: the endpoint under the base URL with the configured parameters. */
  firstPage(spec: RestTableSpec): URL {
    const url = new URL(spec.endpoint.replace(/^\//, ''), this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`);
    for (const [k, v] of Object.entries(spec.params)) url.searchParams.set(k, String(v));
    if (spec.paginate.type === 'offset') {
      url.searchParams.set(spec.paginate.limitParam ?? 'limit', String(spec.paginate.limit));
      url.searchParams.set(spec.paginate.param ?? 'offset', '0');
    }
    return url;
  }

  async *read(request: ReadRequest): AsyncIterable<RowBatch> {
    const spec = specOf(request.table);
    const version = JSON.parse(request.bounds.high) as { at: string };
    const loadedAt = BigInt(Date.parse(version.at)) * 1000n;
    const width = request.columns.length;
    const fields = spec.fields;
    const key = (row: unknown[]): string[] => [String(row[width])];
    const p = spec.paginate;
    let url: URL | null = this.firstPage(spec);
    const seenUrls = new Set<string>();
    const seenPages = new Map<string, number>();
    let n = 0;
    for (let page = 1; url !== null; page++) {
      if (page > p.maxPages) throw new SourceError(`rest source: ${spec.endpoint} has more than ${p.maxPages} pages (paginate.maxPages); nothing of this pull is committed`);
      const where = url.toString();
      if (seenUrls.has(where)) throw new SourceError(`rest source: ${spec.endpoint}: page ${page} is ${where} again (the API repeats a page); nothing of this pull is committed`);
      seenUrls.add(where);
      const { body, text } = await this.client.getJson(where);
      const records = at(body, spec.records);
      if (!Array.isArray(records)) throw new SourceError(`rest source: ${where}: no list of records at ${spec.records === '' ? 'the top level' : `"${spec.records}"`}`);
      if (records.length === 0) break;
      // The same records under another URL (an offset the API ignores): a loop, not new data.
      const digest = createHash('sha256').update(JSON.stringify(records)).digest('hex');
      const earlier = seenPages.get(digest);
      if (earlier !== undefined) throw new SourceError(`rest source: ${spec.endpoint}: page ${page} repeats page ${earlier} (same records); nothing of this pull is committed`);
      seenPages.set(digest, page);
      const rows: unknown[][] = [];
      records.forEach((record, k) => {
        n++;
        const row: unknown[] = new Array(width + 1).fill(null);
        fields.forEach((f, i) => {
          try {
            row[i] = toFieldValue(f.path === POSITION_PATH ? n : at(record, f.path ?? f.name), f.type);
          } catch (err) {
            if (err instanceof FieldValueError) throw new SourceError(`rest source: ${where}: record ${k + 1}, field ${f.name} (${f.path ?? f.name}): ${err.message}`);
            throw err;
          }
        });
        row[width - 2] = where;
        row[width - 1] = loadedAt;
        row[width] = n;
        rows.push(row);
      });
      yield { rows, key };
      url = nextPage(url, body, text, spec, records.length);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function nextPage(current: URL, body: unknown, _text: string, spec: RestTableSpec, got: number): URL | null {
  const p = spec.paginate;
  switch (p.type) {
    case 'none':
      return null;
    case 'next_url': {
      const next = at(body, p.next!);
      return typeof next === 'string' && next !== '' ? new URL(next, current) : null;
    }
    case 'cursor': {
      const cursor = at(body, p.next!);
      if (cursor === null || cursor === undefined || cursor === '') return null;
      const u = new URL(current);
      u.searchParams.set(p.param ?? 'after', String(cursor));
      return u;
    }
    case 'offset': {
      if (got < p.limit!) return null;
      const u = new URL(current);
      const param = p.param ?? 'offset';
      u.searchParams.set(param, String(Number(u.searchParams.get(param) ?? 0) + got));
      return u;
    }
  }
}

function specOf(table: TableRef): RestTableSpec {
  if (!table.rest) throw new SourceError(`rest source: table ${table.table} has no endpoint configured`);
  return table.rest;
}
