import type { TokenCredential } from '@azure/core-auth';
import mssql from 'mssql';
import type { KeySplit, ReadRequest, RowBatch, RowEstimate, SliceBounds, Source, SourceColumn, TableRef, WatermarkSpec } from '../source.js';
import { distinctCuts, quantileCuts } from '../keyCuts.js';
import { planKeys, SourceError, sourceFailure } from '../source.js';
import type { DatabaseProbe } from './mssqlChecks.js';
import { clockProblem, isolationFor, keyProblems, serverHasZoneId } from './mssqlChecks.js';
import type { MssqlConnection } from './mssqlConnection.js';
import { mssqlPoolConfig, parseMssqlConnectionString } from './mssqlConnection.js';
import type { MssqlIsolation, SqlParam, SqlStatement, WatermarkColumn } from './mssqlQueries.js';
import {
  catalogStatement,
  databaseProbeStatement,
  hasRowsStatement,
  histogramStatement,
  keyCutsStatement,
  keySampleStatement,
  lastKeyStatement,
  readStatement,
  tableRowsStatement,
  timeZoneKnownStatement,
  uniqueKeysStatement,
  upperBoundStatement,
  zoneIdStatement,
} from './mssqlQueries.js';
import type { HistogramStep, TimeStep } from './mssqlHistogram.js';
import { histogramCuts, histogramRowsIn, timestampTextMs } from './mssqlHistogram.js';
import { rowBatches } from './mssqlRowStream.js';
import type { MssqlCatalogColumn } from './mssqlTypes.js';
import { effectiveTimeZone, mssqlConverter, mssqlParquetType, mssqlRowSizer, mssqlTypeName } from './mssqlTypes.js';

export interface MssqlSourceOptions {
  /**
   * `mssql://[user:password@]host[:port]/database[?...]` or an ADO.NET connection string (see
   * mssqlConnection.ts). Without a user, Microsoft Entra auth through one shared credential.
   */
  url: string;
  /** Connections in the pool at most: one per connection slot held (a smaller Max Pool Size in the string wins). */
  maxConnections?: number;
  /** Bytes per batch handed to the writer at most (default 16 MiB). */
  batchBytes?: number;
  /** Replaces the shared Microsoft Entra credential (tests). */
  credential?: TokenCredential;
}

const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;
/** Sampled keys per range when cuts come from a TABLESAMPLE (as on PostgreSQL). */
const KEYS_PER_RANGE = 1_000;
/** Cut values resolved to whole keys per statement (each value is a parameter; SQL Server takes 2,100). */
const CUTS_PER_STATEMENT = 500;
const INTEGER_KEY_TYPES = new Set(['tinyint', 'smallint', 'int', 'bigint']);
const TIMESTAMP_TYPES = new Set(['date', 'datetime', 'datetime2', 'smalldatetime', 'datetimeoffset']);

interface HistogramRow {
  step: number;
  k: string | null;
  rangeRows: number;
  equalRows: number;
}

interface Session {
  pool: mssql.ConnectionPool;
  probe: DatabaseProbe;
  isolation: MssqlIsolation;
}

const describeError = (err: unknown, what: string): SourceError => sourceFailure('mssql', err, what);

const name = (t: TableRef): string => `${t.schema}.${t.table}`;

function bind(request: mssql.Request, params: SqlParam[]): mssql.Request {
  for (const p of params) {
    if (p.type === 'int') request.input(p.name, mssql.Int, p.value);
    else request.input(p.name, mssql.NVarChar(p.length === 'max' ? mssql.MAX : (p.length ?? 4000)), p.value);
  }
  return request;
}

