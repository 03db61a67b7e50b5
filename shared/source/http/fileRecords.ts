import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsv, CsvError } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import iconv from 'iconv-lite';
import streamArray from 'stream-json/streamers/stream-array.js';
import type { FileTableSpec } from '../../config/pipelineConfig.js';

/**
 * Records of one file, streamed: each as field name -> value with the line it ends on (CSV,
 * JSON lines), its element number (JSON arrays) or its row number (Parquet), so a bad record
 * is named exactly. Parsing is the libraries' (csv-parse, stream-json, hyparquet); nothing here
 * holds more than a record, a batch of them or (Parquet) one row group.
 */
export interface FileRecord {
  record: Record<string, unknown>;
  /** `line 12`, `element 3`, `row 7`. */
  at: string;
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
  if (!iconv.encodingExists(e)) throw new Error(`unknown encoding ${encoding}`);
  return body.pipe(iconv.decodeStream(e)) as unknown as Readable;
}

function asRecord(value: unknown, url: string, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedRecordError(url, at, `expected a JSON object, found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)?.slice(0, 60)}`);
  return value as Record<string, unknown>;
}

async function* csvRecords(body: Readable, spec: FileTableSpec, url: string): AsyncGenerator<FileRecord> {
  const { header, delimiter, quote, escape, encoding } = spec.csv;
  const parser = parseCsv({ delimiter, quote, escape, bom: true, info: true, skip_empty_lines: true, relax_column_count: false });
  const text = decodeText(body, encoding);
  text.on('error', (err) => parser.destroy(err));
  text.pipe(parser);
  let names: string[] | null = header ? null : spec.fields!.map((f) => f.name);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!names) {
        names = record.map((n) => n.trim());
        const dup = names.find((n, i) => names!.indexOf(n) !== i);
        if (dup !== undefined) throw new MalformedRecordError(url, `line ${info.lines}`, `the header names column ${JSON.stringify(dup)} twice`);
        continue;
      }
      const out: Record<string, unknown> = {};
      names.forEach((n, i) => (out[n] = record[i]));
      yield { record: out, at: `line ${info.lines}` };
    }
  } catch (err) {
    if (err instanceof CsvError) throw new MalformedRecordError(url, `line ${(err as CsvError & { lines?: number }).lines ?? '?'}`, err.message);
    throw err;
  }
}

async function* jsonLinesRecords(body: Readable, url: string): AsyncGenerator<FileRecord> {
  let failure: Error | undefined;
  const lines = createInterface({ input: body, crlfDelay: Infinity });
  body.on('error', (err) => {
    failure = err;
    lines.close();
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new MalformedRecordError(url, `line ${n}`, (err as Error).message);
    }
    yield { record: asRecord(value, url, `line ${n}`), at: `line ${n}` };
  }
  if (failure) throw failure;
}

async function* jsonArrayRecords(body: Readable, url: string): AsyncGenerator<FileRecord> {
  const items = streamArray.withParserAsStream();
  body.on('error', (err) => items.destroy(err));
  body.pipe(items);
  let last = -1;
  try {
    for await (const { key, value } of items as AsyncIterable<{ key: number; value: unknown }>) {
      last = key;
      yield { record: asRecord(value, url, `element ${key + 1}`), at: `element ${key + 1}` };
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
async function* parquetRecords(body: Readable, url: string): AsyncGenerator<FileRecord> {
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
      const rows = (await parquetReadObjects({ file, metadata, rowStart: row, rowEnd: row + count })) as Record<string, unknown>[];
      for (const r of rows) {
        row++;
        yield { record: r, at: `row ${row}` };
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function fileRecords(body: Readable, spec: FileTableSpec, url: string): AsyncGenerator<FileRecord> {
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
