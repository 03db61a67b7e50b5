import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ColumnPayload, ColumnSegment, SegmentLimits } from '../../shared/bronze/columnBatch.js';
import { segmentsFromRows } from '../../shared/bronze/rowSegments.js';
import { CopyBinaryDecoder } from '../../shared/source/postgres/copyBinaryDecoder.js';
import { CopyOut } from '../../shared/source/postgres/copyOut.js';
import { copyPlan } from '../../shared/source/postgres/copyQuery.js';
import { PostgresSource } from '../../shared/source/postgres/postgresSource.js';
import { typedLiteral } from '../../shared/source/postgres/sqlLiteral.js';
import type { ColumnarReadRequest, SliceBounds, TableRef } from '../../shared/source/source.js';
import { postgresTimestampText, timestampFromPostgresBinary, timestampHalvesFromPostgresBinary } from '../../shared/source/valueCodecs.js';
import { testId } from '../support/harness.js';

/**
 * The binary COPY read against the cursor read it replaces, on the test database (PGlite, or a
 * real PostgreSQL with TEST_POSTGRES_URL): the same values for every type, the same keyset
 * semantics with hostile keys, and the same failures.
 */
const schema = `cp_${testId()}`;
let db: pg.Client;
let copy: PostgresSource;
let cursor: PostgresSource;

const HOSTILE = [
  "'; DROP TABLE x; --",
  "it's",
  "''",
  '\\',
  "\\'",
  "\\' OR 1=1 --",
  'E\'\\x41\'',
  '$$ dollar $$',
  '$tag$ x $tag$',
  '"double"',
  '/* comment */',
  'line\nbreak\r\ttab',
  'Sigur Rós 🎵 日本語',
  ' ',
  '',
  ')) TO STDOUT; COPY (SELECT 1',
  'a'.repeat(3000),
];

const TYPES_ROWS = `
  (1, -32768, 2147483647, -9223372036854775808, 123456789.123, 1234567890123456789012345678.0123456789, 3.14159265358979323846, 1.5, 2.718281828459045, true,
   'Sigur Rós – Hoppípolla 🎵 日本語 \\ "quoted"', 'varchar', 'ab', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\\x00ff10', '2026-03-29',
   '2026-03-29 01:59:59.999999', '2026-10-25 00:59:59.123456+00', '{"k": [1, 2]}', '{"a": "b"}',
   '1 day 02:03:04.5', '10.0.0.1', '{1,NULL,"x y"}', 'b', 12.5, '13:14:15.123456', 'q', '2026-11-01 00:00:00.000001+00'),
  (2, 32767, -2147483648, 9223372036854775807, -0.001, -9999999999999999999999999999.9999999999, -0.000000000000000001, -3.4e38, 1e-300, false,
   '', 'x', 'abcde', '00000000-0000-0000-0000-000000000000', '\\x', '0001-01-01',
   '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', 'null', '[]',
   '-3 years', '::1', '{}', 'a', -1, '00:00:00', ' ', '2026-11-01 00:00:00.000002+00'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-01 00:00:00.000003+00'),
  (4, 0, 0, 0, 0, 0, 0, 'NaN', '-Infinity', true,
   'ñ', 'Ω', ' ', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\xdeadbeef', '9999-12-31',
   '2262-04-11 23:47:16.854775', '1900-02-28 12:00:00.5+05:30', '[]', '{}',
   '0', '192.168.0.0/16', '{{1,2},{3,4}}', 'c', 0, '23:59:59.999999', 'z', '2026-11-01 00:00:00.000004+00'),
  (5, 1, 1, 1, 1, 1, 'NaN', 'Infinity', 'NaN', true,
   'open end', 'x', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x01', 'infinity',
   '-infinity', 'infinity', '{}', '{"n": 1.50}',
   '1 mon', '10.0.0.1/32', '{"a\\\\b"}', 'a', 1, '00:00:01', 'a', '2026-11-01 00:00:00.000005+00'),
  (6, 1, 1, 1, 1, 1, '-0.000001', 1, 1, true,
   'open start', 'x', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x01', '-infinity',
   'infinity', '-infinity', '{}', '{}',
   '1 mon', '10.0.0.1/32', '{}', 'a', 1, '00:00:01', 'a', '2026-11-01 00:00:00.000006+00'),
  (7, 1, 1, 1, 1, 1, 1, 1, 1, true,
   'ancient', 'x', 'x', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x01', '0044-03-15 BC',
   '0044-03-15 12:00:00.25 BC', '4713-01-01 00:00:00+00 BC', '{}', '{}',
   '1 mon', '10.0.0.1/32', '{}', 'a', 1, '00:00:01', 'a', '2026-11-01 00:00:00.000007+00')`;

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject('postgresUrl') });
  await db.connect();
  await db.query(`SET TIME ZONE 'UTC'`);
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(`CREATE TYPE ${schema}.mood AS ENUM ('a', 'b', 'c')`);
  await db.query(`
    CREATE TABLE ${schema}.types_all (
      id integer PRIMARY KEY,
      c_int2 smallint, c_int4 integer, c_int8 bigint,
      c_num numeric(12,3), c_num_wide numeric(38,10), c_num_free numeric,
      c_f4 real, c_f8 double precision, c_bool boolean,
      c_text text, c_varchar varchar(20), c_char char(5),
      c_uuid uuid, c_bytea bytea, c_date date,
      c_ts timestamp(6), c_tstz timestamptz, c_json json, c_jsonb jsonb,
      c_interval interval, c_inet inet, c_array text[], c_enum ${schema}.mood, c_money_ish numeric(5,1), c_time time, c_qchar "char",
      updated_at timestamptz NOT NULL
    )`);
  await db.query(`INSERT INTO ${schema}.types_all VALUES ${TYPES_ROWS}`);
  await db.query(`CREATE TABLE ${schema}.hostile (k text PRIMARY KEY, n integer, updated_at timestamptz NOT NULL)`);
  for (const [i, k] of HOSTILE.entries()) await db.query(`INSERT INTO ${schema}.hostile VALUES ($1, $2::int, TIMESTAMPTZ '2026-01-01' + $2::int * INTERVAL '1 second')`, [k, i]);
  await db.query(`CREATE TABLE ${schema}.events (id integer, k2 timestamptz, payload text, updated_at timestamptz NOT NULL, PRIMARY KEY (id, k2))`);
  await db.query(
    `INSERT INTO ${schema}.events SELECT i, TIMESTAMPTZ '2026-01-01' + (i % 3) * INTERVAL '1.000001 second', repeat(chr(65 + i % 26), i % 50), TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, 500) i`,
  );
  copy = new PostgresSource({ url: inject('postgresUrl') });
  cursor = new PostgresSource({ url: inject('postgresUrl'), copy: false });
});

