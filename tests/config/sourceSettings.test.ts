import { describe, expect, it } from 'vitest';
import { ConfigError, parsePipelineConfig } from '../../shared/config/pipelineConfig.js';
import { resolveColumns, TableSetupError } from '../../shared/extract/tableColumns.js';
import { mssqlConfigFromUrl } from '../../shared/source/mssql/mssqlConnection.js';
import type { SourceColumn } from '../../shared/source/source.js';

/** Source settings that the SQL Server work added: a table's time zone and the pool size. */

const table = (extra: string): string => `
version: 1
tables:
  - name: dim_users
    source:
      schema: dbo
      table: dim_users
${extra}
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [user_id]`;

describe('timeZone in soundlake.yaml', () => {
  it('keeps a time zone per table and leaves it out when unset', () => {
    const [zoned] = parsePipelineConfig(table('      timeZone: W. Europe Standard Time')).tables;
    expect(zoned?.timeZone).toBe('W. Europe Standard Time');
    const [plain] = parsePipelineConfig(table('')).tables;
    expect(plain).not.toHaveProperty('timeZone');
  });

  it('refuses text that cannot be a time zone name, with its path', () => {
    try {
      parsePipelineConfig(table("      timeZone: \"UTC'; DROP TABLE x --\""), 'bad.yaml');
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^tables\[0\]\.source\.timeZone: must be a time zone name as SQL Server spells it/)]);
    }
  });

  it('is refused for a Postgres source, which would ignore it', () => {
    const [t] = parsePipelineConfig(table('      timeZone: Tokyo Standard Time')).tables;
    const described: SourceColumn[] = [
      { name: 'user_id', sourceType: 'integer', nullable: false, parquet: { kind: 'int32' } },
      { name: 'updated_at', sourceType: 'timestamp without time zone', nullable: false, parquet: { kind: 'timestamp' } },
    ];
    expect(() => resolveColumns('postgres', t!, described)).toThrow(TableSetupError);
    expect(() => resolveColumns('postgres', t!, described)).toThrow(/timeZone: applies to SQL Server sources only/);
    expect(resolveColumns('mssql', t!, described)).toHaveLength(2);
  });
});

describe('SQL Server pool size', () => {
  it("is the slot's one session, or the cap: a connection string's Max Pool Size may lower it, never raise it", () => {
    expect(mssqlConfigFromUrl('mssql://h/db?maxConnections=40', { maxConnections: 1 }).pool?.max).toBe(1);
    expect(mssqlConfigFromUrl('Server=h;Database=db;User ID=u;Password=p;Max Pool Size=40', { maxConnections: 8 }).pool?.max).toBe(8);
    expect(mssqlConfigFromUrl('mssql://h/db?maxConnections=3', { maxConnections: 8 }).pool?.max).toBe(3);
    expect(mssqlConfigFromUrl('mssql://h/db', { maxConnections: 8 }).pool?.max).toBe(8);
  });
});
