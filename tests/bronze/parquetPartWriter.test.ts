import { randomBytes } from 'node:crypto';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { ColumnBatch } from '../../shared/bronze/columnBatch.js';
import { acquireEncoder, prewarmEncoder, releaseEncoder } from '../../shared/bronze/parquetEncoderPool.js';
import { ParquetPartWriter } from '../../shared/bronze/parquetPartWriter.js';
import type { LakeUpload } from '../../shared/lake/lake.js';
import type { SourceColumn } from '../../shared/source/source.js';
import { readParquetBytes } from '../support/parquetReader.js';

/**
 * The part writer on its own, into memory: row groups are cut by rows, and by bytes when rows
 * are wide, so neither thread ever holds a row group of unbounded size.
 */
function memoryUpload(): { upload: LakeUpload; bytes: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  let committed: Uint8Array | undefined;
  return {
    upload: {
      stage: async (b) => void parts.push(b),
      commit: async () => {
        committed = Buffer.concat(parts);
        return committed.length;
      },
    },
    bytes: () => committed!,
  };
}

/** `rows` written as one file by a fresh writer (and whichever encoder thread the pool gives it), read back. */
async function writtenAndRead(rows: unknown[][]): Promise<unknown[]> {
  const { upload, bytes } = memoryUpload();
  const writer = new ParquetPartWriter(columns, upload, 400);
  await writer.add(rows);
  await writer.finish();
  return (await readParquetBytes(bytes())).rows;
}

const columns: SourceColumn[] = [
  { name: 'id', sourceType: 'integer', nullable: false, parquet: { kind: 'int32' } },
  { name: 'body', sourceType: 'text', nullable: true, parquet: { kind: 'string' } },
];
const batchColumns = columns.map((c) => ({ name: c.name, kind: c.parquet.kind }));
const wideRows = (n: number, width: number): unknown[][] => Array.from({ length: n }, (_, i) => [i, randomBytes(width).toString('base64').slice(0, width)]);
const footer = (file: Uint8Array) => parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
const rowGroups = (file: Uint8Array): number[] => footer(file).row_groups.map((g) => Number(g.num_rows));
/** Uncompressed size of each row group as the footer declares it. */
const rowGroupBytes = (file: Uint8Array): number[] => footer(file).row_groups.map((g) => Number(g.total_byte_size));
/** Distinct wide values that Snappy shrinks to almost nothing: an encoder that sizes row groups by compressed bytes never cuts them. */
const compressibleRows = (n: number, width: number): unknown[][] => Array.from({ length: n }, (_, i) => [i, `${i}:`.padEnd(width, 'soundlake ')]);

describe('column batch', () => {
  it('is full at its row count', () => {
    const batch = new ColumnBatch(batchColumns, 400);
    const rows = wideRows(1000, 8);
    expect(batch.append(rows, 0, 1000)).toBe(400);
    expect(batch.full).toBe(true);
    expect(batch.take().rows).toBe(400);
    expect(batch.append(rows, 400, 600)).toBe(400);
  });

  it('is cut by size when rows are wide, before the row that would cross the limit', () => {
    // 10,000 text bytes + 4 offset bytes + 4 id bytes a row: nine rows fit in 100,000, ten do not.
    const batch = new ColumnBatch(batchColumns, 65_536, 100_000);
    const rows = wideRows(50, 10_000);
    const sizes: number[] = [];
    let from = 0;
    while (from < rows.length) {
      from += batch.append(rows, from, rows.length - from);
      if (batch.full || from === rows.length) sizes.push(batch.take().rows);
    }
    expect(sizes).toEqual([9, 9, 9, 9, 9, 5]);
  });

  it('gives back rows it took past the limit, nulls and booleans included, so they start the next batch intact', () => {
    const kinds = [
      { name: 'id', kind: 'int32' as const },
      { name: 'body', kind: 'string' as const },
      { name: 'flag', kind: 'boolean' as const },
    ];
    // Rows 0-3 are narrow, then wide ones arrive: the batch, sized from narrow rows, takes too many and must return them.
    const rows: unknown[][] = Array.from({ length: 12 }, (_, i) => [i % 3 === 0 ? null : i, 'x'.repeat(i < 4 ? 10 : 30_000), i % 2 === 0 ? true : i % 5 === 0 ? null : false]);
    const batch = new ColumnBatch(kinds, 65_536, 100_000);
    const batches: { columns: unknown[]; rows: number }[] = [];
    let from = 0;
    while (from < rows.length) {
      from += batch.append(rows, from, rows.length - from);
      if (batch.full || from === rows.length) batches.push(batch.take());
    }
    expect(batches.map((b) => b.rows)).toEqual([7, 3, 2]);
    // Every batch holds exactly its rows: the values, the nulls, the booleans.
    let at = 0;
    for (const b of batches) {
      const [ids, bodies, flags] = b.columns as { validity: Uint8Array | null; nulls: number; values?: Uint8Array | Int32Array; offsets?: Int32Array }[];
      for (let i = 0; i < b.rows; i++, at++) {
        const [id, body, flag] = rows[at]!;
        const valid = (c: typeof ids, k: number): boolean => !c!.validity || ((c!.validity[k >> 3]! >> (k & 7)) & 1) === 1;
        expect(valid(ids, i) ? ids!.values![i] : null).toBe(id);
        expect(bodies!.offsets![i + 1]! - bodies!.offsets![i]!).toBe((body as string).length);
        expect(valid(flags, i) ? ((flags!.values![i >> 3]! >> (i & 7)) & 1) === 1 : null).toBe(flag);
      }
      expect(ids!.nulls + flags!.nulls).toBe(rows.slice(at - b.rows, at).reduce((n, r) => n + (r[0] === null ? 1 : 0) + (r[2] === null ? 1 : 0), 0));
    }
  });
});

