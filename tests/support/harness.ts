import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createApp, type SoundlakeApp } from '../../shared/app/soundlakeApp.js';
import type { TableConfig } from '../../shared/config/pipelineConfig.js';
import { loadSettings, type Settings } from '../../shared/config/settings.js';
import { isBronzeDataPath, MANIFEST_ROOT } from '../../shared/bronze/bronzePaths.js';
import type { SliceManifest } from '../../shared/bronze/manifest.js';
import { createLogger } from '../../shared/logging/logger.js';
import type { Notice, Notifier } from '../../shared/notify/notifier.js';
import { readParquetBytes } from './parquetReader.js';

/** Keeps every notice, so tests can assert what a person would have been told. */
export class RecordingNotifier implements Notifier {
  readonly notices: Notice[] = [];
  async notify(notice: Notice): Promise<void> {
    this.notices.push(notice);
  }
}

export interface Harness {
  id: string;
  schema: string;
  db: pg.Client;
  settings: Settings;
  app: SoundlakeApp;
  notifier: RecordingNotifier;
  table(name: string, overrides?: Partial<TableConfig>): TableConfig;
  /** Data files of a bronze table (never manifests). */
  bronzeFiles(table: string): Promise<{ path: string; size: number }[]>;
  /** Every row of every data file of a table, read with the independent reader. */
  bronzeRows(table: string): Promise<Record<string, unknown>[]>;
  manifests(table: string): Promise<SliceManifest[]>;
  /** A fresh app over the same storage and database, like a second process. */
  newApp(tables?: TableConfig[]): Promise<SoundlakeApp>;
  close(): Promise<void>;
}

/** A table config with test defaults: watermark updated_at, key id, no lag, small files. */
export function testTable(schema: string, name: string, overrides: Partial<TableConfig> = {}): TableConfig {
  return {
    name,
    source: 'default',
    schema,
    table: name,
    watermark: { column: 'updated_at', kind: 'timestamp' },
    primaryKey: ['id'],
    enabled: true,
    maxRowsPerFile: 1_000_000,
    rowGroupRows: 100_000,
    lagSeconds: 0,
    ...overrides,
  };
}

export function testId(): string {
  return randomBytes(4).toString('hex');
}

export function testEnv(id: string): NodeJS.ProcessEnv {
  return {
    SOUNDLAKE_STORAGE: inject('storageConnectionString'),
    SOURCE_KIND: 'postgres',
    SOURCE_URL: inject('postgresUrl'),
    BRONZE_CONTAINER: `bronze-${id}`,
    WATERMARK_TABLE: `wm${id}`,
    LEDGER_TABLE: `runs${id}`,
    INGEST_QUEUE: `ingest-${id}`,
    BACKFILL_TABLE: `bf${id}`,
    BACKFILL_QUEUE: `backfill-${id}`,
    LEASE_SECONDS: '60',
    // Connection slots are per test file too: files run in parallel against one database.
    SOURCE_SLOT_TABLE: `slots${id}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/**
 * A private corner of the shared servers for one test file: its own Postgres schema, bronze
 * container, state tables and queue, so files never see each other's data.
 */
export async function createHarness(tables: (schema: string) => TableConfig[] = () => []): Promise<Harness> {
  const id = testId();
  const schema = `t_${id}`;
  const db = new pg.Client({ connectionString: inject('postgresUrl') });
  await db.connect();
  await db.query(`SET TIME ZONE 'UTC'`);
  await db.query(`CREATE SCHEMA ${schema}`);
  const settings = loadSettings(testEnv(id));
  const notifier = new RecordingNotifier();
  const logger = createLogger({ level: settings.logLevel, fd: 2 });
  const apps: SoundlakeApp[] = [];
  const newApp = async (t?: TableConfig[]): Promise<SoundlakeApp> => {
    const app = await createApp(settings, { logger, notifier, config: { tables: t ?? tables(schema) } });
    apps.push(app);
    return app;
  };
  const app = await newApp();
  const harness: Harness = {
    id,
    schema,
    db,
    settings,
    app,
    notifier,
    table: (name, overrides = {}) => testTable(schema, name, overrides),
    bronzeFiles: async (table) => {
      const out: { path: string; size: number }[] = [];
      for await (const o of app.lake.list(`${table}/`)) if (isBronzeDataPath(o.path)) out.push(o);
      return out.sort((a, b) => a.path.localeCompare(b.path));
    },
    bronzeRows: async (table) => {
      const rows: Record<string, unknown>[] = [];
      for (const f of await harness.bronzeFiles(table)) {
        const bytes = await app.lake.get(f.path);
        rows.push(...(await readParquetBytes(bytes!)).rows);
      }
      return rows;
    },
    manifests: async (table) => {
      const out: SliceManifest[] = [];
      for await (const o of app.lake.list(`${MANIFEST_ROOT}/${table}/`)) {
        out.push(JSON.parse((await app.lake.get(o.path))!.toString('utf8')) as SliceManifest);
      }
      return out.sort((a, b) => a.slice.localeCompare(b.slice));
    },
    newApp,
    close: async () => {
      await Promise.all(apps.map((a) => a.close()));
      await db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await db.end();
    },
  };
  return harness;
}
