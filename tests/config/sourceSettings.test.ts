import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, parsePipelineConfig } from '../../shared/config/pipelineConfig.js';
import { resolveColumns, TableSetupError } from '../../shared/extract/tableColumns.js';
import { SOURCE_CONNECTIONS } from '../../shared/source/createSource.js';
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
  it('matches the reads one Functions instance runs at once, from host.json', async () => {
    const host = JSON.parse(await readFile('host.json', 'utf8')) as { extensions: { queues: { batchSize?: number; newBatchThreshold?: number } } };
    const batchSize = host.extensions.queues.batchSize ?? 16;
    const perFunction = batchSize + (host.extensions.queues.newBatchThreshold ?? Math.floor(batchSize / 2));
    // ingest-queue and backfill-queue read the source, one connection per invocation; one spare.
    expect(SOURCE_CONNECTIONS).toBe(2 * perFunction + 1);
    // A connection string that names its own pool size keeps it.
    expect(mssqlConfigFromUrl('mssql://h/db?maxConnections=40', { maxConnections: SOURCE_CONNECTIONS }).pool?.max).toBe(40);
  });
});