describe('parquet part writer', () => {
  it('refuses a value of the wrong type, naming the column, and commits nothing', async () => {
    const cases: [unknown[], RegExp][] = [
      [['7', 'x'], /^column id: expected a 32-bit integer, got string "7"$/],
      [[2 ** 40, 'x'], /^column id: expected a 32-bit integer, got number 1099511627776$/],
      [[1.5, 'x'], /^column id: expected a 32-bit integer, got number 1.5$/],
      [[1, 42], /^column body: expected a string, got number 42$/],
    ];
    for (const [row, problem] of cases) {
      let committed = false;
      const writer = new ParquetPartWriter(columns, { stage: async () => undefined, commit: async () => ((committed = true), 0) }, 400);
      await expect(writer.add([[0, 'fine'], row])).rejects.toThrow(problem);
      writer.abort();
      expect(committed).toBe(false);
    }
  });

  it('fails the file, commits nothing, when its encoder thread dies; the next file gets a new one', async () => {
    let committed = false;
    const writer = new ParquetPartWriter(columns, { stage: async () => undefined, commit: async () => ((committed = true), 0) }, 400);
    await writer.add(wideRows(500, 8));
    // What an out-of-memory kill of the worker looks like from the main thread.
    await (writer as unknown as { encoder: { worker: { terminate(): Promise<number> } } }).encoder.worker.terminate();
    await expect(writer.finish()).rejects.toThrow(/^Parquet encoder worker exited with code \d+$/);
    expect(committed).toBe(false);

    const rows = wideRows(10, 8);
    expect(await writtenAndRead(rows)).toEqual(rows.map(([id, body]) => ({ id, body })));
  });

  it('never hands a file an encoder thread that died while idle; one that dies before a file holds it fails that file at once', async () => {
    // A prewarmed thread that could not start (its module missing, as a broken deployment has
    // it) dies with no file holding it. Given to a file, the file waited for replies that never
    // came, and the CLI exited 0 with its slice pending.
    prewarmEncoder();
    const idle = acquireEncoder();
    releaseEncoder(idle, true);
    await idle.worker.terminate();
    const rows = wideRows(20, 8);
    expect(await writtenAndRead(rows)).toEqual(rows.map(([id, body]) => ({ id, body })));

    // The same death seen by whoever attaches afterwards: reported, not waited on.
    const dead = acquireEncoder();
    await dead.worker.terminate();
    const failure = new Promise<Error>((resolve) => dead.attach(() => undefined, resolve));
    expect((await failure).message).toMatch(/^Parquet encoder worker exited with code \d+$/);
    releaseEncoder(dead, true);
    expect(acquireEncoder()).not.toBe(dead);
  });

  it('fails the file when the lake refuses a block, with no rejection left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let committed = false;
      let staged = 0;
      const upload: LakeUpload = {
        stage: async () => {
          staged++;
          throw new Error('storage refused the block');
        },
        commit: async () => ((committed = true), 0),
      };
      const writer = new ParquetPartWriter(columns, upload, 100);
      // The refusal surfaces at the first call after it: a later add, or finish.
      const write = async (): Promise<void> => {
        await writer.add(wideRows(500, 8));
        await writer.finish();
      };
      await expect(write()).rejects.toThrow(/storage refused the block/);
      writer.abort();
      expect(committed).toBe(false);
      expect(staged).toBeGreaterThan(0);
      // Node reports unhandled rejections once the microtask queue drains: one event-loop turn.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reports an error inside the encoder as a failed file', async () => {
    let committed = false;
    const writer = new ParquetPartWriter(columns, { stage: async () => undefined, commit: async () => ((committed = true), 0) }, 400);
    // A row group whose columns do not match the schema: the worker cannot build the batch.
    (writer as unknown as { encoder: { send(m: unknown): void } }).encoder.send({ type: 'group', columns: [], rows: 3 });
    await expect(writer.finish()).rejects.toThrow(/^Parquet encoding failed: /);
    expect(committed).toBe(false);
  });

  it('writes row groups of the configured row count', async () => {
    const { upload, bytes } = memoryUpload();
    const writer = new ParquetPartWriter(columns, upload, 400);
    const rows = wideRows(1000, 8);
    for (let i = 0; i < rows.length; i += 300) await writer.add(rows.slice(i, i + 300));
    await writer.finish();
    expect(rowGroups(bytes())).toEqual([400, 400, 200]);
    expect((await readParquetBytes(bytes())).rows).toEqual(rows.map(([id, body]) => ({ id, body })));
  });

  it('keeps every row group within the byte limit, uncompressed, however well its values compress', async () => {
    const { upload, bytes } = memoryUpload();
    // Larger than a data page (1 MiB), so pages are compressed before the row group ends.
    const limit = 4 * 1024 * 1024;
    const writer = new ParquetPartWriter(columns, upload, 65_536, {}, limit);
    const rows = compressibleRows(160, 100_000);
    for (let i = 0; i < rows.length; i += 7) await writer.add(rows.slice(i, i + 7));
    await writer.finish();
    const sizes = rowGroupBytes(bytes());
    expect(sizes.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
    expect(rowGroups(bytes()).reduce((a, b) => a + b, 0)).toBe(160);
    expect((await readParquetBytes(bytes())).rows).toEqual(rows.map(([id, body]) => ({ id, body })));
  });

  it('ends a row group early when its rows reach the byte limit, and loses nothing', async () => {
    const { upload, bytes } = memoryUpload();
    const writer = new ParquetPartWriter(columns, upload, 65_536, {}, 100_000);
    const rows = wideRows(200, 10_000);
    await writer.add(rows);
    await writer.finish();
    const groups = rowGroups(bytes());
    expect(groups.length).toBeGreaterThan(1);
    expect(Math.max(...groups)).toBeLessThanOrEqual(20);
    expect(groups.reduce((a, b) => a + b, 0)).toBe(200);
    expect((await readParquetBytes(bytes())).rows).toEqual(rows.map(([id, body]) => ({ id, body })));
  });

  it('holds the encoder back while encoded bytes wait for a slow lake, so they never pile up', async () => {
    // A lake that stores one block at a time, each a few milliseconds after it is handed over.
    let pending = 0;
    let maxPending = 0;
    let queue = Promise.resolve();
    const upload: LakeUpload = {
      stage: (b) => {
        pending += b.byteLength;
        maxPending = Math.max(maxPending, pending);
        queue = queue.then(() => new Promise<void>((resolve) => setTimeout(() => ((pending -= b.byteLength), resolve()), 5)));
        return queue;
      },
      commit: async () => {
        await queue;
        return 0;
      },
    };
    const bound = 512 * 1024;
    // 40 row groups of one incompressible 256 KiB row each: the encoder makes them far faster than this lake stores them.
    const writer = new ParquetPartWriter([columns[0]!, { name: 'body', sourceType: 'bytea', nullable: false, parquet: { kind: 'binary' } }], upload, 1, {}, undefined, bound);
    for (let i = 0; i < 40; i++) await writer.add([[i, randomBytes(256 * 1024)]]);
    await writer.finish();
    // The bound, plus what was already on its way: the groups in the encoder and the reply in hand.
    expect(maxPending).toBeLessThanOrEqual(bound + 4 * 270 * 1024);
  });
});
