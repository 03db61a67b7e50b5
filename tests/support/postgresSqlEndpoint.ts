import pg from 'pg';
import { goldCatalog } from '../../shared/ask/goldCatalog.js';
import { SqlExecutionError, type ExecuteOptions, type QueryResult, type SqlEndpoint } from '../../shared/ask/sqlEndpoint.js';

/**
 * A real SQL engine for the question box where starting Spark's Thrift server is not worth it
 * (the browser test): Postgres (the suite's PGlite, or TEST_POSTGRES_URL) holding a small
 * gold-shaped table set in schema `gold`. The checked SQL runs as it is; Spark-only syntax would
 * fail here, so the queries a test sends are the common subset (joins, GROUP BY, CAST, ORDER BY).
 */
const TYPE_NAMES: Record<number, string> = { 16: 'boolean', 20: 'bigint', 21: 'smallint', 23: 'int', 700: 'float', 701: 'double', 1700: 'decimal', 25: 'string', 1043: 'string', 1082: 'date', 1114: 'timestamp', 1184: 'timestamp' };

const types = {
  getTypeParser: (oid: number) => {
    // Numbers as numbers (Spark's JSON does), dates and times as their text.
    if (oid === 20 || oid === 21 || oid === 23 || oid === 700 || oid === 701 || oid === 1700) return (v: string) => Number(v);
    if (oid === 16) return (v: string) => v === 't';
    return (v: string) => v;
  },
};

export async function createPostgresSqlEndpoint(url: string): Promise<SqlEndpoint> {
  const client = new pg.Client({ connectionString: url, types } as pg.ClientConfig);
  await client.connect();
  return {
    kind: 'local-thrift',
    async execute(sql: string, options: ExecuteOptions): Promise<QueryResult> {
      try {
        const result = await client.query({ text: sql, rowMode: 'array', types } as pg.QueryArrayConfig);
        return { columns: result.fields.map((f) => ({ name: f.name, type: TYPE_NAMES[f.dataTypeID] ?? 'string' })), rows: (result.rows as unknown[][]).slice(0, options.maxRows) };
      } catch (err) {
        throw new SqlExecutionError('rejected', (err as Error).message);
      }
    },
    close: () => client.end(),
  };
}

const PG_TYPES: Record<string, string> = { bigint: 'bigint', int: 'integer', string: 'text', timestamp: 'timestamp', date: 'date', boolean: 'boolean', double: 'double precision' };

/**
 * Every gold table of the generated catalogue (the conditional Spotify facts too), empty, in
 * `schema` (column names as Postgres folds them). `schema` is a test's own literal name.
 */
export async function createGoldSchema(db: pg.Client, schema = 'gold'): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.query(`CREATE SCHEMA ${schema}`);
  for (const t of goldCatalog.tables) {
    const cols = t.columns.map((c) => `${c.name.toLowerCase()} ${PG_TYPES[c.type] ?? (c.type.startsWith('decimal') ? c.type.replace('decimal', 'numeric') : 'text')}`);
    await db.query(`CREATE TABLE ${schema}.${t.name} (${cols.join(', ')})`);
  }
}
