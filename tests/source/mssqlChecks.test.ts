import { describe, expect, it } from 'vitest';
import { clockProblem, type DatabaseProbe, isolationFor, keyProblems, serverHasZoneId } from '../../shared/source/mssql/mssqlChecks.js';
import type { MssqlCatalogColumn } from '../../shared/source/mssql/mssqlTypes.js';

/** What the SQL Server source decides from what the database reports, before it reads a row. */

const probe = (over: Partial<DatabaseProbe> = {}): DatabaseProbe => ({
  name: 'music',
  rcsi: true,
  snapshotState: 0,
  updateability: 'READ_WRITE',
  offsetMinutes: 0,
  engineEdition: 5,
  majorVersion: 12,
  zone: 'UTC',
  ...over,
});

const col = (name: string, type: string, nullable = false): MssqlCatalogColumn => ({ name, type, precision: 0, scale: 7, maxLength: 8, nullable });

describe('isolation', () => {
  it('reads under READ_COMMITTED_SNAPSHOT, else SNAPSHOT where allowed, and refuses a database where reads wait on writers', () => {
    expect(isolationFor(probe())).toEqual({ isolation: 'read-committed-snapshot' });
    expect(isolationFor(probe({ rcsi: false, snapshotState: 1 }))).toEqual({ isolation: 'snapshot' });
    expect(isolationFor(probe({ rcsi: false, updateability: 'READ_ONLY' }))).toEqual({ isolation: 'read-only' });
    for (const snapshotState of [0, 2, 3]) {
      const d = isolationFor(probe({ rcsi: false, snapshotState }));
      expect(d).toHaveProperty('problem');
      expect((d as { problem: string }).problem).toMatch(/database music has READ_COMMITTED_SNAPSHOT OFF and ALLOW_SNAPSHOT_ISOLATION OFF/);
      expect((d as { problem: string }).problem).toContain('ALTER DATABASE [music] SET READ_COMMITTED_SNAPSHOT ON');
    }
  });
});

describe("the server's clock", () => {
  it('refuses a zone-less timestamp watermark without timeZone on a server whose clock is not UTC', () => {
    const wm = col('updated_at', 'datetime2');
    expect(clockProblem(probe({ zone: 'W. Europe Standard Time', offsetMinutes: 60 }), wm, undefined)).toMatch(
      /watermark column updated_at is datetime2\(7\), which has no offset, and the server's clock is in W\. Europe Standard Time \(now UTC\+01:00\); set timeZone/,
    );
    // In winter, London is at UTC+00:00 but is not UTC: the zone id decides where the server has one.
    expect(clockProblem(probe({ zone: 'GMT Standard Time', offsetMinutes: 0 }), wm, undefined)).toMatch(/GMT Standard Time/);
    // Without CURRENT_TIMEZONE_ID(), the offset is all there is.
    expect(clockProblem(probe({ zone: null, offsetMinutes: -300 }), wm, undefined)).toMatch(/clock is in UTC-05:00/);
    expect(clockProblem(probe({ zone: null, offsetMinutes: 0 }), wm, undefined)).toBeNull();
  });

  it('accepts UTC servers, a configured zone, and columns that carry their own offset', () => {
    const wm = col('updated_at', 'datetime');
    for (const zone of ['UTC', 'Etc/UTC', 'Coordinated Universal Time']) expect(clockProblem(probe({ zone }), wm, undefined)).toBeNull();
    expect(clockProblem(probe({ zone: 'Tokyo Standard Time', offsetMinutes: 540 }), wm, 'Tokyo Standard Time')).toBeNull();
    expect(clockProblem(probe({ zone: 'Tokyo Standard Time', offsetMinutes: 540 }), wm, 'UTC')).toBeNull();
    expect(clockProblem(probe({ zone: 'Tokyo Standard Time', offsetMinutes: 540 }), col('at', 'datetimeoffset'), undefined)).toBeNull();
  });

  it('asks for CURRENT_TIMEZONE_ID() only where it exists', () => {
    expect(serverHasZoneId({ engineEdition: 5, majorVersion: 12 })).toBe(true); // Azure SQL Database reports 12
    expect(serverHasZoneId({ engineEdition: 8, majorVersion: 16 })).toBe(true);
    expect(serverHasZoneId({ engineEdition: 3, majorVersion: 16 })).toBe(true);
    expect(serverHasZoneId({ engineEdition: 3, majorVersion: 15 })).toBe(false);
  });
});

describe('the keyset key', () => {
  const table = { schema: 'dbo', table: 'events' };
  const catalog = [col('id', 'int'), col('k2', 'int'), col('maybe', 'int', true)];

  it('accepts a key covered by a unique index on some of its columns', () => {
    expect(keyProblems(table, ['id', 'k2'], catalog, [{ indexId: 1, name: 'id' }, { indexId: 1, name: 'k2' }])).toEqual([]);
    expect(keyProblems(table, ['id', 'k2'], catalog, [{ indexId: 3, name: 'id' }])).toEqual([]);
  });

  it('refuses a key no unique index covers, and nullable key columns', () => {
    expect(keyProblems(table, ['id'], catalog, [{ indexId: 1, name: 'id' }, { indexId: 1, name: 'k2' }])).toEqual([
      'primaryKey: no unique index or constraint of dbo.events has only columns of [id]; rows with equal keys could be skipped or repeated when a slice resumes',
    ]);
    expect(keyProblems(table, ['maybe'], catalog, [{ indexId: 2, name: 'maybe' }])).toEqual([
      'primaryKey: column maybe of dbo.events is nullable; a keyset cursor skips NULL keys',
    ]);
    expect(keyProblems(table, ['id'], catalog, [])).toHaveLength(1);
  });
});
