import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileTableSpec } from '../../config/pipelineConfig.js';

type Parsers = typeof import('./fileParsers.js');
let parsers: Parsers | undefined;

/**
 * Loads the format parsers (fileParsers.ts) once. Called before the request whose body they will
 * read: awaiting a module load while a body is open would leave its 'error' unhandled meanwhile.
 */
export async function loadFileParsers(): Promise<void> {
  parsers ??= await import('./fileParsers.js');
}

function loaded(): Parsers {
  if (!parsers) throw new Error('file parsers used before loadFileParsers()');
  return parsers;
}

/**
 * Records of one file, streamed in batches: CSV records as cells under the header's names,
 * others as field name -> value; each with the line it ends on (CSV, JSON lines), its element
 * number (JSON arrays) or its row number (Parquet), so a bad record is named exactly. Parsing is
 * the libraries' (csv-parse, stream-json, hyparquet); nothing here holds more than a batch of
 * records or (Parquet) one row group. Batches, not single records, cross the async boundary:
 * per-record awaits cost more than the parsing.
 */
export interface RecordBatch {
  /** CSV: the header's names (records are arrays of cells in that order). */
  names?: string[];
  records: (string[] | Record<string, unknown>)[];
  /** Where record k of the batch is: `line 12`, `element 3`, `row 7`. */
  at(k: number): string;
}

/** A compatibility view of a batch, one record at a time (inference). */
export interface FileRecord {
  record: Record<string, unknown>;
  at: string;
}

const BATCH = 1000;

