import { DEFAULT_SOURCE } from '../config/catalogSchema.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { EMBEDDED_SOURCE_URL, type Settings } from '../config/settings.js';
import { SettingsError } from '../config/settingsError.js';
import type { SourceKind } from './source.js';

/** One database the app reads, with its connection string in hand (never logged). */
export interface SourceEndpoint {
  name: string;
  kind: SourceKind;
  /** The app setting the URL came from, for messages. */
  setting: string;
  url: string;
  /** Sessions the source may see from every instance together. */
  maxConnections: number;
}

/**
 * The catalog's SQL sources with their connection strings read from app settings: every postgres
 * and mssql source the catalog declares, and `default` (SOURCE_KIND / SOURCE_URL /
 * SOURCE_MAX_CONNECTIONS, each overridable by a `default` entry in `sources:`). A setting that is
 * not set is an error naming the source and the setting, all of them at once, before anything
 * runs; `default` may go unset when no table reads it, and falls back to the embedded source
 * only on a developer's machine. http and rest sources are not here: they hold no database sessions.
 */
export function resolveSourceEndpoints(config: PipelineConfig, settings: Pick<Settings, 'source' | 'setting' | 'azure'>): SourceEndpoint[] {
  const problems: string[] = [];
  const sql = (config.sources ?? []).filter((s) => s.kind === 'postgres' || s.kind === 'mssql');
  const given = sql.find((s) => s.name === DEFAULT_SOURCE);
  const declared = [
    ...sql.filter((s) => s !== given),
    { name: DEFAULT_SOURCE, kind: given?.kind ?? settings.source.kind, url: given?.url ?? { setting: 'SOURCE_URL' }, maxConnections: given?.maxConnections ?? settings.source.maxConnections },
  ];
  const readsDefault = config.tables.some((t) => t.source === DEFAULT_SOURCE);
  const endpoints = declared.flatMap((d): SourceEndpoint[] => {
    // The catalog rules make sure every SQL source but `default` names its setting and its cap.
    const setting = d.url!.setting;
    const kind = d.kind as SourceKind;
    const embedded = d.name === DEFAULT_SOURCE && kind === 'postgres' && settings.azure === null ? EMBEDDED_SOURCE_URL : null;
    const url = settings.setting(setting) ?? embedded;
    if (url) return [{ name: d.name, kind, setting, url, maxConnections: d.maxConnections ?? settings.source.maxConnections }];
    if (d.name === DEFAULT_SOURCE && !given && !readsDefault) return [];
    const where = settings.azure ? `required when ${settings.azure}: add it as an app setting (a Key Vault reference for a secret), see infra/README.md` : 'set it in local.settings.json or the environment';
    problems.push(`${setting}: source ${JSON.stringify(d.name)} (${kind}) reads its connection string from this app setting, which is not set; ${where}`);
    return [];
  });
  if (problems.length > 0) throw new SettingsError(problems);
  return endpoints;
}
