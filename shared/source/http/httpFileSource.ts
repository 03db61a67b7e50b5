import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { FileTableSpec } from '../../config/pipelineConfig.js';
import { SNAPSHOT_COLUMNS } from '../../config/sourceRules.js';
import type { ColumnSnapshot } from '../../state/watermarkStore.js';
import type { ReadRequest, RowBatch, SnapshotPlanner, SnapshotProbe, Source, SourceColumn, TableRef } from '../source.js';
import { SourceError } from '../source.js';
import { FIELD_PARQUET, FieldValueError, inferFieldType, toFieldValue } from './fieldValues.js';
import { fileRecords, loadFileParsers, MalformedRecordError, recordBatches } from './fileRecords.js';
import { parseVersion, sameContent, type FileVersion, type SnapshotVersion } from './fileVersion.js';
import { GuardedFetch, type FetchedBody } from './guardedFetch.js';
import type { HttpSettings } from './httpSettings.js';

/** Records read to infer a file's fields when the catalog declares none. */
const INFER_SAMPLE = 1000;

/** Content types that are never a data file: an HTML page is a login wall, an error page or a repository view. */
const NEVER = /^(text\/html|application\/xhtml\+xml)/i;
const EXPECTED: Record<FileTableSpec['format'], RegExp> = {
  csv: /^(text\/(csv|plain|tab-separated-values)|application\/(csv|octet-stream|vnd\.ms-excel))/i,
  jsonl: /^(application\/(json|x-ndjson|jsonl|x-jsonlines|octet-stream)|text\/plain)/i,
  json: /^(application\/(json|octet-stream)|text\/(plain|json))/i,
  parquet: /^(application\/(octet-stream|vnd\.apache\.parquet|x-parquet))/i,
};

/** A field name as bronze spells it: a SQL identifier (anything else becomes `_`). */
export function fieldName(raw: string): string {
  const s = raw.trim().replace(/[^A-Za-z0-9_]+/g, '_');
  return /^[A-Za-z_]/.test(s) ? s.slice(0, 128) : `_${s}`.slice(0, 128);
}

export interface HttpFileSourceOptions {
  settings: HttpSettings;
  /** Relative table URLs resolve against this. */
  baseUrl?: string;
}

/**
 * Files over HTTP (raw GitHub files are the common case) as a snapshot source. A table is one or
 * more files; its version is each file's validators and content hash. Planning sends a
 * conditional GET per file (If-None-Match / If-Modified-Since): 304 or an identical hash is no
 * change; otherwise the new version is the slice's upper bound, and reading it streams every
 * file again, record by record, into Parquet parts, and fails if any file's hash is not the
 * planned one (it changed in between: the next run probes again and restarts the slice).
 */
export class HttpFileSource implements Source {
  readonly kind = 'http' as const;
  readonly snapshot: SnapshotPlanner;
  private readonly fetch: GuardedFetch;

  constructor(private readonly options: HttpFileSourceOptions) {
    this.fetch = new GuardedFetch(options.settings);
    this.snapshot = { resumable: true, probe: (table, against, columns) => this.probe(table, against, columns) };
  }

  /** The absolute URL of a configured one. */
  resolve(url: string): string {
    try {
      return new URL(url, this.options.baseUrl).toString();
    } catch {
      throw new SourceError(`http source: ${JSON.stringify(url)} is not a URL${this.options.baseUrl ? '' : ' (the source has no baseUrl for relative URLs)'}`);
    }
  }

  async describe(table: TableRef, held?: ColumnSnapshot[] | null): Promise<SourceColumn[]> {
    const spec = specOf(table);
    const lineage: SourceColumn[] = [
      { name: SNAPSHOT_COLUMNS[0], sourceType: 'string', nullable: false, parquet: { kind: 'string' } },
      { name: SNAPSHOT_COLUMNS[1], sourceType: 'timestamp', nullable: false, parquet: { kind: 'timestamp' } },
    ];
    if (spec.fields) return [...spec.fields.map((f) => field(f.name, f.type)), ...lineage];
    const url = this.resolve(spec.urls[0]!);
    const res = await this.open(url, spec, {});
    const samples = new Map<string, unknown[]>();
    let n = 0;
    const records = fileRecords(res.body, spec, url);
    try {
      for await (const { record } of records) {
        for (const [k, v] of Object.entries(record)) {
          const name = fieldName(k);
          if (!samples.has(name)) samples.set(name, []);
          samples.get(name)!.push(v);
        }
        if (++n >= INFER_SAMPLE) break;
      }
    } finally {
      res.body.destroy();
      await records.return(undefined);
    }
    if (samples.size === 0) throw new SourceError(`http source: ${url} has no records to infer fields from; declare source.fields`);
    const reserved = [...samples.keys()].find((k) => (SNAPSHOT_COLUMNS as readonly string[]).includes(k));
    if (reserved) throw new SourceError(`http source: ${url} has a field named ${reserved}, a lineage column every slice adds`);
    const heldTypes = new Map((held ?? []).map((c) => [c.name, c.sourceType]));
    // CSV values are text: without declared fields they stay strings (declare fields for types).
    const columns = [...samples.entries()].map(([name, values]) => field(name, heldTypes.get(name) ?? (spec.format === 'csv' ? 'string' : inferFieldType(values))));
    return [...columns, ...lineage];
  }