/** Caches a check per key; a failed check is forgotten so the next call asks again. */
function once(cache: Map<string, Promise<void>>, key: string, check: () => Promise<void>): Promise<void> {
  let p = cache.get(key);
  if (!p) {
    p = check();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Azure SQL Database / SQL Server through `mssql` (tedious). */
export class MssqlSource implements Source {
  readonly kind = 'mssql' as const;
  private readonly connection: MssqlConnection;
  private session: Promise<Session> | undefined;
  private readonly catalog = new Map<string, MssqlCatalogColumn[]>();
  private readonly checks = new Map<string, Promise<void>>();

  constructor(private readonly options: MssqlSourceOptions) {
    // Parsed now, so a bad SOURCE_URL fails at start with the field named.
    this.connection = parseMssqlConnectionString(options.url);
  }

  /**
   * One pool per source. Before any query, the database is asked how reads avoid writers' locks
   * (or the source refuses at once, rather than hanging behind a writer) and what its clock is.
   */
  private connect(): Promise<Session> {
    this.session ??= (async () => {
      const pool = new mssql.ConnectionPool(
        mssqlPoolConfig(this.connection, {
          ...(this.options.maxConnections ? { maxConnections: this.options.maxConnections } : {}),
          ...(this.options.credential ? { credential: this.options.credential } : {}),
        }),
      );
      // An idle connection that dies must not crash the process; the pool replaces it.
      pool.on('error', () => undefined);
      await pool.connect();
      try {
        const probe = await this.probe(pool);
        const decision = isolationFor(probe);
        if ('problem' in decision) throw new SourceError(`mssql source: ${decision.problem}`);
        return { pool, probe, isolation: decision.isolation };
      } catch (err) {
        await pool.close().catch(() => undefined);
        throw err;
      }
    })().catch((err: unknown) => {
      this.session = undefined;
      throw describeError(err, 'connecting');
    });
    return this.session;
  }

  private async probe(pool: mssql.ConnectionPool): Promise<DatabaseProbe> {
    const row = (await bind(pool.request(), []).query(databaseProbeStatement().sql)).recordset[0] as Omit<DatabaseProbe, 'zone'> | undefined;
    if (!row) throw new SourceError('mssql source: the database is not visible in sys.databases');
    const probe: DatabaseProbe = { ...row, rcsi: Boolean(row.rcsi), zone: null };
    if (serverHasZoneId(probe)) probe.zone = ((await pool.request().query(zoneIdStatement.sql)).recordset[0]?.zone as string | undefined) ?? null;
    return probe;
  }

  private async run<T>(session: Session, statement: SqlStatement, what: string): Promise<T[]> {
    try {
      return (await bind(session.pool.request(), statement.params).query(statement.sql)).recordset as T[];
    } catch (err) {
      throw describeError(err, what);
    }
  }

  private async catalogColumns(table: TableRef): Promise<MssqlCatalogColumn[]> {
    const session = await this.connect();
    const rows = await this.run<MssqlCatalogColumn>(session, catalogStatement(table), `reading the catalogue for ${name(table)}`);
    if (rows.length === 0) throw new SourceError(`mssql source: table ${name(table)} not found`);
    const cols = rows.map((r) => ({ ...r, nullable: Boolean(r.nullable), clr: Boolean(r.clr) }));
    this.catalog.set(name(table), cols);
    // The table may have changed: its checks run again against the new catalogue.
    for (const key of this.checks.keys()) if (key.startsWith(`${name(table)}|`)) this.checks.delete(key);
    return cols;
  }

  private async catalogFor(table: TableRef): Promise<MssqlCatalogColumn[]> {
    return this.catalog.get(name(table)) ?? this.catalogColumns(table);
  }

  async describe(table: TableRef): Promise<SourceColumn[]> {
    const cols = await this.catalogColumns(table);
    return cols.map((c) => ({ name: c.name, sourceType: mssqlTypeName(c), nullable: c.nullable, parquet: mssqlParquetType(c) }));
  }

  /** The watermark column, after checking the table's time zone and the server's clock. */
  private async watermarkColumn(session: Session, table: TableRef, watermark: WatermarkSpec): Promise<WatermarkColumn> {
    const column = (await this.catalogFor(table)).find((c) => c.name === watermark.column);
    if (!column) throw new SourceError(`mssql source: watermark column ${watermark.column} not found in ${name(table)}`);
    const timeZone = table.timeZone;
    await once(this.checks, `${name(table)}|clock|${watermark.column}|${watermark.kind}|${timeZone ?? ''}`, async () => {
      const zone = effectiveTimeZone(timeZone);
      if (zone) {
        const [row] = await this.run<{ known: number }>(session, timeZoneKnownStatement(zone), 'checking the time zone');
        if (!row?.known) throw new SourceError(`mssql source: timeZone of ${name(table)}: ${JSON.stringify(zone)} is not in sys.time_zone_info (e.g. "W. Europe Standard Time", "UTC")`);
      }
      const problem = watermark.kind === 'timestamp' ? clockProblem(session.probe, column, timeZone) : null;
      if (problem) throw new SourceError(`mssql source: ${name(table)}: ${problem}`);
    });
    return { column, kind: watermark.kind };
  }

  async safeUpperBound(table: TableRef, watermark: WatermarkSpec, lagSeconds: number): Promise<string | null> {
    const session = await this.connect();
    const wm = await this.watermarkColumn(session, table, watermark);
    const statement = upperBoundStatement({ table, watermark: wm, lagSeconds, isolation: session.isolation, ...(table.timeZone ? { timeZone: table.timeZone } : {}) });
    const [row] = await this.run<{ high: string | null }>(session, statement, `reading the upper bound of ${name(table)}`);
    return row?.high ?? null;
  }

  async hasRows(table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds): Promise<boolean> {
    const session = await this.connect();
    const wm = await this.watermarkColumn(session, table, watermark);
    const statement = hasRowsStatement({ table, watermark: wm, bounds, isolation: session.isolation, ...(table.timeZone ? { timeZone: table.timeZone } : {}) });
    const [row] = await this.run<{ found: number }>(session, statement, `probing ${name(table)}`);
    return row?.found === 1;
  }

  async *read(request: ReadRequest): AsyncGenerator<RowBatch> {
    const { table, columns, primaryKey, batchRows } = request;
    const session = await this.connect();
    const wm = await this.watermarkColumn(session, table, request.watermark);
    const catalog = await this.catalogFor(table);
    const byName = new Map(catalog.map((c) => [c.name, c]));
    const catalogOf = (n: string): MssqlCatalogColumn => {
      const c = byName.get(n);
      if (!c) throw new SourceError(`mssql source: column ${n} not found in ${name(table)}`);
      return c;
    };
    await once(this.checks, `${name(table)}|key|${primaryKey.join(',')}`, async () => {
      const indexes = await this.run<{ indexId: number; name: string }>(session, uniqueKeysStatement(table), `reading the unique keys of ${name(table)}`);
      const problems = keyProblems(table, primaryKey, catalog, indexes);
      if (problems.length > 0) throw new SourceError(`mssql source: ${problems.join('; ')}`);
    });

    const keys = planKeys(columns, primaryKey);
    const selected = columns.map((c) => catalogOf(c.name));
    const statement = readStatement({
      table,
      watermark: wm,
      bounds: request.bounds,
      isolation: session.isolation,
      columns: selected,
      primaryKey: primaryKey.map(catalogOf),
      appendedKeys: keys.appended.map(catalogOf),
      after: request.after,
      ...(request.until ? { until: request.until } : {}),
      ...(table.timeZone ? { timeZone: table.timeZone } : {}),
    });
    const converters = columns.map((c, i) => mssqlConverter(selected[i]!, c.parquet));
    const width = columns.length;

    const req = bind(session.pool.request(), statement.params);
    req.arrayRowMode = true;
    req.stream = true;
    const batches = rowBatches(req, () => void req.query(statement.sql), {
      batchRows,
      batchBytes: this.options.batchBytes ?? DEFAULT_BATCH_BYTES,
      rowBytes: mssqlRowSizer(selected),
      idleTimeoutMs: this.connection.requestTimeoutMs,
    });
    try {
      for await (const rows of batches) {
        for (const row of rows) {
          for (let i = 0; i < width; i++) {
            const v = row[i];
            if (v !== null && v !== undefined) {
              try {
                row[i] = converters[i]!(v);
              } catch (err) {
                throw new SourceError(`mssql source: column ${columns[i]!.name} of ${name(table)}: ${(err as Error).message}`);
              }
            } else row[i] = null;
          }
        }
        yield { rows, key: keys.key };
      }
    } catch (err) {
      throw describeError(err, `reading ${name(table)}`);
    }
  }

  private async tableRows(session: Session, table: TableRef): Promise<number> {
    const [row] = await this.run<{ n: string | null }>(session, tableRowsStatement(table), `counting the rows of ${name(table)} (sys.partitions)`);
    if (row?.n === null || row?.n === undefined) throw new SourceError(`mssql source: table ${name(table)} not found in sys.partitions`);
    return Number(row.n);
  }

  private async histogram(session: Session, table: TableRef, column: MssqlCatalogColumn): Promise<HistogramStep[]> {
    const rows = await this.run<HistogramRow>(session, histogramStatement(table, column), `reading the statistics histogram of ${name(table)}.${column.name}`);
    // A step for NULLs has no key: no key range and no watermark window holds them.
    return rows.flatMap((r) => (r.k === null ? [] : [{ key: r.k, rangeRows: Number(r.rangeRows), equalRows: Number(r.equalRows) }]));
  }

  /**
   * Ranges sized without reading the table: the row count from sys.partitions, and cuts from the
   * histogram of the statistics on the leading key column (an integer key is interpolated between
   * steps; rows added since the statistics were taken are put between the last step and the
   * largest key), each cut then resolved to the whole key of the last row at or below it by one
   * index seek. Without a usable histogram (no statistics, SQL Server before 2016 SP1 CU2, no
   * permission on the DMF) the keys of a TABLESAMPLE are cut at their quantiles; if that fails
   * too, the table loads as one range. `note` says which way it went and why. A table of at most
   * 1,000 keys a range is cut at its own keys, exactly.
   */
  async splitKeys(table: TableRef, primaryKey: string[], ranges: number): Promise<KeySplit> {
    const session = await this.connect();
    const catalog = await this.catalogFor(table);
    const keys = primaryKey.map((k) => {
      const c = catalog.find((col) => col.name === k);
      if (!c) throw new SourceError(`mssql source: primary-key column ${k} not found in ${name(table)}`);
      return c;
    });
    // sys.partitions needs no permission beyond reading the table: a failure here is the source's, and fails the run like any.
    const estimatedRows = await this.tableRows(session, table);
    const split = (boundaries: string[][], note?: string): KeySplit => ({ estimatedRows, estimate: 'statistics', boundaries, ...(note ? { note } : {}) });
    if (ranges < 2 || estimatedRows === 0) return split([]);
    const sampled = async (percent: number | null): Promise<string[][]> => {
      const rows = await this.run<Record<string, string>>(session, keySampleStatement({ table, primaryKey: keys, isolation: session.isolation, percent }), `sampling the keys of ${name(table)}`);
      return quantileCuts(rows.map((r) => keys.map((_, i) => String(r[`sl_k${i}`]))), ranges);
    };
    if (estimatedRows <= KEYS_PER_RANGE * ranges) return split(await sampled(null));

    let why: string;
    try {
      // sql_variant holds no CLR value: a hierarchyid histogram has no keys to cut at.
      const steps = keys[0]!.clr ? [] : await this.histogram(session, table, keys[0]!);
      const integer = INTEGER_KEY_TYPES.has(keys[0]!.type);
      if (steps.length === 0) why = `no statistics histogram on ${keys[0]!.name}`;
      else if (!integer && steps.length < 4 * ranges) why = `the histogram of ${keys[0]!.name} has ${steps.length} steps, too coarse for ${ranges} ranges of a non-integer key`;
      else {
        const counted = steps.reduce((n, st) => n + st.rangeRows + st.equalRows, 0);
        if (integer && estimatedRows > counted) {
          const [last] = await this.run<{ k: string | null }>(session, lastKeyStatement(table, keys[0]!, session.isolation), `reading the last key of ${name(table)}`);
          if (last?.k && BigInt(last.k) > BigInt(steps.at(-1)!.key)) steps.push({ key: last.k, rangeRows: estimatedRows - counted, equalRows: 0 });
        }
        const values = histogramCuts(steps, ranges, integer);
        const resolved: string[][] = [];
        for (let i = 0; i < values.length; i += CUTS_PER_STATEMENT) {
          const statement = keyCutsStatement({ table, primaryKey: keys, isolation: session.isolation, values: values.slice(i, i + CUTS_PER_STATEMENT) });
          const rows = await this.run<Record<string, string | number>>(session, statement, `resolving the key cuts of ${name(table)}`);
          resolved.push(...rows.map((r) => keys.map((_, j) => String(r[`sl_k${j}`]))));
        }
        return split(distinctCuts(resolved));
      }
    } catch (err) {
      why = `the statistics histogram of ${keys[0]!.name} is unreadable (${(err as Error).message}; sys.dm_db_stats_histogram needs SQL Server 2016 SP1 CU2 or later and SELECT on the column)`;
    }
    try {
      return split(await sampled(Math.min(100, (100 * KEYS_PER_RANGE * ranges) / estimatedRows)), `${why}: cut at a TABLESAMPLE of the keys`);
    } catch (err) {
      return split([], `${why}, and TABLESAMPLE failed (${(err as Error).message}): one range`);
    }
  }

  /**
   * Rows of each backfill window from the histogram of the watermark column's statistics (no
   * table read); rows added since the statistics were taken are spread from the last step to now.
   * A zone-less column written in another zone is sized on its wall clock as if it were UTC: off
   * by the zone's offset, which moves chunk edges, never which rows a chunk reads.
   */
  async estimateRows(table: TableRef, watermark: WatermarkSpec, windows: SliceBounds[]): Promise<RowEstimate> {
    const session = await this.connect();
    const column = (await this.catalogFor(table)).find((c) => c.name === watermark.column);
    if (!column) throw new SourceError(`mssql source: watermark column ${watermark.column} not found in ${name(table)}`);
    if (!TIMESTAMP_TYPES.has(column.type)) return { rows: null, reason: `${name(table)}.${column.name} is ${mssqlTypeName(column)}, not a timestamp` };
    let steps: HistogramStep[];
    try {
      steps = await this.histogram(session, table, column);
    } catch (err) {
      return { rows: null, reason: `the statistics histogram of ${name(table)}.${column.name} is unreadable (${(err as Error).message}; sys.dm_db_stats_histogram needs SQL Server 2016 SP1 CU2 or later and SELECT on the column)` };
    }
    const points: TimeStep[] = steps.map((st) => ({ at: timestampTextMs(st.key), rangeRows: st.rangeRows, equalRows: st.equalRows })).filter((p) => Number.isFinite(p.at));
    if (points.length === 0) return { rows: null, reason: `${name(table)}.${column.name} has no statistics (an index or CREATE STATISTICS on it gives backfills their sizes)` };
    const counted = points.reduce((n, p) => n + p.rangeRows + p.equalRows, 0);
    const total = await this.tableRows(session, table);
    const now = Date.now();
    if (total > counted && now > points.at(-1)!.at) points.push({ at: now, rangeRows: total - counted, equalRows: 0 });
    return { rows: windows.map((w) => histogramRowsIn(points, timestampTextMs(w.low ?? ''), timestampTextMs(w.high))) };
  }

  async close(): Promise<void> {
    if (this.session) {
      const session = await this.session.catch(() => undefined);
      this.session = undefined;
      await session?.pool.close();
    }
  }
}
