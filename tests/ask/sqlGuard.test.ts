import { describe, expect, it } from 'vitest';
import { allowList, goldCatalog } from '../../shared/ask/goldCatalog.js';
import { guardSql, type GuardPolicy } from '../../shared/ask/sqlGuard.js';
import { GOOD_QUERIES, HOSTILE_CASES } from './sqlCases.js';

const policy: GuardPolicy = { allow: allowList(goldCatalog), catalog: 'spark_catalog', maxRows: 50 };

describe('the SQL guard', () => {
  it('has at least 40 hostile cases, each with its own marker', () => {
    expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE_CASES.map((c) => [c.id, c] as const))('refuses %s for the right reason', async (_id, c) => {
    const verdict = await guardSql(c.sql, policy);
    expect(verdict, c.sql).toMatchObject({ allowed: false, code: c.code });
    if (!verdict.allowed) expect(verdict.reason.toLowerCase(), c.sql).toContain(c.mentions.toLowerCase());
  });

  it.each(GOOD_QUERIES.map((q, i) => [i, q] as const))('allows good query %i and caps its rows', async (_i, sql) => {
    const verdict = await guardSql(sql, policy);
    expect(verdict, sql).toMatchObject({ allowed: true });
    if (!verdict.allowed) return;
    expect(verdict.executed).toMatch(/^SELECT \* FROM \(\n[\s\S]+\n\) AS soundlake_answer LIMIT 51$/);
    expect(verdict.executed).not.toMatch(/;\s*\n\)/);
    expect(verdict.tables.length).toBeGreaterThan(0);
  });

  it('hides a column only from the question box, and denies what the allow-list does not name', async () => {
    const open: GuardPolicy = { ...policy, allow: allowList(goldCatalog, []) };
    expect(await guardSql('SELECT user_name FROM gold.dim_user', open)).toMatchObject({ allowed: true });
    const narrow = allowList(goldCatalog);
    narrow.tables.delete('dim_date');
    expect(await guardSql('SELECT year FROM gold.dim_date', { ...policy, allow: narrow })).toMatchObject({ allowed: false, code: 'table_not_allowed' });
  });

  it('accepts the configured catalog in three-part names and no other', async () => {
    const azure: GuardPolicy = { ...policy, catalog: 'soundlake' };
    expect(await guardSql('SELECT count(*) FROM soundlake.gold.fact_stream', azure)).toMatchObject({ allowed: true });
    expect(await guardSql('SELECT count(*) FROM soundlake_dev.gold.fact_stream', azure)).toMatchObject({ allowed: false, code: 'table_not_allowed' });
  });

  it('refuses text longer than the limit before parsing it', async () => {
    const long = `SELECT ${'stream_id + '.repeat(3000)}1 FROM gold.fact_stream`;
    expect(await guardSql(long, { ...policy, maxLength: 20_000 })).toMatchObject({ allowed: false, code: 'too_long' });
  });
});
