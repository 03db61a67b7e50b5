import mssql from 'mssql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import { mssqlConfigFromUrl } from '../../shared/source/mssql/mssqlConnection.js';
import { MssqlSource } from '../../shared/source/mssql/mssqlSource.js';
import { PostgresSource } from '../../shared/source/postgres/postgresSource.js';
import type { RowBatch, Source, TableRef } from '../../shared/source/source.js';
import { testId } from '../support/harness.js';

/**
 * One contract for every source adapter: the same behaviour from PGlite/Postgres always, and from
 * SQL Server when MSSQL_TEST_URL names one (a database with READ_COMMITTED_SNAPSHOT on, e.g. mssql://sa:...@127.0.0.1:1433/soundlake_test?trustServerCertificate=true).
 */
interface Fixture {
  source: Source;
  schema: string;
  /** Create `name(id int, k2 int, payload nvarchar, updated_at timestamp)` with pk (id, k2) and rows id 1..n. */
  createEvents(name: string, n: number): Promise<void>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function postgresFixture(): Promise<Fixture> {
  const schema = `c_${testId()}`;
  const db = new pg.Client({ connectionString: inject('postgresUrl') });
  await db.connect();
  await db.query(`CREATE SCHEMA ${schema}`);
  return {
    source: new PostgresSource({ url: inject('postgresUrl') }),
    schema,
    createEvents: async (name, n) => {
      await db.query(`CREATE TABLE ${schema}.${name} (id integer, k2 integer, payload text, updated_at timestamptz NOT NULL, PRIMARY KEY (id, k2))`);
      if (n > 0) await db.query(`INSERT INTO ${schema}.${name} SELECT i, i % 3, 'p' || i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${n}) i`);
    },
    exec: async (sql) => {
      await db.query(sql.replaceAll('$schema', schema));
    },
    close: async () => {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.end();
    },
  };
}

async function mssqlFixture(url: string): Promise<Fixture> {
  const schema = `c_${testId()}`;
  const source = new MssqlSource({ url });
  const pool = await new mssql.ConnectionPool(mssqlConfigFromUrl(url)).connect();
  await pool.request().batch(`CREATE SCHEMA ${schema}`);
  return {
    source,
    schema,
    createEvents: async (name, n) => {
      await pool.request().batch(`CREATE TABLE ${schema}.${name} (id int NOT NULL, k2 int NOT NULL, payload nvarchar(100), updated_at datetime2(7) NOT NULL, PRIMARY KEY (id, k2))`);
      if (n > 0) {
        await pool.request().batch(`WITH n AS (SELECT TOP (${n}) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_objects a CROSS JOIN sys.all_objects b)
          INSERT INTO ${schema}.${name} SELECT i, i % 3, CONCAT(N'p', i), DATEADD(second, i, CAST('2026-01-01' AS datetime2(7))) FROM n`);
      }
    },
    exec: async (sql) => {
      await pool.request().batch(sql.replaceAll('$schema', schema));
    },
    close: async () => {
      await pool.request().batch(`DECLARE @s nvarchar(max) = N''; SELECT @s += N'DROP TABLE ${schema}.' + QUOTENAME(name) + N';' FROM sys.tables WHERE schema_id = SCHEMA_ID('${schema}'); EXEC(@s); DROP SCHEMA ${schema};`);
      await pool.close();
      await source.close();
    },
  };
}

const adapters: { name: string; make: () => Promise<Fixture>; skip?: string }[] = [
  { name: 'postgres (pg)', make: postgresFixture },
  {
    name: 'mssql',
    make: () => mssqlFixture(process.env.MSSQL_TEST_URL!),
    ...(process.env.MSSQL_TEST_URL ? {} : { skip: 'MSSQL_TEST_URL is not set: no SQL Server can run on this machine' }),
  },
];

for (const adapter of adapters) {
  if (adapter.skip) {
    describe.skip(`source contract: ${adapter.name} (skipped: ${adapter.skip})`, () => {
      it('runs when a SQL Server is available', () => undefined);
    });
    // Say why out loud, not only in the skip list.
    console.warn(`source contract for ${adapter.name} skipped: ${adapter.skip}`);
    continue;
  }
  describe(`source contract: ${adapter.name}`, () => {
    let f: Fixture;
    const ref = (table: string): TableRef => ({ schema: f.schema, table });
    const wm = { column: 'updated_at', kind: 'timestamp' as const };
    const drain = async (it: AsyncIterable<RowBatch>): Promise<{ rows: unknown[][]; last: string[] | null }> => {
      const rows: unknown[][] = [];
      let last: string[] | null = null;
      for await (const b of it) {
        rows.push(...b.rows.map((r) => r.slice(0, 4)));
        last = b.key(b.rows[b.rows.length - 1]!);
      }
      return { rows, last };
    };

    beforeAll(async () => {
      f = await adapter.make();
      await f.createEvents('events', 250);
      await f.createEvents('empty', 0);
    });
    afterAll(async () => {
      await f?.source.close();
      await f?.close();
    });

    it('describes columns in table order and refuses unknown tables', async () => {
      const cols = await f.source.describe(ref('events'));
      expect(cols.map((c) => [c.name, c.parquet.kind, c.nullable])).toEqual([
        ['id', 'int32', false],
        ['k2', 'int32', false],
        ['payload', 'string', true],
        ['updated_at', 'timestamp', false],
      ]);
      await expect(f.source.describe(ref('nope'))).rejects.toThrow(/not found/);
    });

    it('gives a safe upper bound: null when empty, MAX without lag, capped by now - lag', async () => {
      expect(await f.source.safeUpperBound(ref('empty'), wm, 0)).toBeNull();
      const high = await f.source.safeUpperBound(ref('events'), wm, 0);
      expect(high).toMatch(/^2026-01-01 00:04:10(\.0+)?(\+00(:00)?)?$/);
      await f.exec(`INSERT INTO $schema.events (id, k2, payload, updated_at) VALUES (9999, 0, 'future', '2999-01-01')`);
      const capped = await f.source.safeUpperBound(ref('events'), wm, 60);
      expect(capped! < '2999').toBe(true);
      expect(capped! > '2026-01-02').toBe(true);
      await f.exec(`DELETE FROM $schema.events WHERE id = 9999`);
    });

    it('knows whether a slice has rows, comparing in the column type', async () => {
      expect(await f.source.hasRows(ref('events'), wm, { low: null, high: '2026-01-01 00:00:01' })).toBe(true);
      expect(await f.source.hasRows(ref('events'), wm, { low: '2026-01-01 00:04:10', high: '2026-02-01 00:00:00' })).toBe(false);
      expect(await f.source.hasRows(ref('events'), wm, { low: '2026-01-01 00:04:09.999999', high: '2026-01-01 00:04:10' })).toBe(true);
    });

    it('streams a slice in primary-key order and resumes exactly after a composite key', async () => {
      const columns = await f.source.describe(ref('events'));
      const read = (after: string[] | null, low: string | null = null) =>
        f.source.read({ table: ref('events'), columns, watermark: wm, primaryKey: ['id', 'k2'], bounds: { low, high: '2026-01-01 00:04:10' }, after, batchRows: 64 });
      const all = await drain(read(null));
      expect(all.rows.map((r) => r[0])).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
      expect(all.last).toEqual(['250', '1']);
      const tail = await drain(read(['200', '2']));
      expect(tail.rows.map((r) => r[0])).toEqual(Array.from({ length: 50 }, (_, i) => i + 201));
      const slice = await drain(read(null, '2026-01-01 00:04:00'));
      expect(slice.rows.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => i + 241));
      const micros = slice.rows[0]![3] as bigint;
      expect(micros).toBe(BigInt(Date.UTC(2026, 0, 1, 0, 4, 1)) * 1000n);
    });

    it('reads key ranges that together are the slice, each row once', async () => {
      const columns = await f.source.describe(ref('events'));
      const read = (after: string[] | null, until: string[] | null) =>
        drain(f.source.read({ table: ref('events'), columns, watermark: wm, primaryKey: ['id', 'k2'], bounds: { low: null, high: '2030-01-01' }, after, until, batchRows: 64 }));
      const cuts: (string[] | null)[] = [null, ['80', '2'], ['81', '0'], ['200', '2'], null];
      const ids: unknown[] = [];
      for (let r = 0; r + 1 < cuts.length; r++) ids.push(...(await read(cuts[r]!, cuts[r + 1]!)).rows.map((row) => row[0]));
      expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
      // The end is inclusive and compares the whole key: (80, 2) ends the first range with id 80.
      expect((await read(null, ['80', '2'])).last).toEqual(['80', '2']);
      expect((await read(['81', '0'], ['200', '2'])).rows).toHaveLength(119);
    });

    it('cuts a table into key ranges of about equal rows, or says it cannot', async () => {
      if (!f.source.splitKeys) return void console.warn(`${adapter.name} has no key splitting: it loads a table as one range`);
      const split = await f.source.splitKeys(ref('events'), ['id', 'k2'], 5);
      expect(split.estimatedRows).toBe(250);
      expect(split.boundaries).toHaveLength(4);
      // Strictly increasing cuts, about 50 rows apart.
      const ids = split.boundaries.map((b) => Number(b[0]));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      for (const [i, id] of ids.entries()) expect(Math.abs(id - 50 * (i + 1))).toBeLessThanOrEqual(5);
      expect(await f.source.splitKeys(ref('events'), ['id', 'k2'], 1)).toMatchObject({ boundaries: [] });
      expect(await f.source.splitKeys(ref('empty'), ['id', 'k2'], 4)).toMatchObject({ estimatedRows: 0, boundaries: [] });
    });

    it('stops cleanly when the reader breaks off early, and the connection is reusable', async () => {
      const columns = await f.source.describe(ref('events'));
      let seen = 0;
      for await (const b of f.source.read({ table: ref('events'), columns, watermark: wm, primaryKey: ['id', 'k2'], bounds: { low: null, high: '2030-01-01' }, after: null, batchRows: 10 })) {
        seen += b.rows.length;
        if (seen >= 30) break;
      }
      // Fetches are sized by the rows' width (the first is one row), so the break comes within one fetch of 30.
      expect(seen).toBeGreaterThanOrEqual(30);
      expect(seen).toBeLessThan(40);
      expect(await f.source.hasRows(ref('events'), wm, { low: null, high: '2030-01-01' })).toBe(true);
    });
  });
}