/** Objects of an object-mode stream, in batches of up to `size`, without an await per object. */
async function* batchesOf<T>(stream: Readable, size = BATCH): AsyncGenerator<T[]> {
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  stream.on('readable', poke);
  stream.on('end', () => {
    ended = true;
    poke();
  });
  stream.on('error', (err) => {
    failure = err;
    poke();
  });
  stream.on('close', () => {
    ended = true;
    poke();
  });
  try {
    for (;;) {
      if (failure) throw failure;
      const batch: T[] = [];
      let item: T | null;
      while (batch.length < size && (item = stream.read() as T | null) !== null) batch.push(item);
      if (batch.length > 0) {
        yield batch;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('readable', poke);
  }
}

/** A record the parser refused, or that is not a record; names the file and where. */
export class MalformedRecordError extends Error {
  constructor(url: string, at: string, problem: string) {
    super(`malformed record in ${url} at ${at}: ${problem}`);
    this.name = 'MalformedRecordError';
  }
}

function decodeText(body: Readable, encoding: string): Readable {
  const e = encoding.toLowerCase();
  if (e === 'utf-8' || e === 'utf8') return body;
  const { iconv } = loaded();
  if (!iconv.encodingExists(e)) throw new Error(`unknown encoding ${encoding}`);
  return body.pipe(iconv.decodeStream(e)) as unknown as Readable;
}

function asRecord(value: unknown, url: string, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedRecordError(url, at, `expected a JSON object, found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)?.slice(0, 60)}`);
  return value as Record<string, unknown>;
}

async function* csvRecords(body: Readable, spec: FileTableSpec, url: string): AsyncGenerator<RecordBatch> {
  const { header, delimiter, quote, escape, encoding } = spec.csv;
  const { parseCsv, CsvError } = loaded();
  // The line a record ends on, kept as a number per record (csv-parse's `info` object per record costs a third of the parse).
  const ends: number[] = [];
  const parser = parseCsv({
    delimiter,
    quote,
    escape,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: false,
    on_record: (record: string[], context: { lines: number }) => {
      ends.push(context.lines);
      return record;
    },
  });
  const text = decodeText(body, encoding);
  text.on('error', (err) => parser.destroy(err));
  text.pipe(parser);
  let names: string[] | null = header ? null : spec.fields!.map((f) => f.name);
  try {
    for await (const records of batchesOf<string[]>(parser)) {
      const lines = ends.splice(0, records.length);
      if (!names) {
        names = records.shift()!.map((n) => n.trim());
        const first = lines.shift()!;
        const dup = names.find((n, i) => names!.indexOf(n) !== i);
        if (dup !== undefined) throw new MalformedRecordError(url, `line ${first}`, `the header names column ${JSON.stringify(dup)} twice`);
      }
      if (records.length > 0) yield { names, records, at: (k) => `line ${lines[k]}` };
    }
  } catch (err) {
    if (err instanceof CsvError) throw new MalformedRecordError(url, `line ${(err as InstanceType<Parsers['CsvError']> & { lines?: number }).lines ?? '?'}`, err.message);
    throw err;
  }
}

async function* jsonLinesRecords(body: Readable, url: string): AsyncGenerator<RecordBatch> {
  let failure: Error | undefined;
  const input = createInterface({ input: body, crlfDelay: Infinity });
  body.on('error', (err) => {
    failure = err;
    input.close();
  });
  let n = 0;
  let records: Record<string, unknown>[] = [];
  let lines: number[] = [];
  const batch = (): RecordBatch => {
    const at = lines;
    return { records, at: (k) => `line ${at[k]}` };
  };
  for await (const line of input) {
    n++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new MalformedRecordError(url, `line ${n}`, (err as Error).message);
    }
    records.push(asRecord(value, url, `line ${n}`));
    lines.push(n);
    if (records.length >= BATCH) {
      yield batch();
      records = [];
      lines = [];
    }
  }
  if (failure) throw failure;
  if (records.length > 0) yield batch();
}

async function* jsonArrayRecords(body: Readable, url: string): AsyncGenerator<RecordBatch> {
  const items = loaded().streamArray.withParserAsStream();
  body.on('error', (err) => items.destroy(err));
  body.pipe(items);
  let last = -1;
  try {
    for await (const batch of batchesOf<{ key: number; value: unknown }>(items)) {
      const first = batch[0]!.key;
      last = batch.at(-1)!.key;
      yield { records: batch.map(({ key, value }) => asRecord(value, url, `element ${key + 1}`)), at: (k) => `element ${first + k + 1}` };
    }
  } catch (err) {
    if (err instanceof MalformedRecordError || (err as Error).name === 'HttpFetchError') throw err;
    throw new MalformedRecordError(url, `element ${last + 2}`, (err as Error).message);
  }
}

/**
 * Parquet needs its footer first, so the body is streamed to a temporary file (within the size
 * cap) and read a row group at a time.
 */
async function* parquetRecords(body: Readable, url: string): AsyncGenerator<RecordBatch> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = loaded();
  const dir = await mkdtemp(join(tmpdir(), 'soundlake-http-'));
  try {
    const path = join(dir, 'file.parquet');
    await pipeline(body, createWriteStream(path));
    let file;
    let metadata;
    try {
      file = await asyncBufferFromFile(path);
      metadata = await parquetMetadataAsync(file);
    } catch (err) {
      throw new MalformedRecordError(url, 'footer', `not a Parquet file: ${(err as Error).message}`);
    }
    let row = 0;
    for (const group of metadata.row_groups) {
      const count = Number(group.num_rows);
      const records = (await parquetReadObjects({ file, metadata, rowStart: row, rowEnd: row + count })) as Record<string, unknown>[];
      const first = row;
      row += count;
      yield { records, at: (k) => `row ${first + k + 1}` };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One record at a time, as field name -> value (inference reads a sample this way). */
export async function* fileRecords(body: Readable, spec: FileTableSpec, url: string): AsyncGenerator<FileRecord> {
  for await (const batch of recordBatches(body, spec, url)) {
    for (let k = 0; k < batch.records.length; k++) {
      const r = batch.records[k]!;
      yield { record: batch.names ? Object.fromEntries(batch.names.map((n, i) => [n, (r as string[])[i]])) : (r as Record<string, unknown>), at: batch.at(k) };
    }
  }
}

export function recordBatches(body: Readable, spec: FileTableSpec, url: string): AsyncGenerator<RecordBatch> {
  switch (spec.format) {
    case 'csv':
      return csvRecords(body, spec, url);
    case 'jsonl':
      return jsonLinesRecords(body, url);
    case 'json':
      return jsonArrayRecords(body, url);
    case 'parquet':
      return parquetRecords(body, url);
  }
}
