import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';

/**
 * An independent reader for bronze files: parquet-wasm is the Rust arrow-rs Parquet reader
 * compiled to WebAssembly, a different implementation from the writer we use. Values come back
 * exact: 64-bit integers, timestamps and decimals as bigint (timestamps in microseconds,
 * decimals unscaled), dates as day numbers, binaries as Buffer.
 */
export interface ParquetContents {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

function decimalToBigInt(words: Uint32Array, index: number, wordsPerValue: number): bigint {
  let v = 0n;
  for (let w = wordsPerValue - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[index * wordsPerValue + w]!);
  const bits = BigInt(wordsPerValue * 32);
  if (v >> (bits - 1n)) v -= 1n << bits;
  return v;
}

function cellReader(vector: arrow.Vector): (row: number) => unknown {
  const type = vector.type;
  const chunks = vector.data;
  const locate = (row: number): { data: arrow.Data; i: number } => {
    let i = row;
    for (const data of chunks) {
      if (i < data.length) return { data, i };
      i -= data.length;
    }
    throw new Error('row out of range');
  };
  return (row) => {
    if (!vector.isValid(row)) return null;
    const { data, i } = locate(row);
    const at = data.offset + i;
    if (arrow.DataType.isTimestamp(type)) {
      const unit = (type as arrow.Timestamp).unit;
      const raw = (data.values as unknown as BigInt64Array)[at]!;
      return unit === arrow.TimeUnit.MICROSECOND ? raw : unit === arrow.TimeUnit.MILLISECOND ? raw * 1000n : unit === arrow.TimeUnit.NANOSECOND ? raw / 1000n : raw * 1_000_000n;
    }
    if (arrow.DataType.isDecimal(type)) {
      const words = data.values as unknown as Uint32Array;
      return decimalToBigInt(words, at, (type as arrow.Decimal).bitWidth / 32);
    }
    if (arrow.DataType.isDate(type)) return (data.values as unknown as Int32Array)[at];
    if (arrow.DataType.isInt(type) && (type as arrow.Int).bitWidth === 64) return (data.values as unknown as BigInt64Array)[at];
    if (arrow.DataType.isBinary(type)) return Buffer.from(vector.get(row) as Uint8Array);
    return vector.get(row);
  };
}

export function readParquetBytes(bytes: Uint8Array): ParquetContents {
  const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  const fields = table.schema.fields;
  const readers = fields.map((f) => cellReader(table.getChild(f.name)!));
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, unknown> = {};
    fields.forEach((f, j) => (row[f.name] = readers[j]!(r)));
    rows.push(row);
  }
  const describe = (t: arrow.DataType): string =>
    arrow.DataType.isDecimal(t) ? `Decimal(${(t as arrow.Decimal).precision},${(t as arrow.Decimal).scale})` : String(t);
  return { columns: fields.map((f) => ({ name: f.name, type: describe(f.type) })), rows };
}