afterAll(async () => {
  await copy?.close();
  await cursor?.close();
  await db?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
  await db?.end();
});

/** A payload's values as plain JS: what a Parquet reader would see, nulls included. */
function valuesOf(p: ColumnPayload, rows: number): unknown[] {
  const valid = (i: number): boolean => !p.validity || (p.validity[i >> 3]! & (1 << (i & 7))) !== 0;
  return Array.from({ length: rows }, (_, i) => {
    if (!valid(i)) return null;
    switch (p.layout) {
      case 'fixed':
        return p.values[i];
      case 'bool':
        return (p.values[i >> 3]! & (1 << (i & 7))) !== 0;
      case 'bytes':
        return Buffer.from(p.data.subarray(p.offsets[i]!, p.offsets[i + 1]!)).toString('hex');
      case 'decimal':
        return BigInt.asUintN(64, p.values[2 * i]!) + (p.values[2 * i + 1]! << 64n);
    }
  });
}

function columnsOf(segments: ColumnSegment[]): unknown[][] {
  const width = segments[0]?.columns.length ?? 0;
  return Array.from({ length: width }, (_, j) => segments.flatMap((s) => valuesOf(s.columns[j]!, s.rows)));
}

async function collect(it: AsyncIterable<ColumnSegment>): Promise<ColumnSegment[]> {
  const out: ColumnSegment[] = [];
  for await (const s of it) out.push(s);
  return out;
}

const LIMITS: SegmentLimits = { groupRows: 65_536, groupBytes: 4 * 1024 * 1024, partRows: 1_000_000 };

async function request(table: string, primaryKey: string[], options: { after?: string[] | null; bounds?: SliceBounds; limits?: SegmentLimits } = {}): Promise<ColumnarReadRequest> {
  const ref: TableRef = { schema, table };
  return {
    table: ref,
    columns: await copy.describe(ref),
    watermark: { column: 'updated_at', kind: 'timestamp' },
    primaryKey,
    bounds: options.bounds ?? { low: null, high: '2030-01-01 00:00:00+00' },
    after: options.after ?? null,
    batchRows: 3,
    limits: options.limits ?? LIMITS,
  };
}

