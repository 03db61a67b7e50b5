import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import type { ColumnPayload } from '../../shared/bronze/columnBatch.js';
import { ParquetFileWriter } from '../../shared/bronze/parquet/parquetFileWriter.js';
import type { ColumnSpec } from '../../shared/bronze/parquet/parquetSchema.js';
import type { ParquetKind } from '../../shared/source/parquetTypes.js';
import { readParquetBytes } from '../support/parquetReader.js';

/**
 * The bronze Parquet writer against an independent reader (hyparquet, pure JavaScript): values,
 * statistics and encodings as the footer declares them. Spark reads the writer's files in
 * databricks/tests/test_silver_stream.py (the ts-writer fixture).
 */
type Value = number | bigint | boolean | string | Uint8Array | null;

function validity(values: Value[]): { validity: Uint8Array | null; nulls: number } {
  const nulls = values.filter((v) => v === null).length;
  if (nulls === 0) return { validity: null, nulls };
  const bits = new Uint8Array(Math.ceil(values.length / 8)).fill(0xff);
  values.forEach((v, i) => {
    if (v === null) bits[i >> 3]! &= ~(1 << (i & 7));
  });
  return { validity: bits, nulls };
}

/** A column of values in the layout the decoder and ColumnBatch hand the encoder (null slots hold zeros). */
function payload(kind: ParquetKind, values: Value[]): ColumnPayload {
  const v = validity(values);
  const n = values.length;
  switch (kind) {
    case 'int16':
      return { layout: 'fixed', values: Int16Array.from(values, (x) => (x ?? 0) as number), ...v };
    case 'int32':
    case 'date':
      return { layout: 'fixed', values: Int32Array.from(values, (x) => (x ?? 0) as number), ...v };
    case 'float':
      return { layout: 'fixed', values: Float32Array.from(values, (x) => (x ?? 0) as number), ...v };
    case 'double':
      return { layout: 'fixed', values: Float64Array.from(values, (x) => (x ?? 0) as number), ...v };
    case 'int64':
    case 'timestamp':
      return { layout: 'fixed', values: BigInt64Array.from(values, (x) => (x ?? 0n) as bigint), ...v };
    case 'boolean': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      values.forEach((x, i) => {
        if (x === true) bits[i >> 3]! |= 1 << (i & 7);
      });
      return { layout: 'bool', values: bits, ...v };
    }
    case 'decimal': {
      const words = new BigInt64Array(2 * n);
      values.forEach((x, i) => {
        const u = (x ?? 0n) as bigint;
        words[2 * i] = BigInt.asIntN(64, u);
        words[2 * i + 1] = BigInt.asIntN(64, u >> 64n);
      });
      return { layout: 'decimal', values: words, ...v };
    }
    case 'string':
    case 'binary': {
      const parts = values.map((x) => (x === null ? new Uint8Array(0) : typeof x === 'string' ? new TextEncoder().encode(x) : (x as Uint8Array)));
      const offsets = new Int32Array(n + 1);
      parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
      const data = new Uint8Array(offsets[n]!);
      parts.forEach((p, i) => data.set(p, offsets[i]!));
      return { layout: 'bytes', offsets, data, ...v };
    }
  }
}

function write(columns: (ColumnSpec & { values: Value[][] })[], kv: { key: string; value: string }[] = []): Uint8Array {
  const writer = new ParquetFileWriter(columns, kv);
  const parts: Uint8Array[] = [];
  const groups = columns[0]!.values.length;
  for (let g = 0; g < groups; g++) parts.push(writer.rowGroup(columns.map((c) => payload(c.parquet.kind, c.values[g]!)), columns[0]!.values[g]!.length));
  parts.push(writer.finish());
  return Buffer.concat(parts);
}

const metadataOf = (bytes: Uint8Array) => parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);

