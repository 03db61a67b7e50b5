import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestTable } from '../../shared/extract/ingestTable.js';
import { newRunId } from '../../shared/run/runId.js';
import { DATE_INFINITY_DAYS, DATE_NEGATIVE_INFINITY_DAYS, TIMESTAMP_INFINITY_MICROS, TIMESTAMP_NEGATIVE_INFINITY_MICROS } from '../../shared/source/valueCodecs.js';
import { createHarness, testTable, type Harness } from '../support/harness.js';

/**
 * Every column type the Postgres source maps, read back from bronze by an independent Parquet
 * reader and compared with what Postgres itself says the values are (epoch microseconds, day
 * numbers, decimal text), nulls and unicode included.
 */
let h: Harness;

const ROWS = `
  (1, -32768, 2147483647, -9223372036854775808, 123456789.123, 1234567890123456789012345678.0123456789, 3.14159265358979323846, 1.5, 2.718281828459045, true,
   'Sigur Rós – Hoppípolla 🎵 日本語 \\ "quoted"', 'varchar', 'ab', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\\x00ff10', '2026-03-29',
   '2026-03-29 01:59:59.999999', '2026-10-25 00:59:59.123456+00', '{"k": [1, 2]}', '2026-11-01 00:00:00.000001+00'),
  (2, 32767, -2147483648, 9223372036854775807, -0.001, -9999999999999999999999999999.9999999999, -0.000000000000000001, -3.4e38, 1e-300, false,
   '', 'x', 'abcde', '00000000-0000-0000-0000-000000000000', '\\x', '0001-01-01',
   '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', 'null', '2026-11-01 00:00:00.000002+00'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, '2026-11-01 00:00:00.000003+00'),
  (4, 0, 0, 0, 0, 0, 0, 'NaN', '-Infinity', true,
   'ñ', 'Ω', ' ', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\xdeadbeef', '9999-12-31',
   '2262-04-11 23:47:16.854775', '1900-02-28 12:00:00.5+05:30', '[]', '2026-11-01 00:00:00.000004+00'),
  (5, 1, 1, 1, 1, 1, 1, 1, 1, true,
   'open end', 'x', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x01', 'infinity',
   '-infinity', 'infinity', '{}', '2026-11-01 00:00:00.000005+00'),
  (6, 1, 1, 1, 1, 1, 1, 1, 1, true,
   'open start', 'x', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x01', '-infinity',
   'infinity', '-infinity', '{}', '2026-11-01 00:00:00.000006+00')`;

beforeAll(async () => {
  h = await createHarness((schema) => [testTable(schema, 'types_all')]);
  await h.db.query(`
    CREATE TABLE ${h.schema}.types_all (
      id integer PRIMARY KEY,
      c_int2 smallint, c_int4 integer, c_int8 bigint,
      c_num numeric(12,3), c_num_wide numeric(38,10), c_num_free numeric,
      c_f4 real, c_f8 double precision, c_bool boolean,
      c_text text, c_varchar varchar(20), c_char char(5),
      c_uuid uuid, c_bytea bytea, c_date date,
      c_ts timestamp(6), c_tstz timestamptz, c_json jsonb,
      updated_at timestamptz NOT NULL
    )`);
  await h.db.query(`INSERT INTO ${h.schema}.types_all VALUES ${ROWS}`);
});

afterAll(async () => {
  await h?.close();
});

