import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadPipelineConfig, parsePipelineConfig, selectTables } from '../../shared/config/pipelineConfig.js';
import { quoteMssql, quotePostgres } from '../../shared/config/identifiers.js';
import { loadSettings, SettingsError } from '../../shared/config/settings.js';
import { storageUris } from '../support/storageUris.js';

const good = `
version: 1
defaults:
  lagSeconds: 10
tables:
  - name: dim_users
    source: { schema: public, table: dim_users }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [user_id]
  - name: fact_streams
    source: { schema: public, table: fact_streams }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [stream_id]
    maxRowsPerFile: 500000
    lagSeconds: 60
    enabled: false
`;

function problemsOf(text: string): string[] {
  try {
    parsePipelineConfig(text, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('soundlake.yaml', () => {
  it('applies defaults per table', () => {
    const cfg = parsePipelineConfig(good);
    expect(cfg.tables[0]).toMatchObject({ name: 'dim_users', lagSeconds: 10, maxRowsPerFile: 1_000_000, rowGroupRows: 65_536, enabled: true });
    expect(cfg.tables[1]).toMatchObject({ lagSeconds: 60, maxRowsPerFile: 500_000, enabled: false });
    expect(selectTables(cfg).map((t) => t.name)).toEqual(['dim_users']);
    expect(selectTables(cfg, ['fact_streams']).map((t) => t.name)).toEqual(['fact_streams']);
  });

  it('reads the default source without a sources: block, and named sources with one', () => {
    const plain = parsePipelineConfig(good);
    expect(plain.sources).toEqual([]);
    expect(plain.tables.map((t) => t.source)).toEqual(['default', 'default']);

    const many = parsePipelineConfig(`
version: 1
sources:
  - { name: streaming_db, kind: postgres, url: { setting: STREAMING_DB_URL }, maxConnections: 8 }
  - { name: default, kind: mssql, url: { setting: SOURCE_URL }, maxConnections: 3 }
tables:
  - name: dim_users
    source: { name: streaming_db, schema: public, table: dim_users }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [user_id]
  - name: dim_tracks
    source: { schema: dbo, table: dim_tracks }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [track_id]
`);
    expect(many.sources).toEqual([
      { name: 'streaming_db', kind: 'postgres', url: { setting: 'STREAMING_DB_URL' }, maxConnections: 8 },
      { name: 'default', kind: 'mssql', url: { setting: 'SOURCE_URL' }, maxConnections: 3 },
    ]);
    expect(many.tables.map((t) => [t.source, t.schema, t.table])).toEqual([
      ['streaming_db', 'public', 'dim_users'],
      ['default', 'dbo', 'dim_tracks'],
    ]);
  });

  it('names every problem of a bad file at once, with its path', () => {
    const problems = problemsOf(`
version: 1
tables:
  - name: Dim-Users
    source: { schema: public, table: dim_users }
    watermark: { column: updated_at, kind: clock }
    primaryKey: []
    colour: blue
  - name: facts
    source: { schema: public, table: fact_streams, columns: [user_id] }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [stream_id]
  - name: facts
    source: { schema: public, table: fact_streams }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [stream_id]
    maxRowsPerFile: 0
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tables\[0\]\.name: must be a bronze table name/),
        expect.stringMatching(/^tables\[0\]\.watermark\.kind: /),
        expect.stringMatching(/^tables\[0\]\.primaryKey: needs at least one column/),
        expect.stringMatching(/^tables\[0\]: .*colour/),
        expect.stringMatching(/^tables\[1\]\.source\.columns: must include "updated_at"/),
        expect.stringMatching(/^tables\[1\]\.source\.columns: must include "stream_id"/),
        expect.stringMatching(/^tables\[2\]\.maxRowsPerFile: /),
      ]),
    );
    expect(problems.filter((p) => p.includes('duplicate table name "facts"'))).toHaveLength(1);
  });

  it('refuses hostile identifiers before anything runs', () => {
    const problems = problemsOf(`
version: 1
tables:
  - name: users
    source: { schema: public, table: "users; DROP TABLE x" }
    watermark: { column: "updated_at\\" OR 1=1 --", kind: timestamp }
    primaryKey: ["id]; DELETE FROM y; --"]
`);
    expect(problems).toEqual([
      expect.stringMatching(/^tables\[0\]\.source\.table: must be a SQL identifier/),
      expect.stringMatching(/^tables\[0\]\.watermark\.column: must be a SQL identifier/),
      expect.stringMatching(/^tables\[0\]\.primaryKey\[0\]: must be a SQL identifier/),
    ]);
    expect(() => quotePostgres('users; DROP TABLE x')).toThrow(/refused identifier/);
    expect(() => quoteMssql('id]; DELETE FROM y; --')).toThrow(/refused identifier/);
    expect(quotePostgres('MixedCase_1')).toBe('"MixedCase_1"');
    expect(quoteMssql('dim_users')).toBe('[dim_users]');
  });

  it('reports YAML syntax errors and missing files with the file name', async () => {
    expect(problemsOf('version: 1\ntables: [\n')[0]).toMatch(/^YAML: /);
    const dir = await mkdtemp(join(tmpdir(), 'sl-'));
    await expect(loadPipelineConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml[\s\S]*cannot read file/);
    await writeFile(join(dir, 'x.yaml'), 'version: 2\ntables: []\n');
    await expect(loadPipelineConfig(join(dir, 'x.yaml'))).rejects.toThrow(/x\.yaml[\s\S]*version[\s\S]*tables: list at least one table/);
  });

  it('rejects unknown tables in a selection', () => {
    expect(() => selectTables(parsePipelineConfig(good), ['nope'])).toThrow(/unknown table "nope"/);
  });
});

describe('settings from the environment', () => {
  it('defaults to the embedded source and Azurite', () => {
    const s = loadSettings({});
    expect(s.source).toEqual({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5433/postgres', maxConnections: 8 });
    expect('connectionString' in s.storage && s.storage.connectionString).toMatch(/BlobEndpoint=http:\/\/127\.0\.0\.1:10000/);
  });

  it('uses managed identity when the identity-based service URIs are given', () => {
    const s = loadSettings({ ...storageUris('soundlakeprod'), SOURCE_KIND: 'mssql', SOURCE_URL: 'mssql://sql.example.net/music' });
    expect(s.storage).toEqual({ blobServiceUri: 'https://soundlakeprod.blob.core.windows.net', queueServiceUri: 'https://soundlakeprod.queue.core.windows.net', tableServiceUri: 'https://soundlakeprod.table.core.windows.net' });
  });

  it('names each bad setting', () => {
    expect(() => loadSettings({ SOURCE_KIND: 'oracle', BRONZE_CONTAINER: 'Bad_Name', LEASE_SECONDS: 'soon' })).toThrow(SettingsError);
    try {
      loadSettings({ SOURCE_KIND: 'oracle', BRONZE_CONTAINER: 'Bad_Name', LEASE_SECONDS: 'soon' });
    } catch (err) {
      const problems = (err as SettingsError).problems.join('\n');
      expect(problems).toMatch(/SOURCE_KIND/);
      expect(problems).toMatch(/BRONZE_CONTAINER: must be a container name/);
      expect(problems).toMatch(/LEASE_SECONDS/);
    }
    expect(() => loadSettings({ SOURCE_KIND: 'mssql' })).toThrow(/SOURCE_URL: required when SOURCE_KIND is mssql/);
  });

  it("takes the queues' maxDequeueCount from host.json, or from the app setting that overrides it", async () => {
    const hostJson = JSON.parse(await readFile(new URL('../../host.json', import.meta.url), 'utf8')) as { extensions: { queues: { maxDequeueCount: number } } };
    expect(loadSettings({}).maxDequeueCount).toBe(hostJson.extensions.queues.maxDequeueCount);
    expect(loadSettings({ AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '7' }).maxDequeueCount).toBe(7);
    expect(() => loadSettings({ AzureFunctionsJobHost__extensions__queues__maxDequeueCount: 'many' })).toThrow(/AzureFunctionsJobHost__extensions__queues__maxDequeueCount: must be a whole number/);
  });
});