/** Deterministic values, edge cases first, some nulls when the column is nullable. */
function valuesFor(kind: ParquetKind, n: number, nullable: boolean, seed: number): Value[] {
  let s = seed;
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
  const edges: Record<ParquetKind, Value[]> = {
    int16: [-32768, 32767, 0, -1],
    int32: [-(2 ** 31), 2 ** 31 - 1, 0, -1],
    int64: [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 4294967296n, -4294967297n],
    float: [0, -0, 1.5, -3.25, Infinity, -Infinity],
    double: [0, -0, Number.MAX_VALUE, -Number.MIN_VALUE, Infinity, 1 / 3],
    boolean: [true, false],
    string: ['', 'a', 'é 中文 🎵', 'a'.repeat(100), 'zz'],
    binary: [new Uint8Array([]), new Uint8Array([0, 255, 128]), new Uint8Array([255])],
    date: [-719162, 2932896, 0, 19000],
    timestamp: [-62135596800000000n, 253402300799999999n, 0n, -1n],
    decimal: [10n ** 38n - 1n, -(10n ** 38n - 1n), 0n, -1n, 2n ** 64n, -(2n ** 64n) - 5n],
  };
  const out: Value[] = [];
  for (let i = 0; i < n; i++) {
    if (nullable && i % 7 === 3) {
      out.push(null);
      continue;
    }
    const edge = edges[kind];
    if (i < edge.length) {
      out.push(edge[i]!);
      continue;
    }
    const r = rand();
    out.push(
      {
        int16: () => Math.floor(r * 65536) - 32768,
        int32: () => Math.floor(r * 2 ** 32) - 2 ** 31,
        int64: () => BigInt(Math.floor(r * 2 ** 52)) * 1024n - 2n ** 61n,
        float: () => Math.fround((r - 0.5) * 1e6),
        double: () => (r - 0.5) * 1e300,
        boolean: () => r < 0.5,
        string: () => ['mobile', 'desktop', 'tv', 'car'][Math.floor(r * 4)]!,
        binary: () => new Uint8Array([Math.floor(r * 256), 7]),
        date: () => Math.floor(r * 40000),
        timestamp: () => BigInt(Math.floor(r * 2 ** 52)) * 97n,
        decimal: () => BigInt(Math.floor((r - 0.5) * 2 ** 52)) * 10n ** 20n,
      }[kind](),
    );
  }
  return out;
}

const KINDS: { kind: ParquetKind; precision?: number; scale?: number }[] = [
  { kind: 'int16' },
  { kind: 'int32' },
  { kind: 'int64' },
  { kind: 'float' },
  { kind: 'double' },
  { kind: 'boolean' },
  { kind: 'string' },
  { kind: 'binary' },
  { kind: 'date' },
  { kind: 'timestamp' },
  { kind: 'decimal', precision: 9, scale: 2 },
  { kind: 'decimal', precision: 18, scale: 4 },
  { kind: 'decimal', precision: 38, scale: 6 },
];

/** What the reader gives back for a value written as `kind`. */
function expected(kind: ParquetKind, precision: number | undefined, v: Value): unknown {
  if (v === null) return null;
  if (kind === 'decimal') {
    // INT32 / INT64 decimals hold the low bits of the unscaled value (the reader sign-extends them).
    const u = v as bigint;
    return precision! <= 9 ? BigInt.asIntN(32, u) : precision! <= 18 ? BigInt.asIntN(64, u) : u;
  }
  if (kind === 'binary') return Buffer.from(v as Uint8Array);
  if (kind === 'float') return Math.fround(v as number);
  return v;
}

function columnsFor(groups: number[], seed: number) {
  return KINDS.flatMap((t, k) =>
    [false, true].map((nullable) => {
      const decimalBound = t.kind === 'decimal' && t.precision! <= 18 ? 10n ** BigInt(t.precision!) : null;
      return {
        name: `${t.kind}${t.precision ?? ''}${nullable ? '_n' : ''}`,
        parquet: t,
        nullable,
        values: groups.map((n, g) =>
          valuesFor(t.kind, n, nullable, seed + 31 * k + 7 * g).map((v) =>
            // Narrow decimals: values within the precision, as the decoder guarantees.
            decimalBound !== null && typeof v === 'bigint' ? v % decimalBound : v,
          ),
        ),
      };
    }),
  );
}