  async safeUpperBound(): Promise<string | null> {
    throw new SourceError('http source: slices are planned by probing the files, not by a watermark');
  }

  async hasRows(): Promise<boolean> {
    throw new SourceError('http source: slices are planned by probing the files, not by a watermark');
  }

  /**
   * Conditional GET per file; a file that comes back (200) is hashed and parsed to the end
   * against the columns, so a malformed record fails its file here, before a part is written.
   * A file that fails (404, 5xx, cut short, a malformed record, ...) fails on its own when the
   * table has others: the version keeps its committed state (or leaves it out), so the next run
   * fetches it again, and the failure is returned to be reported. Every file failing fails the
   * table. A new slice lands the files whose content is not the committed one (`read`).
   */
  private async probe(table: TableRef, against: string | null, columns: ColumnSnapshot[], committedText?: string | null): Promise<SnapshotProbe> {
    const spec = specOf(table);
    const known = parseVersion(against);
    const committed = committedText === undefined ? known : parseVersion(committedText);
    const files: FileVersion[] = [];
    const failures: { url: string; err: unknown }[] = [];
    let fetched = 0;
    for (const configured of spec.urls) {
      const url = this.resolve(configured);
      const prior = known?.files.find((f) => f.url === url);
      try {
        const conditional: Record<string, string> = {};
        if (prior?.etag) conditional['if-none-match'] = prior.etag;
        if (prior?.lastModified) conditional['if-modified-since'] = prior.lastModified;
        const res = await this.open(url, spec, conditional);
        if (res.status === 304 && prior) {
          files.push(prior);
          continue;
        }
        fetched++;
        const hashing = hashed(res.body);
        for await (const _rows of rowsOf(hashing.body, spec, url, columns)) {
          // parsed and converted only to be checked
        }
        files.push({ url, ...validators(res), ...hashing.digest() });
      } catch (err) {
        failures.push({ url, err });
        const kept = committed?.files.find((f) => f.url === url);
        if (kept) files.push(kept);
      }
    }
    if (failures.length === spec.urls.length) {
      if (failures.length === 1) throw failures[0]!.err;
      throw new SourceError(`http source: every file of ${table.table} failed: ${failures.map((f) => errorText(f.err)).join('; ')}`);
    }
    const failed = failures.length > 0 ? { failures: failures.map((f) => errorText(f.err)) } : {};
    const read = files.filter((f) => committed?.files.find((c) => c.url === f.url)?.sha256 !== f.sha256).map((f) => f.url);
    const version: SnapshotVersion = { at: new Date().toISOString(), files, read };
    const againstCommitted = committedText === undefined || committedText === against;
    if (sameContent(known, version) || (againstCommitted && read.length === 0 && committed !== null)) {
      // Nothing new to land (a file that failed keeps its committed state); new validators, or a
      // file no longer configured, are kept. (Against a pending slice, only its own content is.)
      const how = fetched === 0 && failures.length === 0 ? 'not modified (304)' : 'content unchanged (same SHA-256)';
      const unchanged = fetched === 0 && failures.length === 0 && sameContent(known, version) ? against : JSON.stringify({ at: (known ?? committed)!.at, files });
      return { changed: false, version: unchanged, message: `${spec.urls.length - failures.length} file(s) of ${table.table}: ${how}`, ...failed };
    }
    return { changed: true, version: JSON.stringify(version), ...failed };
  }

