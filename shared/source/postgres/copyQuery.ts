import type pg from 'pg';
import { quotePostgres } from '../../config/identifiers.js';
import type { ColumnarReadRequest } from '../source.js';
import { planKeys, SourceError } from '../source.js';
import type { DecodedColumn } from './copyBinaryDecoder.js';
import { binaryDecoding } from './copyBinaryDecoder.js';
import { slicePredicate } from './slicePredicate.js';
import { typedLiteral } from './sqlLiteral.js';
import { textTypeParsers } from './postgresTypes.js';

/** What the COPY decoder needs to know of a read, and the statement that produces it. */
export interface CopyPlan {
  sql: string;
  columns: DecodedColumn[];
  appendedKeys: DecodedColumn[];
  keys: { column: number; appended: boolean }[];
}

interface CatalogueType {
  typname: string;
  /** format_type(oid, NULL): how a literal is cast to the column's type. */
  castType: string;
}

/**
 * The types of a table's columns as the COPY read needs them: the type's name (which binary
 * decoding applies) and its spelling for a cast. Read per read, so a column retyped since
 * describe() is caught by the decoder's width checks rather than trusted.
 */
async function catalogueTypes(client: pg.PoolClient, request: ColumnarReadRequest): Promise<Map<string, CatalogueType>> {
  const result = await client.query({
    text: `SELECT a.attname AS name, t.typname, format_type(a.atttypid, NULL) AS cast_type
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    values: [request.table.schema, request.table.table],
    types: textTypeParsers,
  });
  return new Map(result.rows.map((r: Record<string, string>) => [r.name!, { typname: r.typname!, castType: r.cast_type! }]));
}

/**
 * `COPY (SELECT ... ORDER BY key) TO STDOUT (FORMAT binary)` for a read. Columns whose binary
 * form the decoder knows are sent as they are; any other type is sent as its text output
 * (`format('%s', c)` calls the type's output function, as the text protocol does; a plain
 * `::text` cast differs for some types, e.g. inet), under the session settings the cursor path
 * uses. Primary-key columns that are not integers or text are appended as `::text`, as on the
 * cursor path, for the keyset cursor. Bounds and keyset values are typed literals.
 */
export async function copyPlan(client: pg.PoolClient, request: ColumnarReadRequest): Promise<CopyPlan> {
  const { table, columns, primaryKey } = request;
  const types = await catalogueTypes(client, request);
  const typeOf = (name: string): CatalogueType => {
    const t = types.get(name);
    if (!t) throw new SourceError(`postgres source: column ${name} of ${table.schema}.${table.table} no longer exists`);
    return t;
  };
  const select: string[] = [];
  const decoded: DecodedColumn[] = columns.map((c) => {
    const { typname } = typeOf(c.name);
    const q = quotePostgres(c.name);
    const decoding = binaryDecoding(typname, c.parquet.kind);
    if (decoding) {
      select.push(q);
      return { name: c.name, kind: c.parquet.kind, decoding, precision: c.parquet.precision, scale: c.parquet.scale, zoned: typname === 'timestamptz' };
    }
    if (c.parquet.kind !== 'string') throw new SourceError(`postgres source: column ${c.name} (${typname}) cannot be read as ${c.parquet.kind}`);
    // format() prints NULL as an empty string: NULL must stay NULL.
    select.push(`CASE WHEN ${q} IS NULL THEN NULL ELSE format('%s', ${q}) END`);
    return { name: c.name, kind: 'string', decoding: 'text' };
  });
  const plan = planKeys(columns, primaryKey);
  const appendedKeys: DecodedColumn[] = plan.appended.map((k, i) => {
    select.push(`${quotePostgres(k)}::text AS "__soundlake_key${i}"`);
    return { name: k, kind: 'string', decoding: 'text' };
  });
  const keys = primaryKey.map((k) => {
    const appended = plan.appended.indexOf(k);
    return appended >= 0 ? { column: appended, appended: true } : { column: columns.findIndex((c) => c.name === k), appended: false };
  });

  const literal = (column: string) => (text: string) => typedLiteral(text, typeOf(column).castType);
  const where = slicePredicate(request.watermark, request.bounds, literal(request.watermark.column));
  const keyList = primaryKey.map(quotePostgres).join(', ');
  let keyset = request.after ? ` AND (${keyList}) > (${request.after.map((v, i) => literal(primaryKey[i]!)(v)).join(', ')})` : '';
  // A key range's inclusive end (ranged initial loads).
  if (request.until) keyset += ` AND (${keyList}) <= (${request.until.map((v, i) => literal(primaryKey[i]!)(v)).join(', ')})`;
  const qualified = `${quotePostgres(table.schema)}.${quotePostgres(table.table)}`;
  const sql = `COPY (SELECT ${select.join(', ')} FROM ${qualified} WHERE ${where}${keyset} ORDER BY ${keyList}) TO STDOUT (FORMAT binary)`;
  return { sql, columns: decoded, appendedKeys, keys };
}
