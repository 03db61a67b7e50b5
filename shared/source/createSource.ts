import { MssqlSource } from './mssql/mssqlSource.js';
import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';

export interface SourceSettings {
  kind: SourceKind;
  url: string;
}

/**
 * The one place that decides which source adapter runs. `maxConnections` is the most sessions
 * the adapter's pool opens: one for a session held under a connection slot (every extraction
 * reads through one session at a time), the source's cap for a pool outside the slots.
 */
export function createSource(settings: SourceSettings, options: { maxConnections: number }): Source {
  return settings.kind === 'mssql'
    ? new MssqlSource({ url: settings.url, maxConnections: options.maxConnections })
    : new PostgresSource({ url: settings.url, maxConnections: options.maxConnections });
}
