import type { FileMetaData, SchemaElement } from 'hyparquet';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

/**
 * An independent reader for bronze files: hyparquet is a pure-JavaScript Parquet reader, a
 * different implementation from the writer (shared/bronze/parquet/). Values come back exact:
 * the reader is handed the schema without its logical annotations, so it returns the physical
 * values, and this module decodes them from the annotations it kept. 64-bit integers,
 * timestamps and decimals come back as bigint (timestamps in microseconds, decimals unscaled),
 * dates as day numbers, binaries as Buffer, strings through a strict UTF-8 decoder.
 */
export interface ParquetContents {
  /** Parquet types as the footer declares them, e.g. `INT64 TIMESTAMP(MICROS,UTC)`. */
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describe(e: SchemaElement): string {
  const l = e.logical_type;
  const logical =
    l?.type === 'DECIMAL'
      ? `DECIMAL(${l.precision},${l.scale})`
      : l?.type === 'TIMESTAMP'
        ? `TIMESTAMP(${l.unit},${l.isAdjustedToUTC ? 'UTC' : 'local'})`
        : l?.type === 'INTEGER'
          ? `INT(${l.bitWidth},${l.isSigned ? 'signed' : 'unsigned'})`
          : (l?.type ?? e.converted_type);
  return logical ? `${e.type} ${logical}` : String(e.type);
}

/** Big-endian two's complement, as FIXED_LEN_BYTE_ARRAY decimals are stored. */
function signedBigEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  const bits = BigInt(bytes.length * 8);
  return v >> (bits - 1n) ? v - (1n << bits) : v;
}

function decoder(e: SchemaElement): (raw: unknown) => unknown {
  const l = e.logical_type;
  if (l?.type === 'DECIMAL' || e.converted_type === 'DECIMAL') return (raw) => (raw instanceof Uint8Array ? signedBigEndian(raw) : BigInt(raw as number | bigint));
  if (l?.type === 'TIMESTAMP') {
    const unit = l.unit;
    return (raw) => (unit === 'MICROS' ? raw : unit === 'MILLIS' ? (raw as bigint) * 1000n : (raw as bigint) / 1000n);
  }
  if (l?.type === 'STRING' || e.converted_type === 'UTF8') return (raw) => utf8.decode(raw as Uint8Array);
  if (e.type === 'BYTE_ARRAY' || e.type === 'FIXED_LEN_BYTE_ARRAY') return (raw) => Buffer.from(raw as Uint8Array);
  return (raw) => raw;
}

export async function readParquetBytes(bytes: Uint8Array): Promise<ParquetContents> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const leaves = metadata.schema.slice(1);
  const physical: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map(({ converted_type: _c, logical_type: _l, ...rest }) => rest as SchemaElement),
  };
  const raw = (await parquetReadObjects({ file, metadata: physical, utf8: false })) as Record<string, unknown>[];
  const decoders = leaves.map((e) => [e.name, decoder(e)] as const);
  const rows = raw.map((r) => {
    const row: Record<string, unknown> = {};
    for (const [name, decode] of decoders) row[name] = r[name] === null || r[name] === undefined ? null : decode(r[name]);
    return row;
  });
  return { columns: leaves.map((e) => ({ name: e.name, type: describe(e) })), rows };
}