  async *read(request: ReadRequest): AsyncIterable<RowBatch> {
    const spec = specOf(request.table);
    const version = parseVersion(request.bounds.high);
    if (!version) throw new SourceError(`http source: slice of ${request.table.table} has no file version to read`);
    const loadedAt = BigInt(Date.parse(version.at)) * 1000n;
    const width = request.columns.length;
    const skip = request.after ? Number(request.after[0]) : 0;
    const key = (row: unknown[]): string[] => [String(row[width])];
    let n = 0;
    let batch: unknown[][] = [];
    const reading = version.read ? version.files.filter((f) => version.read!.includes(f.url)) : version.files;
    for (const file of reading) {
      const res = await this.open(file.url, spec, {});
      const hashing = hashed(res.body);
      for await (const rows of rowsOf(hashing.body, spec, file.url, request.columns)) {
        for (const row of rows) {
          n++;
          if (n <= skip) continue;
          row[width - 2] = file.url;
          row[width - 1] = loadedAt;
          row[width] = n;
          batch.push(row);
        }
        if (batch.length >= request.batchRows) {
          yield { rows: batch, key };
          batch = [];
        }
      }
      const sha = hashing.digest().sha256;
      if (sha !== file.sha256) {
        throw new SourceError(`http source: ${file.url} changed while the slice was read (SHA-256 ${sha.slice(0, 12)}, planned ${file.sha256.slice(0, 12)}); the next run plans it again`);
      }
    }
    if (batch.length > 0) yield { rows: batch, key };
  }

  async close(): Promise<void> {
    await this.fetch.close();
  }

  /** GET with the content-type check; anything the fetcher refuses becomes a SourceError naming the URL. */
  private async open(url: string, spec: FileTableSpec, headers: Record<string, string>): Promise<FetchedBody> {
    await loadFileParsers();
    let res: FetchedBody;
    try {
      res = await this.fetch.get(url, headers);
    } catch (err) {
      throw new SourceError(`http source: ${(err as Error).message}`, { cause: err });
    }
    const type = res.headers['content-type'];
    if (res.status !== 304 && type !== undefined && (NEVER.test(type) || !EXPECTED[spec.format].test(type))) {
      res.body.destroy();
      throw new SourceError(`http source: ${url}: content type ${type} is not ${spec.format}`);
    }
    return res;
  }
}

/** The body, passed through a SHA-256 of its bytes (read `digest()` once the body has ended). */
function hashed(body: Readable): { body: Readable; digest: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const through = body.pipe(
    new Transform({
      transform(chunk: Buffer, _e, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    }),
  );
  body.on('error', (err) => through.destroy(err));
  return { body: through, digest: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/**
 * The records of one file as rows, a batch at a time: the contract's fields in order, converted
 * to their types, then room for the two lineage columns and the record number (filled by the
 * reader). A value that does not convert fails with the file, the place and the field named.
 */
async function* rowsOf(body: Readable, spec: FileTableSpec, url: string, columns: readonly { name: string; sourceType: string }[]): AsyncGenerator<unknown[][]> {
  const fields = columns.filter((c) => !(SNAPSHOT_COLUMNS as readonly string[]).includes(c.name));
  const index = new Map(fields.map((c, i) => [c.name, i]));
  const slot = (k: string): number | undefined => index.get(k) ?? index.get(fieldName(k));
  const width = fields.length + SNAPSHOT_COLUMNS.length;
  const types = fields.map((f) => f.sourceType);
  for await (const batch of recordBatches(body, spec, url)) {
    const rows: unknown[][] = new Array(batch.records.length);
    // CSV: the header maps to the contract once per batch, not once per record.
    const cells = batch.names?.map(slot);
    let k = 0;
    let field = -1;
    try {
      for (; k < batch.records.length; k++) {
        const record = batch.records[k]!;
        const row: unknown[] = new Array(width + 1).fill(null);
        if (cells) {
          const values = record as string[];
          for (let c = 0; c < cells.length; c++) {
            const i = cells[c];
            if (i === undefined) continue;
            field = i;
            row[i] = toFieldValue(values[c], types[i]!);
          }
        } else {
          for (const [name, v] of Object.entries(record)) {
            const i = slot(name);
            if (i === undefined) continue;
            field = i;
            row[i] = toFieldValue(v, types[i]!);
          }
        }
        rows[k] = row;
      }
    } catch (err) {
      if (err instanceof FieldValueError) throw new MalformedRecordError(url, batch.at(k), `field ${fields[field]!.name}: ${err.message}`);
      throw err;
    }
    yield rows;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function specOf(table: TableRef): FileTableSpec {
  if (!table.file) throw new SourceError(`http source: table ${table.table} has no files configured`);
  return table.file;
}

function field(name: string, type: string): SourceColumn {
  const parquet = FIELD_PARQUET[type];
  if (!parquet) throw new SourceError(`http source: field ${name} has unknown type ${type}`);
  return { name, sourceType: type, nullable: true, parquet };
}

function validators(res: FetchedBody): Pick<FileVersion, 'etag' | 'lastModified'> {
  return { ...(res.headers.etag ? { etag: res.headers.etag } : {}), ...(res.headers['last-modified'] ? { lastModified: res.headers['last-modified'] } : {}) };
}
