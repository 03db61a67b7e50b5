import { MssqlSource } from './mssql/mssqlSource.js';
import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';
import type { SourceConfig } from '../config/pipelineConfig.js';
import { SettingsError } from '../config/settingsError.js';
import { HttpFileSource } from './http/httpFileSource.js';
import type { HttpSettings } from './http/httpSettings.js';

export interface SourceSettings {
  kind: SourceKind;
  url: string;
}

/**
 * SQL Server connections one Functions instance can use at once: each queue trigger that reads
 * the source (ingest-queue, backfill-queue) runs up to batchSize + newBatchThreshold messages at
 * a time (host.json: 4 + 2) and each holds one connection at a time; one spare. A test checks
 * this against host.json. SOURCE_URL may set its own (`Max Pool Size`, `?maxConnections=`).
 */
export const SOURCE_CONNECTIONS = 2 * (4 + 2) + 1;

/** The one place that decides which source adapter runs. */
export function createSource(settings: SourceSettings): Source {
  return settings.kind === 'mssql'
    ? new MssqlSource({ url: settings.url, maxConnections: SOURCE_CONNECTIONS })
    : new PostgresSource({ url: settings.url });
}

/**
 * The sources the catalog names besides the deployment's SQL source, one adapter each, built
 * once. Today: files over HTTP. SQL entries of `sources:` are served by the deployment source.
 */
export function createCatalogSources(sources: SourceConfig[], http: HttpSettings, setting: (name: string) => string | undefined): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const s of sources) {
    if (s.kind !== 'http') continue;
    let baseUrl: string | undefined;
    if (typeof s.baseUrl === 'string') baseUrl = s.baseUrl;
    else if (s.baseUrl) {
      baseUrl = setting(s.baseUrl.setting);
      if (baseUrl === undefined) throw new SettingsError([`${s.baseUrl.setting}: required: the base URL of source ${s.name} (soundlake.yaml sources: baseUrl)`]);
    }
    out.set(s.name, new HttpFileSource({ settings: http, ...(baseUrl ? { baseUrl } : {}) }));
  }
  return out;
}