/** A table's COPY as the reader hands it on: each CopyData payload (or its part in a socket chunk), copied, and whether it was whole. */
async function copyMessages(table: string) {
  const req = await request(table, ['id']);
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    await client.query(`SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'`);
    const plan = await copyPlan(client as unknown as pg.PoolClient, req);
    const messages: { bytes: Buffer; whole: boolean }[] = [];
    for await (const _ of client.query(new CopyOut(plan.sql)).run((b, start, end, whole) => messages.push({ bytes: Buffer.from(b.subarray(start, end)), whole }))) continue;
    return { plan, messages };
  } finally {
    await client.end();
  }
}

describe('typedLiteral', () => {
  it('gives back every hostile value exactly, whatever standard_conforming_strings says', async () => {
    for (const setting of ['on', 'off']) {
      await db.query(`SET standard_conforming_strings = ${setting}`);
      for (const v of HOSTILE) {
        const { rows } = await db.query(`SELECT ${typedLiteral(v, 'text')} AS v, pg_typeof(${typedLiteral(v, 'text')})::text AS t`);
        expect(rows[0]).toEqual({ v, t: 'text' });
      }
    }
    await db.query(`SET standard_conforming_strings = on`);
  });

  it('casts to the column type, so bounds compare in that type', async () => {
    const { rows } = await db.query(`SELECT ${typedLiteral('2026-01-01 00:00:00.000001+00', 'timestamp with time zone')} > ${typedLiteral('2026-01-01 00:00:00+00', 'timestamp with time zone')} AS later`);
    expect(rows[0].later).toBe(true);
  });

  it('refuses NUL characters and anything that is not a type name', () => {
    expect(() => typedLiteral('a\0b', 'text')).toThrow(/NUL/);
    for (const bad of ['text; DROP TABLE x', "text'", 'text--', 'text)', 'text /* */', '', 'text\\', '"unclosed']) {
      expect(() => typedLiteral('x', bad), bad).toThrow(/not a type name/);
    }
    expect(typedLiteral('x', '"My Type"[]')).toBe(`E'x'::"My Type"[]`);
  });
});

