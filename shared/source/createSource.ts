import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';
import { SourceError } from './source.js';
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
 * The one place that decides which source adapter runs. `maxConnections` is the most sessions
 * the adapter's pool opens: one for a session held under a connection slot (every extraction
 * reads through one session at a time), the source's cap for a pool outside the slots.
 */
export async function createSource(settings: SourceSettings, options: { maxConnections: number }): Promise<Source> {
  if (settings.kind !== 'mssql') return new PostgresSource({ url: settings.url, maxConnections: options.maxConnections });
  // The SQL Server driver (and the Azure identity library it brings) is loaded only for a SQL
  // Server source: a CLI run pays for the modules it loads, about a tenth of a CPU-second for these.
  const { MssqlSource } = await import('./mssql/mssqlSource.js');
  return new MssqlSource({ url: settings.url, maxConnections: options.maxConnections });
}

/**
 * The sources the catalog names besides the deployment's SQL source, one adapter each, built
 * once: files over HTTP and REST endpoints. SQL entries of `sources:` are served by the source
 * registry (sourceRegistry.ts), a session per connection slot.
 */
export function createCatalogSources(
  sources: SourceConfig[],
  http: HttpSettings,
  setting: (name: string) => string | undefined,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Map<string, Source> {
  const out = new Map<string, Source>();
  for (const s of sources) {
    try {
      const made = catalogSource(s, http, setting, options);
      if (made) out.set(s.name, made);
    } catch (err) {
      // A source whose settings are missing fails its own tables (alerted, recorded), not the app.
      if (!(err instanceof SettingsError)) throw err;
      out.set(s.name, new UnavailableSource(s.kind === 'rest' ? 'rest' : 'http', `source ${s.name} is not configured: ${err.message}`));
    }
  }
  return out;
}

function catalogSource(s: SourceConfig, http: HttpSettings, setting: (name: string) => string | undefined, options: { sleep?: (ms: number) => Promise<void> }): Source | undefined {
  {
    // A value given literally or through its app setting; a missing setting is named, its value never.
    const value = (v: SettingOr<string> | undefined, what: string): string | undefined => {
      if (v === undefined || typeof v === 'string') return v;
      const found = setting(v.setting);
      if (found === undefined) throw new SettingsError([`${v.setting}: required: ${what} of source ${s.name} (soundlake.yaml sources:)`]);
      return found;
    };
    const baseUrl = value(s.baseUrl, 'the base URL');
    if (s.kind === 'http') return new HttpFileSource({ settings: http, ...(baseUrl ? { baseUrl } : {}) });
    if (s.kind === 'rest') {
      const a = s.auth ?? { type: 'none' as const };
      const auth: RestAuth =
        a.type === 'client_credentials'
          ? { type: 'client_credentials', tokenUrl: value(a.tokenUrl, 'the token URL')!, clientId: value(a.clientId, 'the client id')!, clientSecret: value(a.clientSecret, 'the client secret')! }
          : a.type === 'bearer'
            ? { type: 'bearer', token: value(a.token, 'the bearer token')! }
            : { type: 'none' };
      return new RestSource({ http, auth, baseUrl: baseUrl!, ...(options.sleep ? { sleep: options.sleep } : {}) });
    }
    return undefined;
  }
}

/** Stands for a catalog source that cannot be built: every use fails with why. */
class UnavailableSource implements Source {
  constructor(
    readonly kind: SourceKind,
    private readonly why: string,
  ) {}
  private fail(): never {
    throw new SourceError(this.why);
  }
  async describe(): Promise<never> {
    return this.fail();
  }
  async safeUpperBound(): Promise<never> {
    return this.fail();
  }
  async hasRows(): Promise<never> {
    return this.fail();
  }
  // eslint-disable-next-line require-yield
  async *read(): AsyncIterable<never> {
    this.fail();
  }
  async close(): Promise<void> {}
}