describe('types round trip', () => {
  it('reads back every value of every type exactly', async () => {
    const result = await ingestTable(h.app.ingestDeps(), h.app.config.tables[0]!, { runId: newRunId(), trigger: 'test' });
    expect(result.status, result.message).toBe('succeeded');
    expect(result.rows).toBe(6);

    // What Postgres says each value is, in forms that need no parsing on our side.
    const { rows: expected } = await h.db.query({
      text: `SELECT id, c_int2, c_int4, c_int8::text, c_num::text, c_num_wide::text, c_num_free::text,
                    c_f4::float8 AS c_f4, c_f8, c_bool, c_text, c_varchar, c_char, c_uuid::text, encode(c_bytea, 'hex') AS c_bytea,
                    CASE WHEN c_date = 'infinity' THEN 2147483647 WHEN c_date = '-infinity' THEN -2147483648
                         ELSE c_date - DATE '1970-01-01' END AS c_date,
                    CASE WHEN c_ts = 'infinity' THEN '9223372036854775807' WHEN c_ts = '-infinity' THEN '-9223372036854775808'
                         ELSE (extract(epoch FROM c_ts AT TIME ZONE 'UTC') * 1000000)::numeric(30,0)::text END AS c_ts,
                    CASE WHEN c_tstz = 'infinity' THEN '9223372036854775807' WHEN c_tstz = '-infinity' THEN '-9223372036854775808'
                         ELSE (extract(epoch FROM c_tstz) * 1000000)::numeric(30,0)::text END AS c_tstz,
                    c_json::text
               FROM ${h.schema}.types_all ORDER BY id`,
    });
    const actual = (await h.bronzeRows('types_all')).sort((a, b) => (a.id as number) - (b.id as number));
    expect(actual).toHaveLength(expected.length);

    const unscaled = (text: string | null, scale: number): bigint | null => {
      if (text === null) return null;
      const neg = text.startsWith('-');
      const [i, f = ''] = text.replace('-', '').split('.');
      const v = BigInt(i + f.padEnd(scale, '0').slice(0, scale));
      return neg ? -v : v;
    };
    for (const [n, e] of expected.entries()) {
      const a = actual[n]!;
      expect(a.id).toBe(e.id);
      expect(a.c_int2).toBe(e.c_int2);
      expect(a.c_int4).toBe(e.c_int4);
      expect(a.c_int8).toBe(e.c_int8 === null ? null : BigInt(e.c_int8));
      expect(a.c_num).toBe(unscaled(e.c_num, 3));
      expect(a.c_num_wide).toBe(unscaled(e.c_num_wide, 10));
      expect(a.c_num_free).toBe(e.c_num_free);
      if (e.c_f4 === null) expect(a.c_f4).toBeNull();
      else expect(Math.fround(a.c_f4 as number)).toBe(Math.fround(Number(e.c_f4)));
      expect(a.c_f8).toBe(e.c_f8 === null ? null : Number(e.c_f8));
      expect(a.c_bool).toBe(e.c_bool);
      expect(a.c_text).toBe(e.c_text);
      expect(a.c_varchar).toBe(e.c_varchar);
      expect(a.c_char).toBe(e.c_char);
      expect(a.c_uuid).toBe(e.c_uuid);
      expect(a.c_bytea === null ? null : (a.c_bytea as Buffer).toString('hex')).toBe(e.c_bytea);
      expect(a.c_date).toBe(e.c_date);
      expect(a.c_ts).toBe(e.c_ts === null ? null : BigInt(e.c_ts));
      expect(a.c_tstz).toBe(e.c_tstz === null ? null : BigInt(e.c_tstz));
      expect(a.c_json).toBe(e.c_json);
    }
    // Infinities land as the documented sentinels, and no finite value is one.
    const sentinelsOf = (id: number) => {
      const row = actual.find((r) => r.id === id)!;
      return [row.c_date, row.c_ts, row.c_tstz];
    };
    expect(sentinelsOf(5)).toEqual([DATE_INFINITY_DAYS, TIMESTAMP_NEGATIVE_INFINITY_MICROS, TIMESTAMP_INFINITY_MICROS]);
    expect(sentinelsOf(6)).toEqual([DATE_NEGATIVE_INFINITY_DAYS, TIMESTAMP_INFINITY_MICROS, TIMESTAMP_NEGATIVE_INFINITY_MICROS]);
    const sentinels = new Set<unknown>([DATE_INFINITY_DAYS, DATE_NEGATIVE_INFINITY_DAYS, TIMESTAMP_INFINITY_MICROS, TIMESTAMP_NEGATIVE_INFINITY_MICROS]);
    expect(actual.filter((r) => (r.id as number) < 5).flatMap((r) => [r.c_date, r.c_ts, r.c_tstz]).filter((v) => sentinels.has(v))).toEqual([]);
  });

  it('declares Parquet types faithfully in the file and the manifest', async () => {
    const [manifest] = await h.manifests('types_all');
    const byName = Object.fromEntries(manifest!.columns.map((c) => [c.name, c]));
    expect(byName.c_num).toMatchObject({ sourceType: 'numeric(12,3)', parquetType: 'DECIMAL(12,3)' });
    expect(byName.c_num_wide!.parquetType).toBe('DECIMAL(38,10)');
    expect(byName.c_num_free!.parquetType).toBe('STRING');
    expect(byName.c_tstz!.parquetType).toBe('TIMESTAMP(MICROS,UTC)');
    expect(byName.c_date!.parquetType).toBe('DATE');
    expect(byName.c_uuid!.parquetType).toBe('STRING');
    expect(byName.c_bytea!.parquetType).toBe('BINARY');
    expect(byName.updated_at!.nullable).toBe(false);

    const files = await h.bronzeFiles('types_all');
    const { readParquetBytes } = await import('../support/parquetReader.js');
    const contents = await readParquetBytes((await h.app.lake.get(files[0]!.path))!);
    const types = Object.fromEntries(contents.columns.map((c) => [c.name, c.type]));
    // The footer as written: physical type, then logical annotation, as Spark will read it.
    expect(types).toMatchObject({
      c_int2: 'INT32 INT(16,signed)',
      c_int4: 'INT32',
      c_int8: 'INT64',
      c_num: 'INT64 DECIMAL(12,3)',
      c_num_wide: 'FIXED_LEN_BYTE_ARRAY DECIMAL(38,10)',
      c_num_free: 'BYTE_ARRAY STRING',
      c_f4: 'FLOAT',
      c_f8: 'DOUBLE',
      c_bool: 'BOOLEAN',
      c_text: 'BYTE_ARRAY STRING',
      c_bytea: 'BYTE_ARRAY',
      c_date: 'INT32 DATE',
      c_ts: 'INT64 TIMESTAMP(MICROS,UTC)',
      c_tstz: 'INT64 TIMESTAMP(MICROS,UTC)',
    });
    // Snappy on every column chunk: checked from the raw footer through hyparquet's metadata reader.
    const { parquetMetadata } = await import('hyparquet');
    const bytes = (await h.app.lake.get(files[0]!.path))!;
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const codecs = new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
    expect([...codecs]).toEqual(['SNAPPY']);
    // The slice that wrote the file is named in the footer, so a file found alone can be traced.
    const kv = Object.fromEntries((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    expect(kv).toMatchObject({ 'soundlake.table': 'types_all', 'soundlake.slice': manifest!.slice, 'soundlake.run_id': manifest!.runId });
  });
});