describe('binary COPY read', () => {
  it('writes every value of every type exactly as the cursor read does', async () => {
    const req = await request('types_all', ['id']);
    const fromCopy = await collect(copy.readColumns(req));
    const fromCursor = await collect(segmentsFromRows(cursor.read(req), req.columns, req.limits));
    expect(fromCopy.map((s) => s.rows)).toEqual([7]);
    const a = columnsOf(fromCopy);
    const b = columnsOf(fromCursor);
    for (const [j, c] of req.columns.entries()) expect(a[j], c.name).toEqual(b[j]);
    expect(fromCopy.at(-1)!.lastKey).toEqual(fromCursor.at(-1)!.lastKey);
  });

  it('decodes the same whatever the chunks the socket delivers', async () => {
    const { plan, messages } = await copyMessages('types_all');
    const whole = Buffer.concat(messages.map((m) => m.bytes));
    const decode = (size: number): unknown[][] => {
      const d = new CopyBinaryDecoder(plan.columns, plan.appendedKeys, plan.keys, { ...LIMITS, groupRows: 3 });
      const out: ColumnSegment[] = [];
      const drain = (): void => {
        for (let s = d.take(); s; s = d.take()) out.push(s);
      };
      for (let at = 0; at < whole.length; at += size) {
        d.push(whole, at, Math.min(at + size, whole.length));
        drain();
      }
      d.end();
      drain();
      expect(out.map((s) => s.rows)).toEqual([3, 3, 1]);
      return columnsOf(out);
    };
    const reference = decode(whole.length);
    for (const size of [1, 2, 3, 5, 7, 13, 64, 333]) expect(decode(size), `chunks of ${size}`).toEqual(reference);
  });

  it('decodes whole row messages in one pass, and a row past the byte bound starts the next group intact', async () => {
    const { plan, messages } = await copyMessages('types_all');
    // Every row of this small table arrives whole; the header comes before the first row.
    expect(messages.filter((m) => m.whole).length).toBeGreaterThanOrEqual(7);
    const decode = (groupBytes: number, byMessage: boolean): ColumnSegment[] => {
      const d = new CopyBinaryDecoder(plan.columns, plan.appendedKeys, plan.keys, { ...LIMITS, groupRows: 1000, groupBytes });
      const out: ColumnSegment[] = [];
      for (const m of messages) {
        if (byMessage && m.whole) d.pushMessage(m.bytes, 0, m.bytes.length);
        else d.push(m.bytes, 0, m.bytes.length);
        for (let s = d.take(); s; s = d.take()) out.push(s);
      }
      d.end();
      for (let s = d.take(); s; s = d.take()) out.push(s);
      return out;
    };
    // Bounds from "every row alone" to "all in one group": each cut where the general path cuts it.
    for (const bound of [1, 150, 400, 900, 4 * 1024 * 1024]) {
      const general = decode(bound, false);
      const fast = decode(bound, true);
      expect(fast.map((s) => s.rows), `bound ${bound}`).toEqual(general.map((s) => s.rows));
      expect(columnsOf(fast), `bound ${bound}`).toEqual(columnsOf(general));
      expect(fast.map((s) => s.lastKey)).toEqual(general.map((s) => s.lastKey));
      // Null counts and byte lengths too: the encoder writes `rows - nulls` values and takes the data as it is.
      const shape = (segments: ColumnSegment[]) => segments.map((s) => s.columns.map((c) => [c.nulls, c.layout === 'bytes' ? c.data.length : null]));
      expect(shape(fast), `bound ${bound}`).toEqual(shape(general));
    }
    expect(decode(1, true).length).toBe(7);
  });

  it('refuses a row message whose fields run past its end, or stop short of it', async () => {
    const columns = [{ name: 'n', kind: 'int32' as const, decoding: 'int4' as const }];
    const d = new CopyBinaryDecoder(columns, [], [{ column: 0, appended: false }], LIMITS);
    const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
    d.push(header);
    const row = (len: number, extra: number): Buffer => {
      const b = Buffer.alloc(2 + 4 + Math.max(len, 0) + extra);
      b.writeInt16BE(1, 0);
      b.writeInt32BE(len, 2);
      return b;
    };
    const whole = row(4, 0);
    d.pushMessage(whole, 0, whole.length);
    const short = row(4, 0);
    expect(() => d.pushMessage(short, 0, short.length - 1)).toThrow(/runs past the end of its row/);
    const d2 = new CopyBinaryDecoder(columns, [], [{ column: 0, appended: false }], LIMITS);
    d2.push(header);
    const long = row(4, 3);
    expect(() => d2.pushMessage(long, 0, long.length)).toThrow(/3 bytes after its last field/);
  });

  it('resumes exactly after every hostile text key, in the column collation', async () => {
    for (const k of HOSTILE) {
      const req = await request('hostile', ['k'], { after: [k] });
      const { rows } = await db.query(`SELECT k FROM ${schema}.hostile WHERE k > $1 ORDER BY k`, [k]);
      const segments = await collect(copy.readColumns(req));
      const keys = segments.length === 0 ? [] : (columnsOf(segments)[0] as string[]).map((h) => Buffer.from(h, 'hex').toString('utf8'));
      expect(keys, JSON.stringify(k)).toEqual(rows.map((r) => r.k as string));
      if (rows.length > 0) expect(segments.at(-1)!.lastKey).toEqual([rows.at(-1)!.k]);
    }
  });

  it('resumes after a composite key with a timestamp in it, and honours every kind of bound', async () => {
    const windows: SliceBounds[] = [
      { low: null, high: '2026-01-01 00:05:00+00' },
      { low: '2026-01-01 00:01:00+00', high: '2026-01-01 00:05:00+00' },
      { low: '2026-01-01 00:01:00+00', high: '2026-01-01 00:05:00+00', window: 'closed-open' },
    ];
    for (const bounds of windows) {
      const all = await request('events', ['id', 'k2'], { bounds });
      const whole = await collect(copy.readColumns({ ...all, limits: { ...LIMITS, groupRows: 16 } }));
      const expected = columnsOf(await collect(segmentsFromRows(cursor.read(all), all.columns, LIMITS)));
      expect(columnsOf(whole)).toEqual(expected);
      // Resume after every segment's last key: the rest, and only the rest.
      let seen = 0;
      for (const s of whole) {
        seen += s.rows;
        const rest = await collect(copy.readColumns(await request('events', ['id', 'k2'], { bounds, after: s.lastKey })));
        expect(rest.reduce((n, r) => n + r.rows, 0)).toBe(expected[0]!.length - seen);
      }
    }
  });

  it('cuts row groups at rowGroupRows, at the byte bound, and never across a part', async () => {
    const req = await request('events', ['id', 'k2'], { limits: { groupRows: 64, groupBytes: 2_000, partRows: 100 } });
    const segments = await collect(copy.readColumns(req));
    const reference = await collect(segmentsFromRows(cursor.read(req), req.columns, req.limits));
    expect(segments.map((s) => s.rows)).toEqual(reference.map((s) => s.rows));
    let inPart = 0;
    for (const s of segments) {
      expect(s.rows).toBeLessThanOrEqual(64);
      inPart += s.rows;
      expect(inPart).toBeLessThanOrEqual(100);
      if (inPart === 100) inPart = 0;
    }
    expect(segments.reduce((n, s) => n + s.rows, 0)).toBe(500);
  });

  it('fails a numeric(p,s) NaN naming table, column and value, and the source goes on working', async () => {
    await db.query(`CREATE TABLE ${schema}.nan (id integer PRIMARY KEY, price numeric(8,2), updated_at timestamptz NOT NULL)`);
    await db.query(`INSERT INTO ${schema}.nan SELECT i, CASE WHEN i = 70 THEN 'NaN'::numeric ELSE i::numeric END, TIMESTAMPTZ '2026-01-01' FROM generate_series(1, 100) i`);
    const req = await request('nan', ['id']);
    await expect(collect(copy.readColumns(req))).rejects.toThrow(new RegExp(`column price of ${schema}\\.nan: .*"NaN"`));
    await expect(collect(segmentsFromRows(cursor.read(req), req.columns, req.limits))).rejects.toThrow(new RegExp(`column price of ${schema}\\.nan: .*"NaN"`));
    const ok = await collect(copy.readColumns(await request('events', ['id', 'k2'])));
    expect(ok.reduce((n, s) => n + s.rows, 0)).toBe(500);
  });

  it('can be broken off early, and the source reads again afterwards', async () => {
    const req = await request('events', ['id', 'k2'], { limits: { ...LIMITS, groupRows: 10 } });
    for (let i = 0; i < 6; i++) {
      let seen = 0;
      for await (const s of copy.readColumns(req)) {
        seen += s.rows;
        break;
      }
      expect(seen).toBe(10);
    }
    const all = await collect(copy.readColumns(req));
    expect(all.reduce((n, s) => n + s.rows, 0)).toBe(500);
  });
});

