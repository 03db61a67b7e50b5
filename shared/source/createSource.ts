import { MssqlSource } from './mssql/mssqlSource.js';
import { PostgresSource } from './postgres/postgresSource.js';
import type { Source, SourceKind } from './source.js';

export interface SourceSettings {
  kind: SourceKind;
  url: string;
}

/** The one place that decides which source adapter runs. */
export function createSource(settings: SourceSettings): Source {
  return settings.kind === 'mssql' ? new MssqlSource({ url: settings.url }) : new PostgresSource({ url: settings.url });
}
