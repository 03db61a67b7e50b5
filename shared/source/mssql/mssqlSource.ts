import mssql from 'mssql';
import { quoteMssql } from '../../config/identifiers.js';
import type { ReadRequest, RowBatch, SliceBounds, Source, SourceColumn, TableRef, WatermarkSpec } from '../source.js';
import { planKeys, SourceError, sourceFailure } from '../source.js';
import type { MssqlCatalogColumn } from './mssqlTypes.js';
import { mssqlConverter, mssqlKeyTextExpression, mssqlParquetType, mssqlSelectExpression, mssqlTypeName } from './mssqlTypes.js';

export interface MssqlSourceOptions {
  /**
   * Either `mssql://[user:password@]host[:port]/database[?authentication=default]` or an
   * ADO-style connection string. Without a user, Microsoft Entra auth through
   * DefaultAzureCredential (managed identity in Azure) is used.
   */
  url: string;
  /** Connections in the pool (default 4). */
  maxConnections?: number;
  /** Per-request timeout in ms (default 0: none, extraction queries stream for minutes). */
  requestTimeoutMs?: number;
}

export function mssqlConfigFromUrl(url: string, options: Pick<MssqlSourceOptions, 'maxConnections' | 'requestTimeoutMs'> = {}): mssql.config | string {
  if (!url.startsWith('mssql://') && !url.startsWith('sqlserver://')) return url;
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'master';
  const base: mssql.config = {
    server: u.hostname,
    port: u.port ? Number(u.port) : 1433,
    database,
    pool: { max: options.maxConnections ?? 4, min: 0 },
    requestTimeout: options.requestTimeoutMs ?? 0,
    options: {
      encrypt: u.searchParams.get('encrypt') !== 'false',
      trustServerCertificate: u.searchParams.get('trustServerCertificate') === 'true',
      useUTC: true,
    },
  };
  if (u.username) {
    return { ...base, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  }
  const clientId = u.searchParams.get('clientId') ?? undefined;
  return {
    ...base,
    authentication: {
      type: 'azure-active-directory-default',
      options: clientId ? { clientId } : {},
    },
  } as mssql.config;
}

const qualified = (t: TableRef): string => `${quoteMssql(t.schema)}.${quoteMssql(t.table)}`;

const describeError = (err: unknown, what: string): SourceError => sourceFailure('mssql', err, what);

/** Azure SQL Database / SQL Server through `mssql` (tedious). */
export class MssqlSource implements Source {
  readonly kind = 'mssql' as const;
  private pool: Promise<mssql.ConnectionPool> | undefined;
  private readonly catalog = new Map<string, MssqlCatalogColumn[]>();

  constructor(private readonly options: MssqlSourceOptions) {}

  private connect(): Promise<mssql.ConnectionPool> {
    if (!this.pool) {
      const config = mssqlConfigFromUrl(this.options.url, this.options);
      const pool = typeof config === 'string' ? new mssql.ConnectionPool(config) : new mssql.ConnectionPool(config);
      pool.on('error', () => undefined);
      this.pool = pool.connect().catch((err: unknown) => {
        this.pool = undefined;
        throw describeError(err, 'connecting');
      });
    }
    return this.pool;
  }

  private async catalogColumns(table: TableRef): Promise<MssqlCatalogColumn[]> {
    const pool = await this.connect();
    try {
      const result = await pool
        .request()
        .input('schema', mssql.NVarChar(128), table.schema)
        .input('table', mssql.NVarChar(128), table.table)
        .query(`SELECT c.name, t.name AS type, c.precision, c.scale, c.max_length AS maxLength, c.is_nullable AS nullable
                  FROM sys.columns c
                  JOIN sys.types t ON t.user_type_id = c.user_type_id
                 WHERE c.object_id = OBJECT_ID(QUOTENAME(@schema) + '.' + QUOTENAME(@table))
                 ORDER BY c.column_id`);
      const cols = result.recordset as MssqlCatalogColumn[];
      if (cols.length === 0) throw new SourceError(`mssql source: table ${table.schema}.${table.table} not found`);
      this.catalog.set(`${table.schema}.${table.table}`, cols);
      return cols;
    } catch (err) {
      throw describeError(err, `reading the catalogue for ${table.schema}.${table.table}`);
    }
  }

  private async catalogFor(table: TableRef): Promise<MssqlCatalogColumn[]> {
    return this.catalog.get(`${table.schema}.${table.table}`) ?? this.catalogColumns(table);
  }

  async describe(table: TableRef): Promise<SourceColumn[]> {
    const cols = await this.catalogColumns(table);
    return cols.map((c) => ({ name: c.name, sourceType: mssqlTypeName(c), nullable: Boolean(c.nullable), parquet: mssqlParquetType(c) }));
  }

  /** CAST target for bound watermark text: the column's own declared type. */
  private async watermarkType(table: TableRef, watermark: WatermarkSpec): Promise<{ column: MssqlCatalogColumn; castType: string }> {
    const column = (await this.catalogFor(table)).find((c) => c.name === watermark.column);
    if (!column) throw new SourceError(`mssql source: watermark column ${watermark.column} not found in ${table.schema}.${table.table}`);
    return { column, castType: mssqlTypeName(column) };
  }

  private async slicePredicate(table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds, request: mssql.Request): Promise<string> {
    const wm = quoteMssql(watermark.column);
    const { castType } = await this.watermarkType(table, watermark);
    const bound = (name: string): string =>
      watermark.kind === 'rowversion' ? `CONVERT(binary(8), CONVERT(bigint, @${name}))` : `CAST(@${name} AS ${castType})`;
    request.input('high', mssql.VarChar(64), bounds.high);
    if (bounds.window === 'closed-open') {
      if (bounds.low === null) throw new SourceError('a backfill window needs a lower bound');
      request.input('low', mssql.VarChar(64), bounds.low);
      return `${wm} >= ${bound('low')} AND ${wm} < ${bound('high')}`;
    }
    if (bounds.low === null) return `(${wm} <= ${bound('high')} OR ${wm} IS NULL)`;
    request.input('low', mssql.VarChar(64), bounds.low);
    return `${wm} > ${bound('low')} AND ${wm} <= ${bound('high')}`;
  }

  async safeUpperBound(table: TableRef, watermark: WatermarkSpec, lagSeconds: number): Promise<string | null> {
    const pool = await this.connect();
    const wm = quoteMssql(watermark.column);
    const { column } = await this.watermarkType(table, watermark);
    let sql: string;
    const request = pool.request();
    if (watermark.kind === 'rowversion') {
      // Rows at or above MIN_ACTIVE_ROWVERSION may still belong to open transactions.
      sql = `SELECT CONVERT(varchar(20), CASE WHEN m IS NULL THEN NULL WHEN m < safe THEN m ELSE safe END) AS high
               FROM (SELECT MAX(CONVERT(bigint, ${wm})) AS m, CONVERT(bigint, MIN_ACTIVE_ROWVERSION()) - 1 AS safe FROM ${qualified(table)}) s`;
    } else if (watermark.kind === 'timestamp') {
      request.input('lag', mssql.Int, Math.ceil(lagSeconds));
      const now = column.type === 'datetimeoffset' ? 'SYSDATETIMEOFFSET()' : 'SYSUTCDATETIME()';
      const text = (e: string): string =>
        column.type === 'datetimeoffset' ? `CONVERT(varchar(34), ${e}, 121)` : `CONVERT(varchar(27), CONVERT(datetime2(7), ${e}), 121)`;
      sql = `SELECT CASE WHEN m IS NULL THEN NULL WHEN m <= cap THEN ${text('m')} ELSE ${text('cap')} END AS high
               FROM (SELECT MAX(${wm}) AS m, DATEADD(second, -@lag, ${now}) AS cap FROM ${qualified(table)}) s`;
    } else {
      sql = `SELECT CONVERT(varchar(40), MAX(${wm})) AS high FROM ${qualified(table)}`;
    }
    try {
      const result = await request.query(sql);
      return (result.recordset[0]?.high as string | null) ?? null;
    } catch (err) {
      throw describeError(err, `reading the upper bound of ${table.schema}.${table.table}`);
    }
  }

  async hasRows(table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds): Promise<boolean> {
    const pool = await this.connect();
    const request = pool.request();
    const where = await this.slicePredicate(table, watermark, bounds, request);
    try {
      const result = await request.query(`SELECT CASE WHEN EXISTS (SELECT 1 FROM ${qualified(table)} WHERE ${where}) THEN 1 ELSE 0 END AS found`);
      return result.recordset[0]?.found === 1;
    } catch (err) {
      throw describeError(err, `probing ${table.schema}.${table.table}`);
    }
  }

  async *read(request: ReadRequest): AsyncGenerator<RowBatch> {
    const pool = await this.connect();
    const { table, columns, primaryKey, batchRows } = request;
    const catalog = await this.catalogFor(table);
    const byName = new Map(catalog.map((c) => [c.name, c]));
    const catalogOf = (name: string): MssqlCatalogColumn => {
      const c = byName.get(name);
      if (!c) throw new SourceError(`mssql source: column ${name} not found in ${table.schema}.${table.table}`);
      return c;
    };
    const req = pool.request();
    req.arrayRowMode = true;
    req.stream = true;
    const where = await this.slicePredicate(table, request.watermark, request.bounds, req);
    let keyset = '';
    if (request.after) {
      // (k1, k2) > (a, b) expanded, since T-SQL has no row-value comparison.
      const ors: string[] = [];
      primaryKey.forEach((k, i) => {
        const eqs = primaryKey.slice(0, i).map((p, j) => `${quoteMssql(p)} = @k${j}`);
        ors.push(`(${[...eqs, `${quoteMssql(k)} > @k${i}`].join(' AND ')})`);
      });
      request.after.forEach((v, i) => req.input(`k${i}`, mssql.NVarChar(4000), v));
      keyset = ` AND (${ors.join(' OR ')})`;
    }
    const keys = planKeys(columns, primaryKey);
    const select = [...columns.map((c) => mssqlSelectExpression(catalogOf(c.name))), ...keys.appended.map((k) => mssqlKeyTextExpression(catalogOf(k)))];
    const sql = `SELECT ${select.join(', ')} FROM ${qualified(table)} WHERE ${where}${keyset} ORDER BY ${primaryKey.map(quoteMssql).join(', ')}`;
    const converters = columns.map((c) => mssqlConverter(catalogOf(c.name), c.parquet));
    const width = columns.length;

    // Bridge tedious' push events to a pull iterator with bounded buffering (pause/resume).
    let buffer: unknown[][] = [];
    const ready: unknown[][][] = [];
    let finished = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    req.on('row', (row: unknown[]) => {
      buffer.push(row);
      if (buffer.length >= batchRows) {
        ready.push(buffer);
        buffer = [];
        if (ready.length >= 2) req.pause();
        notify();
      }
    });
    req.on('error', (err: unknown) => {
      failure = err;
      notify();
    });
    req.on('done', () => {
      if (buffer.length > 0) ready.push(buffer);
      buffer = [];
      finished = true;
      notify();
    });
    void req.query(sql);
    let completed = false;
    try {
      for (;;) {
        if (failure) throw describeError(failure, `reading ${table.schema}.${table.table}`);
        const rows = ready.shift();
        if (!rows) {
          if (finished) break;
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (ready.length < 2) req.resume();
        for (const row of rows) {
          for (let i = 0; i < width; i++) {
            const v = row[i];
            if (v !== null && v !== undefined) {
              try {
                row[i] = converters[i]!(v);
              } catch (err) {
                throw new SourceError(`mssql source: column ${columns[i]!.name} of ${table.schema}.${table.table}: ${(err as Error).message}`);
              }
            } else row[i] = null;
          }
        }
        yield { rows, key: keys.key };
      }
      completed = true;
    } finally {
      if (!completed && !finished) req.cancel();
    }
  }

  async close(): Promise<void> {
    if (this.pool) {
      const pool = await this.pool.catch(() => undefined);
      this.pool = undefined;
      await pool?.close();
    }
  }
}