describe('Postgres timestamps without BigInt', () => {
  const halves = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v >> 32n)), Number(BigInt.asIntN(32, v))];
  const viaHalves = (v: bigint): bigint | 'refused' => {
    const out = new Int32Array(2);
    const [hi, lo] = halves(v);
    if (!timestampHalvesFromPostgresBinary(hi, lo, out, 0)) return 'refused';
    return new BigInt64Array(out.buffer)[0]!;
  };
  const viaBigInt = (v: bigint): bigint | 'refused' => {
    try {
      return timestampFromPostgresBinary(v);
    } catch {
      return 'refused';
    }
  };

  it('agrees with the BigInt rule on the edges and on random values', () => {
    const max = 2n ** 63n - 1n;
    const min = -(2n ** 63n);
    const offset = 946_684_800_000_000n;
    const edges = [0n, 1n, -1n, max, min, min + 1n, max - 1n, max - offset, max - offset - 1n, max - offset + 1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 4_294_967_295n - 993_517_568n];
    let seed = 7n;
    const random = Array.from({ length: 20_000 }, () => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
      return BigInt.asIntN(64, seed);
    });
    for (const v of [...edges, ...random]) expect(viaHalves(v), String(v)).toBe(viaBigInt(v));
  });

  it('names a value the way the server prints it', async () => {
    const { rows } = await db.query(
      `SELECT t::text AS text, ((extract(epoch FROM t) - 946684800) * 1000000)::numeric(30,0)::text AS micros
         FROM (VALUES (TIMESTAMPTZ '2026-03-29 01:59:59.5+00'), (TIMESTAMPTZ '0044-03-15 12:00:00.25+00 BC'), (TIMESTAMPTZ '294250-01-01 00:00:00+00'),
                      (TIMESTAMPTZ '1999-12-31 23:59:59.999999+00'), (TIMESTAMPTZ '0001-01-01 00:00:00+00')) v(t)`,
    );
    for (const r of rows) expect(postgresTimestampText(BigInt(r.micros as string), true)).toBe(r.text);
  });
});
