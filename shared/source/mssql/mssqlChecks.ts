import type { TableRef } from '../source.js';
import type { MssqlIsolation } from './mssqlQueries.js';
import type { MssqlCatalogColumn } from './mssqlTypes.js';
import { mssqlTypeName, ZONELESS_TIMESTAMP_TYPES } from './mssqlTypes.js';

/**
 * What the SQL Server source checks before it reads, as pure decisions over what the database
 * reported: whether reads can wait on writers' locks, whether the server's clock frames
 * zone-less timestamps as UTC, whether the configured key can drive a keyset cursor.
 */

export interface DatabaseProbe {
  name: string;
  rcsi: boolean;
  /** sys.databases.snapshot_isolation_state: 0 off, 1 on, 2 turning off, 3 turning on. */
  snapshotState: number;
  /** DATABASEPROPERTYEX(..., 'Updateability'): READ_WRITE or READ_ONLY. */
  updateability: string;
  /** The server clock's offset from UTC now, in minutes. */
  offsetMinutes: number;
  engineEdition: number;
  majorVersion: number;
  /** CURRENT_TIMEZONE_ID() where the server has it. */
  zone: string | null;
}

/** Azure SQL Database (5) and Managed Instance (8) have CURRENT_TIMEZONE_ID(); so has SQL Server 2022 (16). */
export function serverHasZoneId(probe: Pick<DatabaseProbe, 'engineEdition' | 'majorVersion'>): boolean {
  return probe.majorVersion >= 16 || probe.engineEdition === 5 || probe.engineEdition === 8;
}

/**
 * How reads can proceed without waiting on writers, or why they cannot. Without row versioning a
 * read waits for every open transaction that touched a row it needs; the slice would stall behind
 * writers until the function times out, so the source refuses instead, naming the fix.
 */
export function isolationFor(probe: DatabaseProbe): { isolation: MssqlIsolation } | { problem: string } {
  if (probe.rcsi) return { isolation: 'read-committed-snapshot' };
  if (probe.updateability.toUpperCase() === 'READ_ONLY') return { isolation: 'read-only' };
  if (probe.snapshotState === 1) return { isolation: 'snapshot' };
  return {
    problem:
      `database ${probe.name} has READ_COMMITTED_SNAPSHOT OFF and ALLOW_SNAPSHOT_ISOLATION OFF, so extraction would wait on ` +
      `writers' locks; turn one on (ALTER DATABASE [${probe.name}] SET READ_COMMITTED_SNAPSHOT ON, as Azure SQL Database has it, ` +
      `or SET ALLOW_SNAPSHOT_ISOLATION ON, which the source then uses)`,
  };
}

const UTC_ZONES = /^(utc|uct|etc\/utc|etc\/uct|etc\/gmt|gmt|coordinated universal time)$/i;

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/**
 * A zone-less timestamp watermark without a configured time zone is read as UTC: its lag is
 * measured against SYSUTCDATETIME() and Parquet labels it UTC. On a server whose clock is not
 * UTC (SQL Server or Managed Instance in a local zone), GETDATE()-style columns are local time,
 * so the lag would be off by the offset: refuse, and ask for the table's `timeZone`.
 */
export function clockProblem(probe: DatabaseProbe, column: MssqlCatalogColumn, timeZone: string | undefined): string | null {
  if (timeZone !== undefined || !ZONELESS_TIMESTAMP_TYPES.has(column.type)) return null;
  const utc = probe.zone !== null ? UTC_ZONES.test(probe.zone.trim()) : probe.offsetMinutes === 0;
  if (utc) return null;
  const where = probe.zone !== null ? `${probe.zone} (now ${offsetText(probe.offsetMinutes)})` : offsetText(probe.offsetMinutes);
  return (
    `watermark column ${column.name} is ${mssqlTypeName(column)}, which has no offset, and the server's clock is in ${where}; ` +
    `set timeZone on the table to the zone the column is written in (a sys.time_zone_info name, or UTC if the application writes UTC)`
  );
}

/**
 * A keyset cursor needs a key that orders every row uniquely: no NULLs (a NULL fails every
 * `>` and its row would be skipped) and a unique index or constraint on a subset of its columns.
 */
export function keyProblems(table: TableRef, primaryKey: string[], catalog: MssqlCatalogColumn[], uniqueIndexes: { indexId: number; name: string }[]): string[] {
  const problems: string[] = [];
  const byName = new Map(catalog.map((c) => [c.name, c]));
  for (const k of primaryKey) {
    const c = byName.get(k);
    if (!c) problems.push(`primaryKey: column ${k} not found in ${table.schema}.${table.table}`);
    else if (c.nullable) problems.push(`primaryKey: column ${k} of ${table.schema}.${table.table} is nullable; a keyset cursor skips NULL keys`);
  }
  const indexes = new Map<number, Set<string>>();
  for (const { indexId, name } of uniqueIndexes) {
    let cols = indexes.get(indexId);
    if (!cols) indexes.set(indexId, (cols = new Set()));
    cols.add(name);
  }
  const key = new Set(primaryKey);
  const unique = [...indexes.values()].some((cols) => [...cols].every((c) => key.has(c)));
  if (!unique) {
    problems.push(
      `primaryKey: no unique index or constraint of ${table.schema}.${table.table} has only columns of [${primaryKey.join(', ')}]; ` +
        'rows with equal keys could be skipped or repeated when a slice resumes',
    );
  }
  return problems;
}
