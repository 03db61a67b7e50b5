import { MssqlSource } from './mssql/mssqlSource.js';
import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';
import type { SettingOr, SourceConfig } from '../config/pipelineConfig.js';
import type { RestAuth } from './rest/restClient.js';
import { RestSource } from './rest/restSource.js';
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
 * once: files over HTTP and REST endpoints. SQL entries of `sources:` are served by the deployment source.
 */
export function createCatalogSources(
  sources: SourceConfig[],
  http: HttpSettings,
  setting: (name: string) => string | undefined,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const s of sources) {
    // A value given literally or through its app setting; a missing setting is named, its value never.
    const value = (v: SettingOr<string> | undefined, what: string): string | undefined => {
      if (v === undefined || typeof v === 'string') return v;
      const found = setting(v.setting);
      if (found === undefined) throw new SettingsError([`${v.setting}: required: ${what} of source ${s.name} (soundlake.yaml sources:)`]);
      return found;
    };
    const baseUrl = value(s.baseUrl, 'the base URL');
    if (s.kind === 'http') out.set(s.name, new HttpFileSource({ settings: http, ...(baseUrl ? { baseUrl } : {}) }));
    if (s.kind === 'rest') {
      const a = s.auth ?? { type: 'none' as const };
      const auth: RestAuth =
        a.type === 'client_credentials'
          ? { type: 'client_credentials', tokenUrl: value(a.tokenUrl, 'the token URL')!, clientId: value(a.clientId, 'the client id')!, clientSecret: value(a.clientSecret, 'the client secret')! }
          : a.type === 'bearer'
            ? { type: 'bearer', token: value(a.token, 'the bearer token')! }
            : { type: 'none' };
      out.set(s.name, new RestSource({ http, auth, baseUrl: baseUrl!, ...(options.sleep ? { sleep: options.sleep } : {}) }));
    }
  }
  return out;
}
