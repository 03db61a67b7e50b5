import type { ParquetType } from '../../source/parquetTypes.js';
import type { ThriftWriter } from './thriftCompact.js';

/** What the encoder needs to know of a column; plain data, so it crosses to the worker. */
export interface ColumnSpec {
  name: string;
  parquet: ParquetType;
  nullable: boolean;
}

// parquet.thrift enums.
export const enum PhysicalType {
  BOOLEAN = 0,
  INT32 = 1,
  INT64 = 2,
  FLOAT = 4,
  DOUBLE = 5,
  BYTE_ARRAY = 6,
  FIXED_LEN_BYTE_ARRAY = 7,
}
const enum ConvertedType {
  UTF8 = 0,
  DECIMAL = 5,
  DATE = 6,
  TIMESTAMP_MICROS = 10,
  INT_16 = 16,
}
const enum Repetition {
  REQUIRED = 0,
  OPTIONAL = 1,
}

/**
 * A column's physical type and annotations: the bronze contract of docs/bronze-layout.md, the
 * form arrow-rs gave the same Arrow types (so files of either writer read alike): DECIMAL(p,s)
 * on INT32 up to 9 digits, INT64 up to 18, else FIXED_LEN_BYTE_ARRAY of the fewest bytes that
 * hold p digits and a sign; TIMESTAMP(MICROS, UTC) on INT64; DATE on INT32; INT(16) on INT32.
 */
export interface Physical {
  type: PhysicalType;
  /** FIXED_LEN_BYTE_ARRAY only. */
  typeLength: number;
  converted: ConvertedType | null;
  /** LogicalType union: the arm's field id and its body. */
  logical: { id: number; body: (w: ThriftWriter) => void } | null;
}

const none = (): void => undefined;

export function decimalBytes(precision: number): number {
  return Math.ceil((precision * Math.log2(10) + 1) / 8);
}

export function physicalOf(t: ParquetType): Physical {
  const plain = (type: PhysicalType): Physical => ({ type, typeLength: 0, converted: null, logical: null });
  switch (t.kind) {
    case 'int16':
      return {
        type: PhysicalType.INT32,
        typeLength: 0,
        converted: ConvertedType.INT_16,
        logical: { id: 10, body: (w) => void w.i8(1, 16).bool(2, true) },
      };
    case 'int32':
      return plain(PhysicalType.INT32);
    case 'int64':
      return plain(PhysicalType.INT64);
    case 'float':
      return plain(PhysicalType.FLOAT);
    case 'double':
      return plain(PhysicalType.DOUBLE);
    case 'boolean':
      return plain(PhysicalType.BOOLEAN);
    case 'binary':
      return plain(PhysicalType.BYTE_ARRAY);
    case 'string':
      return { type: PhysicalType.BYTE_ARRAY, typeLength: 0, converted: ConvertedType.UTF8, logical: { id: 1, body: none } };
    case 'date':
      return { type: PhysicalType.INT32, typeLength: 0, converted: ConvertedType.DATE, logical: { id: 6, body: none } };
    case 'timestamp':
      return {
        type: PhysicalType.INT64,
        typeLength: 0,
        converted: ConvertedType.TIMESTAMP_MICROS,
        // TimestampType { isAdjustedToUTC: true, unit: TimeUnit { MICROS } }
        logical: { id: 8, body: (w) => void w.bool(1, true).struct(2, (u) => void u.struct(2, none)) },
      };
    case 'decimal': {
      const precision = t.precision ?? 38;
      const scale = t.scale ?? 0;
      const type = precision <= 9 ? PhysicalType.INT32 : precision <= 18 ? PhysicalType.INT64 : PhysicalType.FIXED_LEN_BYTE_ARRAY;
      return {
        type,
        typeLength: type === PhysicalType.FIXED_LEN_BYTE_ARRAY ? decimalBytes(precision) : 0,
        converted: ConvertedType.DECIMAL,
        logical: { id: 5, body: (w) => void w.i32(1, scale).i32(2, precision) },
      };
    }
  }
}

/** The footer's schema: a root group, then one leaf per column. */
export function writeSchema(w: ThriftWriter, fieldId: number, columns: ColumnSpec[]): void {
  const elements: (ColumnSpec | null)[] = [null, ...columns];
  w.list(fieldId, 'struct', elements, (l, c) =>
    l.elementStruct((s) => {
      if (c === null) {
        s.binary(4, 'schema').i32(5, columns.length);
        return;
      }
      const p = physicalOf(c.parquet);
      s.i32(1, p.type);
      if (p.typeLength) s.i32(2, p.typeLength);
      s.i32(3, c.nullable ? Repetition.OPTIONAL : Repetition.REQUIRED);
      s.binary(4, c.name);
      if (p.converted !== null) s.i32(6, p.converted);
      if (c.parquet.kind === 'decimal') s.i32(7, c.parquet.scale ?? 0).i32(8, c.parquet.precision ?? 38);
      if (p.logical) {
        const { id, body } = p.logical;
        s.struct(10, (u) => void u.struct(id, body));
      }
    }),
  );
}
