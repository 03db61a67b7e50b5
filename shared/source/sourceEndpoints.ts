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
 * The catalog's sources with their connection strings read from app settings: every source the
 * catalog declares, or, without a `sources:` block, the one named `default` from SOURCE_KIND /
 * SOURCE_URL / SOURCE_MAX_CONNECTIONS. A setting that is not set is an error naming the source
 * and the setting, all of them at once, before anything runs; only `default` falls back to the
 * embedded source, and only on a developer's machine.
 */
export function resolveSourceEndpoints(config: PipelineConfig, settings: Pick<Settings, 'source' | 'appSetting' | 'azure'>): SourceEndpoint[] {
  const problems: string[] = [];
  const declared = config.sources ?? [{ name: DEFAULT_SOURCE, kind: settings.source.kind, setting: 'SOURCE_URL', maxConnections: settings.source.maxConnections }];
  const endpoints = declared.flatMap((d): SourceEndpoint[] => {
    const embedded = d.name === DEFAULT_SOURCE && d.kind === 'postgres' && settings.azure === null ? EMBEDDED_SOURCE_URL : null;
    const url = settings.appSetting(d.setting) ?? embedded;
    if (url) return [{ name: d.name, kind: d.kind, setting: d.setting, url, maxConnections: d.maxConnections }];
    const where = settings.azure ? `required when ${settings.azure}: add it as an app setting (a Key Vault reference for a secret), see infra/README.md` : 'set it in local.settings.json or the environment';
    problems.push(`${d.setting}: source ${JSON.stringify(d.name)} (${d.kind}) reads its connection string from this app setting, which is not set; ${where}`);
    return [];
  });
  if (problems.length > 0) throw new SettingsError(problems);
  return endpoints;
}
