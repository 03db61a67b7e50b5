import type { Arrow } from './arrowLib.js';
import { arrow } from './arrowLib.js';
import type { ParquetType } from '../source/parquetTypes.js';
import type { ColumnPayload } from './columnBatch.js';

/** What the encoder needs to know of a column; plain data, so it crosses to the worker. */
export interface ColumnSpec {
  name: string;
  parquet: ParquetType;
  nullable: boolean;
}

/**
 * The Arrow type whose Parquet form (as arrow-rs writes it) is the bronze contract in
 * docs/bronze-layout.md: DECIMAL(p,s) on INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision,
 * TIMESTAMP(MICROS, UTC), DATE, INT32 annotated INT(16) for smallints.
 */
export function arrowType(type: ParquetType): Arrow.DataType {
  switch (type.kind) {
    case 'int16':
      return new arrow.Int16();
    case 'int32':
      return new arrow.Int32();
    case 'int64':
      return new arrow.Int64();
    case 'float':
      return new arrow.Float32();
    case 'double':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'string':
      return new arrow.Utf8();
    case 'binary':
      return new arrow.Binary();
    case 'date':
      return new arrow.DateDay();
    case 'timestamp':
      return new arrow.TimestampMicrosecond('UTC');
    case 'decimal':
      return new arrow.Decimal(type.scale ?? 0, type.precision ?? 38, 128);
  }
}

export function arrowSchema(columns: ColumnSpec[]): Arrow.Schema {
  return new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowType(c.parquet), c.nullable)));
}

function columnData(type: Arrow.DataType, payload: ColumnPayload, length: number): Arrow.Data {
  const nulls = { nullBitmap: payload.validity ?? undefined, nullCount: payload.nulls } as const;
  switch (payload.layout) {
    case 'bytes':
      return arrow.makeData({ type: type as Arrow.Utf8, length, valueOffsets: payload.offsets, data: payload.data, ...nulls });
    case 'decimal':
      return arrow.makeData({ type: type as Arrow.Decimal, length, data: new Uint32Array(payload.values.buffer, payload.values.byteOffset, length * 4), ...nulls });
    default:
      return arrow.makeData({ type: type as Arrow.Int32, length, data: payload.values as Int32Array, ...nulls });
  }
}

/** Wraps the transferred buffers as an Arrow record batch: no value is copied. */
export function toRecordBatch(schema: Arrow.Schema, columns: ColumnPayload[], length: number): Arrow.RecordBatch {
  const children = schema.fields.map((f, j) => columnData(f.type, columns[j]!, length));
  return new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length, children }));
}
