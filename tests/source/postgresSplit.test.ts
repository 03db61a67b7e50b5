import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresSource } from '../../shared/source/postgres/postgresSource.js';
import { testId } from '../support/harness.js';

/**
 * Key ranges of a large table come out about equal. A block sample sized in rows read a handful
 * of pages of a table written in key order (each page a run of neighbouring keys), and its cuts
 * were off by a third of a range; sized in pages they are within a few percent.
 */
describe('PostgreSQL key ranges of a table larger than its sample', () => {
  const schema = `split_${testId()}`;
  const rows = 500_000;
  const db = new pg.Client({ connectionString: inject('postgresUrl') });
  const source = new PostgresSource({ url: inject('postgresUrl') });

  beforeAll(async () => {
    await db.connect();
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.events (id integer PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL)`);
    await db.query(`INSERT INTO ${schema}.events SELECT i, 'p' || i, TIMESTAMPTZ '2026-01-01' + i * INTERVAL '1 second' FROM generate_series(1, ${rows}) i`);
    await db.query(`ANALYZE ${schema}.events`);
  }, 120_000);
  afterAll(async () => {
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.end();
    await source.close();
  });

  it('cuts ranges of about equal rows from a sample of the pages', async () => {
    const pages = Number((await db.query(`SELECT relpages FROM pg_class WHERE oid = '${schema}.events'::regclass`)).rows[0].relpages);
    // More pages than the sample takes for three ranges, so the block sample itself is exercised.
    expect(pages).toBeGreaterThan(3_000);
    const split = await source.splitKeys({ schema, table: 'events' }, ['id'], 3);
    expect(split.estimate).toBe('statistics');
    expect(split.estimatedRows).toBe(rows);
    const cuts = split.boundaries.map((b) => Number(b[0]));
    expect(cuts).toHaveLength(2);
    const sizes = [cuts[0]!, cuts[1]! - cuts[0]!, rows - cuts[1]!];
    for (const size of sizes) expect(Math.abs(size - rows / 3) / (rows / 3)).toBeLessThan(0.15);
  });
});