describe('bronze Parquet writer', () => {
  it('writes every kind, nullable and not, so an independent reader gets every value back exact', async () => {
    const columns = columnsFor([37, 100, 1], 11);
    const bytes = write(columns, [{ key: 'soundlake.table', value: 't' }]);
    const { rows, columns: types } = await readParquetBytes(bytes);
    expect(rows).toHaveLength(138);
    for (const c of columns) {
      const want = c.values.flat().map((v) => expected(c.parquet.kind, c.parquet.precision, v));
      const got = rows.map((r) => r[c.name]);
      // -0 and NaN compare by identity of their bits, not ===.
      expect(got.map((x) => (Object.is(x, -0) ? '-0' : x)), c.name).toEqual(want.map((x) => (Object.is(x, -0) ? '-0' : x)));
    }
    expect(types.filter((t) => t.name.endsWith('_n')).map((t) => t.type)).toEqual([
      'INT32 INT(16,signed)',
      'INT32',
      'INT64',
      'FLOAT',
      'DOUBLE',
      'BOOLEAN',
      'BYTE_ARRAY STRING',
      'BYTE_ARRAY',
      'INT32 DATE',
      'INT64 TIMESTAMP(MICROS,UTC)',
      'INT32 DECIMAL(9,2)',
      'INT64 DECIMAL(18,4)',
      'FIXED_LEN_BYTE_ARRAY DECIMAL(38,6)',
    ]);
    const md = metadataOf(bytes);
    expect(md.num_rows).toBe(138n);
    expect(md.row_groups.map((g) => g.num_rows)).toEqual([37n, 100n, 1n]);
    expect(md.key_value_metadata).toEqual([{ key: 'soundlake.table', value: 't' }]);
  });

  it('gives every chunk its null count and the min and max of its values, leaving NaN out and widening zeros', () => {
    // Six rows in every column.
    const doubles = [[2.5, Number.NaN, null, 0, -7.25, 0]];
    const floats = [[Number.NaN, null, Number.NaN, Number.NaN, Number.NaN, Number.NaN]];
    const ints = [[5, null, -3, 9, 0, 1]];
    const longs = [[-(2n ** 40n), 3n, null, 2n ** 33n, 0n, -1n]];
    const strings = [['pear', 'apple', null, 'zebra', 'apple', 'pear']];
    const longStrings = [['x'.repeat(65), 'y', 'y', 'y', 'y', 'y']];
    const bools = [[true, true, null, true, true, true]];
    const bytes = write([
      { name: 'd', parquet: { kind: 'double' }, nullable: true, values: doubles },
      { name: 'f', parquet: { kind: 'float' }, nullable: true, values: floats },
      { name: 'i', parquet: { kind: 'int32' }, nullable: true, values: ints },
      { name: 'l', parquet: { kind: 'int64' }, nullable: true, values: longs },
      { name: 's', parquet: { kind: 'string' }, nullable: true, values: strings },
      { name: 'w', parquet: { kind: 'string' }, nullable: false, values: longStrings },
      { name: 'b', parquet: { kind: 'boolean' }, nullable: true, values: bools },
    ]);
    const stats = metadataOf(bytes).row_groups[0]!.columns.map((c) => c.meta_data!.statistics!);
    expect(stats.map((s) => s.null_count)).toEqual([1n, 1n, 1n, 1n, 1n, 0n, 1n]);
    // Doubles: -7.25..2.5 over the non-NaN values; the zero in the data makes no bound -0 or +0 here.
    expect([stats[0]!.min_value, stats[0]!.max_value]).toEqual([-7.25, 2.5]);
    // Floats: only NaN and null, so no bounds at all.
    expect([stats[1]!.min_value, stats[1]!.max_value]).toEqual([undefined, undefined]);
    expect([stats[2]!.min_value, stats[2]!.max_value]).toEqual([-3, 9]);
    expect([stats[3]!.min_value, stats[3]!.max_value]).toEqual([-(2n ** 40n), 2n ** 33n]);
    expect([stats[4]!.min_value, stats[4]!.max_value]).toEqual(['apple', 'zebra']);
    expect([stats[5]!.min_value, stats[5]!.max_value]).toEqual([undefined, undefined]);
    expect([stats[6]!.min_value, stats[6]!.max_value]).toEqual([true, true]);

    // 64-bit bounds that differ only in the low word, on both sides of its top bit (compared as
    // unsigned under a signed high word): positive and negative high words.
    const lowWords = (values: bigint[]): unknown[] => {
      const s = metadataOf(write([{ name: 'l', parquet: { kind: 'int64' }, nullable: false, values: [values] }])).row_groups[0]!.columns[0]!.meta_data!.statistics!;
      return [s.min_value, s.max_value];
    };
    expect(lowWords([2n ** 31n + 5n, 7n, 2n ** 32n - 1n, 2n ** 31n - 1n, 2n ** 31n])).toEqual([7n, 2n ** 32n - 1n]);
    expect(lowWords([-1n, -(2n ** 31n) - 1n, -(2n ** 32n), -(2n ** 31n)])).toEqual([-(2n ** 32n), -1n]);
    expect(lowWords([2n ** 32n + 2n ** 31n, 2n ** 32n + 1n, 2n ** 33n - 1n])).toEqual([2n ** 32n + 1n, 2n ** 33n - 1n]);

    const zeros = metadataOf(write([{ name: 'z', parquet: { kind: 'double' }, nullable: false, values: [[0, 1, 0]] }])).row_groups[0]!.columns[0]!.meta_data!.statistics!;
    expect(Object.is(zeros.min_value, -0)).toBe(true);
    expect(Object.is(zeros.max_value, 1)).toBe(true);
  });

  it('dictionary-encodes repeating strings, and writes a mostly distinct column plain from then on', async () => {
    const repeating = Array.from({ length: 3 }, (_, g) => Array.from({ length: 5000 }, (_, i) => ['mobile', 'desktop', 'tv'][(i + g) % 3]!));
    const distinct = Array.from({ length: 3 }, (_, g) => Array.from({ length: 5000 }, (_, i) => `user-${g}-${i}`));
    const bytes = write([
      { name: 'device', parquet: { kind: 'string' }, nullable: false, values: repeating },
      { name: 'user', parquet: { kind: 'string' }, nullable: false, values: distinct },
    ]);
    const md = metadataOf(bytes);
    for (const g of md.row_groups) {
      expect(g.columns[0]!.meta_data!.encodings).toContain('RLE_DICTIONARY');
      expect(g.columns[0]!.meta_data!.dictionary_page_offset).toBeDefined();
      expect(g.columns[1]!.meta_data!.encodings).not.toContain('RLE_DICTIONARY');
    }
    const { rows } = await readParquetBytes(bytes);
    expect(rows.map((r) => r.device)).toEqual(repeating.flat());
    expect(rows.map((r) => r.user)).toEqual(distinct.flat());
  });

  it('encodes long runs and short ones of nulls and of dictionary values, and one distinct value, exactly', async () => {
    // Runs of 1..37 rows in a scrambled order, alternating nulls and values: RLE runs and
    // bit-packed groups side by side, runs starting at any position within a group of 8.
    const values: (string | null)[] = [];
    for (let k = 0; values.length < 3001; k++) {
      const run = ((k * 13) % 37) + 1;
      for (let r = 0; r < run; r++) values.push(k % 2 ? null : `v${k % 5}`);
    }
    const single = values.map(() => 'only');
    const bytes = write([
      { name: 'runs', parquet: { kind: 'string' }, nullable: true, values: [values] },
      { name: 'single', parquet: { kind: 'string' }, nullable: false, values: [single] },
    ]);
    const { rows } = await readParquetBytes(bytes);
    expect(rows.map((r) => r.runs)).toEqual(values);
    expect(rows.map((r) => r.single)).toEqual(single);
  });

  it('writes columns of nothing but nulls, with a null count and no bounds', async () => {
    const columns = KINDS.map((t) => ({ name: `${t.kind}${t.precision ?? ''}`, parquet: t, nullable: true, values: [Array.from({ length: 10 }, () => null)] }));
    const bytes = write(columns);
    const { rows } = await readParquetBytes(bytes);
    expect(rows).toHaveLength(10);
    for (const r of rows) expect(Object.values(r).every((v) => v === null)).toBe(true);
    for (const c of metadataOf(bytes).row_groups[0]!.columns) {
      expect(c.meta_data!.statistics!.null_count).toBe(10n);
      expect(c.meta_data!.statistics!.min_value).toBeUndefined();
    }
  });

  it('refuses a null in a column declared NOT NULL, naming the column', () => {
    expect(() => write([{ name: 'user_id', parquet: { kind: 'int32' }, nullable: false, values: [[1, null]] }])).toThrow(/column user_id: 1 null value\(s\) in a column declared NOT NULL/);
  });

  it('writes a file without row groups that readers open as empty', async () => {
    const bytes = write([{ name: 'id', parquet: { kind: 'int64' }, nullable: false, values: [] }]);
    expect(metadataOf(bytes).num_rows).toBe(0n);
    expect((await readParquetBytes(bytes)).rows).toEqual([]);
  });
});
