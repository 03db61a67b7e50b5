import { createHash } from 'node:crypto';
import { parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROW_GROUP_BYTES } from '../../shared/bronze/parquetPartWriter.js';
import { FETCH_BYTES } from '../../shared/source/fetchSizer.js';
import { createHarness, type Harness } from '../support/harness.js';
import { ingest } from '../support/ingest.js';

/**
 * Wide rows from Postgres to bronze: 400 rows of 100,000 characters that compress well, the case
 * where the encoder used to merge the cut batches into one row group of 38 MiB. Every row group
 * must stay within the bound before compression, and every value must come back exact.
 */
let h: Harness;
const ROWS = 400;
const CHARS = 100_000;

beforeAll(async () => {
  h = await createHarness();
  await h.db.query(`CREATE TABLE ${h.schema}.wide (id integer PRIMARY KEY, body text, note text, updated_at timestamptz NOT NULL)`);
  await h.db.query(
    `INSERT INTO ${h.schema}.wide
       SELECT i, left(repeat(md5(i::text), ${CHARS / 32 + 1}), ${CHARS}), CASE WHEN i % 7 = 0 THEN NULL ELSE 'n' || i END,
              TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second'
         FROM generate_series(1, ${ROWS}) i`,
  );
  await h.db.query(`UPDATE ${h.schema}.wide SET body = NULL WHERE id % 50 = 0`);
});
afterAll(async () => {
  await h?.close();
});

describe('a table of wide rows', () => {
  it('lands in row groups that each hold the byte bound before compression, every value exact', async () => {
    // The first file alone holds more than 32 MiB of text.
    const table = h.table('wide', { maxRowsPerFile: 350 });
    const result = await ingest(h, table);
    expect(result).toMatchObject({ status: 'succeeded', rows: ROWS, files: 2 });

    const files = await h.bronzeFiles('wide');
    const groups: { rows: number; bytes: number }[] = [];
    for (const f of files) {
      const bytes = (await h.app.lake.get(f.path))!;
      const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      groups.push(...meta.row_groups.map((g) => ({ rows: Number(g.num_rows), bytes: Number(g.total_byte_size) })));
    }
    expect(DEFAULT_ROW_GROUP_BYTES).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(groups.length).toBeGreaterThanOrEqual((ROWS * CHARS) / DEFAULT_ROW_GROUP_BYTES);
    expect(groups.filter((g) => g.bytes > DEFAULT_ROW_GROUP_BYTES)).toEqual([]);
    expect(groups.reduce((n, g) => n + g.rows, 0)).toBe(ROWS);

    const { rows: expected } = await h.db.query(`SELECT id, md5(body) AS body, note FROM ${h.schema}.wide ORDER BY id`);
    const md5 = (s: unknown): string | null => (typeof s === 'string' ? createHash('md5').update(s).digest('hex') : null);
    const actual = (await h.bronzeRows('wide')).map((r) => ({ id: r.id, body: md5(r.body), note: r.note })).sort((a, b) => (a.id as number) - (b.id as number));
    expect(actual).toEqual(expected);
  });

  it('is fetched from the source a few rows at a time, never 10,000 rows of 100,000 characters', async () => {
    const table = h.table('wide');
    const columns = await h.app.source.describe(table);
    const fetched: number[] = [];
    for await (const batch of h.app.source.read({ table, columns, watermark: table.watermark, primaryKey: table.primaryKey, bounds: { low: null, high: '2027-01-01 00:00:00+00' }, after: null, batchRows: 10_000 })) {
      fetched.push(batch.rows.length);
    }
    expect(fetched.reduce((a, b) => a + b, 0)).toBe(ROWS);
    expect(Math.max(...fetched)).toBeLessThanOrEqual(Math.ceil(FETCH_BYTES / CHARS));
  });
});
