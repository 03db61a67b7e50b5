import type { SourceColumn } from '../source/source.js';

/**
 * Rows turned into columns that cross a worker boundary cheaply: numbers and 64-bit values in
 * typed arrays (transferred, not copied) with a null mask, everything else as plain arrays.
 */
export type ColumnPayload =
  | { kind: 'int32'; values: Int32Array; nulls: Uint8Array | null }
  | { kind: 'int64'; values: BigInt64Array; nulls: Uint8Array | null }
  | { kind: 'float64'; values: Float64Array; nulls: Uint8Array | null }
  | { kind: 'bool'; values: Uint8Array; nulls: Uint8Array | null }
  | { kind: 'plain'; values: unknown[] };

type Encoding = ColumnPayload['kind'];

export function payloadKind(column: SourceColumn): Encoding {
  const p = column.parquet;
  switch (p.kind) {
    case 'int16':
    case 'int32':
    case 'date':
      return 'int32';
    case 'int64':
    case 'timestamp':
      return 'int64';
    case 'decimal':
      // Unscaled values of up to 18 digits fit a signed 64-bit integer.
      return (p.precision ?? 38) <= 18 ? 'int64' : 'plain';
    case 'float':
    case 'double':
      return 'float64';
    case 'boolean':
      return 'bool';
    default:
      return 'plain';
  }
}

type TypedKind = Exclude<Encoding, 'plain'>;
type TypedArray = Int32Array | BigInt64Array | Float64Array | Uint8Array;

const TYPED: Record<TypedKind, (n: number) => TypedArray> = {
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
  float64: (n) => new Float64Array(n),
  bool: (n) => new Uint8Array(n),
};

const STORE: Record<TypedKind, (a: TypedArray, i: number, v: unknown) => void> = {
  int32: (a, i, v) => void ((a as Int32Array)[i] = v as number),
  int64: (a, i, v) => void ((a as BigInt64Array)[i] = v as bigint),
  float64: (a, i, v) => void ((a as Float64Array)[i] = v as number),
  bool: (a, i, v) => void ((a as Uint8Array)[i] = v ? 1 : 0),
};

/** Transpose `count` rows starting at `from` into column payloads; returns the buffers to transfer too. */
export function rowsToColumns(kinds: Encoding[], rows: unknown[][], from = 0, count = rows.length - from): { columns: ColumnPayload[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const columns = kinds.map((kind, j): ColumnPayload => {
    if (kind === 'plain') {
      const values = new Array<unknown>(count);
      for (let i = 0; i < count; i++) values[i] = rows[from + i]![j];
      return { kind, values };
    }
    let nulls: Uint8Array | null = null;
    const typed = TYPED[kind](count);
    const store = STORE[kind];
    for (let i = 0; i < count; i++) {
      const v = rows[from + i]![j];
      if (v === null || v === undefined) {
        nulls ??= new Uint8Array(count);
        nulls[i] = 1;
      } else store(typed, i, v);
    }
    transfer.push(typed.buffer as ArrayBuffer);
    if (nulls) transfer.push((nulls as Uint8Array).buffer as ArrayBuffer);
    return { kind, values: typed, nulls } as ColumnPayload;
  });
  return { columns, transfer };
}

/** Back to the arrays the Parquet writer takes: nulls as null, booleans as booleans. */
export function columnToData(payload: ColumnPayload): unknown[] | Int32Array | Float64Array | BigInt64Array {
  if (payload.kind === 'plain') return payload.values;
  const { values, nulls } = payload;
  if (payload.kind === 'bool') {
    const out = new Array<boolean | null>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = nulls?.[i] ? null : values[i] === 1;
    return out;
  }
  // Without nulls the typed array goes straight to the writer, which reads it like an array.
  if (!nulls) return payload.values;
  const out = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = nulls[i] ? null : values[i];
  return out;
}
