import pg from 'pg';
import type { ColumnSegment } from '../../bronze/columnBatch.js';
import { segmentsFromRows } from '../../bronze/rowSegments.js';
import { quotePostgres } from '../../config/identifiers.js';
import type { ColumnarReadRequest, KeySplit, ReadRequest, RowBatch, RowEstimate, SliceBounds, Source, SourceColumn, TableRef, WatermarkSpec } from '../source.js';
import { planKeys, SourceError, sourceFailure } from '../source.js';
import { decimalToUnscaled, ValueError } from '../valueCodecs.js';
import { FetchSizer } from '../fetchSizer.js';
import { quantileCuts } from '../keyCuts.js';
import { CopyBinaryDecoder, UnreadableField } from './copyBinaryDecoder.js';
import { CopyOut } from './copyOut.js';
import { copyPlan } from './copyQuery.js';
import { GuardedCursor } from './guardedCursor.js';
import { bindTo, slicePredicate } from './slicePredicate.js';
import { parquetTypeParsers, postgresParquetType, textTypeParsers } from './postgresTypes.js';

export interface PostgresSourceOptions {
  /** libpq-style URL, e.g. postgres://user@host:5432/db. */
  url: string;
  /** Connections in the pool (default 4). */
  maxConnections?: number;
  /** Connect timeout in ms (default 10 000). */
  connectTimeoutMs?: number;
  /**
   * Read slices with binary COPY, decoded straight into row groups (default true). Off, or on a
   * server that refuses `COPY ... TO STDOUT (FORMAT binary)`, slices are read with a cursor.
   */
  copy?: boolean;
}

/** SQLSTATEs of a server that does not take COPY TO STDOUT: then the cursor path reads instead. */
const COPY_REFUSED = new Set(['0A000']);

const prepared = new WeakSet<pg.PoolClient>();

const qualified = (t: TableRef): string => `${quotePostgres(t.schema)}.${quotePostgres(t.table)}`;

const describeError = (err: unknown, what: string): SourceError => sourceFailure('postgres', err, what);

/** PostgreSQL over the wire protocol (`pg`): real Postgres, Azure Database for PostgreSQL, or embedded PGlite. */
export class PostgresSource implements Source {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private copy: boolean;

  constructor(options: PostgresSourceOptions) {
    this.copy = options.copy ?? true;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client that dies must not crash the process; the next checkout reconnects.
    this.pool.on('error', () => undefined);
  }

  /** A pooled connection whose session speaks UTC and ISO: timestamps are read as text, and that text must be unambiguous. */
  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!prepared.has(client)) {
      // A socket that dies mid-read (EPIPE, reset) is reported through the pending query; without a
      // listener the same error would also surface as an uncaught exception and take the worker down.
      client.on('error', () => undefined);
      try {
        await client.query(`SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'`);
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
      prepared.add(client);
    }
    return client;
  }

  warm(): void {
    this.checkout().then(
      (client) => client.release(),
      () => undefined,
    );
  }

  private async query(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const client = await this.checkout();
    let failure: Error | undefined;
    try {
      return await client.query(config);
    } catch (err) {
      failure = err as Error;
      throw err;
    } finally {
      // Query errors leave the connection usable; connection errors do not.
      client.release(failure && !(failure as { severity?: string }).severity ? failure : undefined);
    }
  }

  async describe(table: TableRef): Promise<SourceColumn[]> {
    let rows: { name: string; type: string; typname: string; typmod: number; nullable: boolean }[];
    try {
      const result = await this.query({
        text: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname, a.atttypmod AS typmod, NOT a.attnotnull AS nullable
                 FROM pg_catalog.pg_attribute a
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                  AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum`,
        values: [table.schema, table.table],
        types: textTypeParsers,
      });
      rows = result.rows.map((r: Record<string, string>) => ({
        name: r.name!,
        type: r.type!,
        typname: r.typname!,
        typmod: Number(r.typmod),
        nullable: r.nullable === 't',
      }));
    } catch (err) {
      throw describeError(err, `reading the catalogue for ${table.schema}.${table.table}`);
    }
    if (rows.length === 0) throw new SourceError(`postgres source: table ${table.schema}.${table.table} not found (names are case-sensitive)`);
    return rows.map((r) => ({ name: r.name, sourceType: r.type, nullable: r.nullable, parquet: postgresParquetType(r.typname, r.typmod) }));
  }

  async safeUpperBound(table: TableRef, watermark: WatermarkSpec, lagSeconds: number): Promise<string | null> {
    const wm = quotePostgres(watermark.column);
    let text: string;
    let values: unknown[] = [];
    if (watermark.kind === 'timestamp') {
      // The database's clock, not ours: the cap and the rows come from the same place.
      text = `SELECT CASE WHEN m IS NULL THEN NULL WHEN m <= cap THEN m::text ELSE cap::text END AS high
                FROM (SELECT MAX(${wm}) AS m, now() - make_interval(secs => $1) AS cap FROM ${qualified(table)}) s`;
      values = [lagSeconds];
    } else if (watermark.kind === 'integer') {
      text = `SELECT MAX(${wm})::text AS high FROM ${qualified(table)}`;
    } else {
      throw new SourceError('postgres source: rowversion watermarks exist only on SQL Server');
    }
    try {
      const result = await this.query({ text, values, types: textTypeParsers });
      return (result.rows[0]?.high as string | null) ?? null;
    } catch (err) {
      throw describeError(err, `reading the upper bound of ${table.schema}.${table.table}`);
    }
  }

  async hasRows(table: TableRef, watermark: WatermarkSpec, bounds: SliceBounds): Promise<boolean> {
    const params: unknown[] = [];
    const where = slicePredicate(watermark, bounds, bindTo(params));
    try {
      const result = await this.query({
        text: `SELECT EXISTS (SELECT 1 FROM ${qualified(table)} WHERE ${where}) AS found`,
        values: params,
        types: textTypeParsers,
      });
      return result.rows[0]?.found === 't';
    } catch (err) {
      throw describeError(err, `probing ${table.schema}.${table.table}`);
    }
  }

  async *read(request: ReadRequest): AsyncGenerator<RowBatch> {
    const { table, columns, primaryKey, batchRows } = request;
    const params: unknown[] = [];
    const bind = bindTo(params);
    const where = slicePredicate(request.watermark, request.bounds, bind);
    const keyList = primaryKey.map(quotePostgres).join(', ');
    let keyset = request.after ? ` AND (${keyList}) > (${request.after.map(bind).join(', ')})` : '';
    // A key range's inclusive end (ranged initial loads).
    if (request.until) keyset += ` AND (${keyList}) <= (${request.until.map(bind).join(', ')})`;
    const keys = planKeys(columns, primaryKey);
    const select = [...columns.map((c) => quotePostgres(c.name)), ...keys.appended.map((k, i) => `${quotePostgres(k)}::text AS "__soundlake_key${i}"`)].join(', ');
    const sql = `SELECT ${select} FROM ${qualified(table)} WHERE ${where}${keyset} ORDER BY ${keyList}`;

    const decimals = columns.flatMap((c, i) => (c.parquet.kind === 'decimal' ? [{ i, c, precision: c.parquet.precision!, scale: c.parquet.scale! }] : []));

    let client: pg.PoolClient;
    try {
      client = await this.checkout();
    } catch (err) {
      throw describeError(err, 'connecting');
    }
    let broken: Error | undefined;
    let cursor: GuardedCursor | undefined;
    let inFlight: Promise<unknown[][]> | undefined;
    try {
      // An explicit read-only transaction: one snapshot for the whole read, and on PGlite's
      // multiplexed server it keeps other connections from interleaving with our portal.
      await client.query('BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ');
      cursor = client.query(new GuardedCursor(sql, params, parquetTypeParsers));
      // One read ahead (pg-cursor serves a single outstanding read): the server fills the next
      // batch while we convert this one.
      const sizer = new FetchSizer(columns, batchRows);
      let asked = sizer.first();
      const readAhead = (rows: number): Promise<unknown[][]> => {
        asked = rows;
        const p = cursor!.read(rows);
        // Marked handled now: if the connection dies, the read rejects before we await it.
        p.catch(() => undefined);
        return p;
      };
      inFlight = readAhead(asked);
      while (inFlight) {
        const rows: unknown[][] = await inFlight;
        const unreadable = cursor.failure;
        if (unreadable) {
          const problem = unreadable.error instanceof Error ? unreadable.error.message : String(unreadable.error);
          throw new SourceError(`postgres source: column ${unreadable.column} of ${table.schema}.${table.table}: ${problem}`, { cause: unreadable.error });
        }
        inFlight = rows.length === asked ? readAhead(sizer.next(rows)) : undefined;
        if (rows.length === 0) break;
        for (const { i, c, precision, scale } of decimals) {
          for (const row of rows) {
            const v = row[i];
            if (v === null) continue;
            try {
              row[i] = decimalToUnscaled(v as string, precision, scale);
            } catch (err) {
              throw new SourceError(`postgres source: column ${c.name} of ${table.schema}.${table.table}: ${(err as ValueError).message}`);
            }
          }
        }
        yield { rows, key: keys.key };
      }
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw describeError(err, `reading ${table.schema}.${table.table}`);
    } finally {
      if (!broken) {
        try {
          if (inFlight) await inFlight.catch(() => undefined);
          if (cursor) await new Promise<void>((resolve) => cursor!.close(() => resolve()));
          await client.query('ROLLBACK');
        } catch (err) {
          broken = err as Error;
        }
      }
      // A connection that failed mid-stream is discarded, not returned to the pool.
      client.release(broken ?? undefined);
    }
  }

  /**
   * The slice through `COPY (SELECT ... ORDER BY key) TO STDOUT (FORMAT binary)`: one statement,
   * one snapshot, no round trip per fetch, and every value decoded from the socket's bytes into
   * the row group's Arrow buffers (CopyBinaryDecoder). The stream is pulled: while a row group is
   * being encoded or uploaded nothing is read, the socket fills and the server waits, so memory
   * stays at a few row groups. Decoding runs in this generator, never in a stream event handler,
   * so an unreadable value fails the read (naming table, column and value), never the process.
   */
  async *readColumns(request: ColumnarReadRequest): AsyncGenerator<ColumnSegment> {
    if (!this.copy) {
      yield* segmentsFromRows(this.read(request), request.columns, request.limits);
      return;
    }
    const { table } = request;
    let client: pg.PoolClient;
    try {
      client = await this.checkout();
    } catch (err) {
      throw describeError(err, 'connecting');
    }
    let finished = false;
    let refused = false;
    let copy: CopyOut | undefined;
    try {
      const plan = await copyPlan(client, request);
      const decoder = new CopyBinaryDecoder(plan.columns, plan.appendedKeys, plan.keys, request.limits);
      copy = client.query(new CopyOut(plan.sql));
      let started = false;
      try {
        for await (const _ of copy.run((buf, start, end, whole) => (whole ? decoder.pushMessage(buf, start, end) : decoder.push(buf, start, end)))) {
          started = true;
          for (let segment = decoder.take(); segment; segment = decoder.take()) yield segment;
        }
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (!started && code && COPY_REFUSED.has(code)) refused = true;
        else throw err;
      }
      if (!refused) {
        decoder.end();
        for (let segment = decoder.take(); segment; segment = decoder.take()) yield segment;
        finished = true;
      }
    } catch (err) {
      if (err instanceof UnreadableField) throw new SourceError(`postgres source: column ${err.column} of ${table.schema}.${table.table}: ${err.problem}`, { cause: err });
      throw describeError(err, `reading ${table.schema}.${table.table}`);
    } finally {
      // A COPY left mid-stream (the reader stopped, or a value failed) cannot be cancelled in
      // band: the connection is discarded, which ends the COPY on the server.
      if (!finished && !refused) copy?.abandon();
      client.release(finished || refused ? undefined : new Error('COPY read not completed'));
    }
    if (refused) {
      // This server does not serve COPY TO STDOUT: this source reads with a cursor from now on.
      this.copy = false;
      yield* segmentsFromRows(this.read(request), request.columns, request.limits);
    }
  }

  /**
   * Ranges sized by the planner's statistics: `pg_class.reltuples` (kept by ANALYZE and
   * autovacuum, free to read, and what the planner itself trusts) for the row count, and a block
   * sample (`TABLESAMPLE SYSTEM`) for where to cut. The sample is sized in pages, not rows: a
   * table written in key order holds a run of neighbouring keys on each page, so the cuts are as
   * precise as the number of pages read (133 pages for 16 ranges of 300M rows gave ranges of 14M
   * to 36M rows; 1,000 pages a range keeps them within a few percent). Of those pages' rows about
   * 1,000 keys a range come back to be sorted. A table never analyzed (reltuples -1) is counted instead, up to 10M rows, so
   * the estimate never costs a scan of a huge table. Cuts are sample quantiles: a skewed key
   * still gives ranges of about equal rows, which equal-width cuts of MIN..MAX would not.
   */
  async splitKeys(table: TableRef, primaryKey: string[], ranges: number): Promise<KeySplit> {
    const BOUNDED_COUNT = 10_000_000;
    const KEYS_PER_RANGE = 1_000;
    const BLOCKS_PER_RANGE = 1_000;
    try {
      const stats = await this.query({ text: `SELECT reltuples::bigint::text AS n, relpages::text AS p FROM pg_class WHERE oid = $1::regclass`, values: [qualified(table)], types: textTypeParsers });
      let estimatedRows = Number(stats.rows[0]?.n ?? -1);
      const pages = Math.max(1, Number(stats.rows[0]?.p ?? 0));
      let estimate: KeySplit['estimate'] = 'statistics';
      if (!(estimatedRows >= 0)) {
        const counted = await this.query({ text: `SELECT count(*)::text AS n FROM (SELECT 1 FROM ${qualified(table)} LIMIT ${BOUNDED_COUNT}) s`, types: textTypeParsers });
        estimatedRows = Number(counted.rows[0]?.n ?? 0);
        estimate = 'bounded-count';
      }
      if (ranges < 2 || estimatedRows === 0) return { estimatedRows, estimate, boundaries: [] };
      const percent = Math.min(100, (100 * BLOCKS_PER_RANGE * ranges) / pages);
      const keep = Math.min(1, (KEYS_PER_RANGE * ranges) / Math.max(1, (estimatedRows * percent) / 100));
      const keyList = primaryKey.map(quotePostgres).join(', ');
      const keyText = primaryKey.map((k, i) => `${quotePostgres(k)}::text AS k${i}`).join(', ');
      const sampled = await this.query({
        text: `SELECT ${keyText} FROM ${qualified(table)}${percent < 100 ? ` TABLESAMPLE SYSTEM (${percent.toFixed(6)})` : ''}${keep < 1 ? ' WHERE random() < $1' : ''} ORDER BY ${keyList}`,
        values: keep < 1 ? [keep] : [],
        types: textTypeParsers,
      });
      const keys = sampled.rows.map((row: Record<string, string>) => primaryKey.map((_, i) => row[`k${i}`]!));
      return { estimatedRows, estimate, boundaries: quantileCuts(keys, ranges) };
    } catch (err) {
      throw describeError(err, `sizing key ranges of ${table.schema}.${table.table}`);
    }
  }

  /**
   * The planner's estimate of each window's rows: EXPLAIN of the window's own predicate (bound
   * parameters, as a read binds them), which reads the column's histogram and never the table.
   * A column the planner has no statistics for (never analyzed) gets no estimate: the planner
   * would fall back to a fixed selectivity, which says nothing about where the rows are.
   */
  async estimateRows(table: TableRef, watermark: WatermarkSpec, windows: SliceBounds[]): Promise<RowEstimate> {
    try {
      const stats = await this.query({
        text: `SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname = $3`,
        values: [table.schema, table.table, watermark.column],
      });
      if (!(Number(stats.rows[0]?.n) > 0)) return { rows: null, reason: `${table.schema}.${table.table}.${watermark.column} has no planner statistics (never analyzed; ANALYZE the table)` };
      const rows: number[] = [];
      for (const bounds of windows) {
        const params: unknown[] = [];
        const where = slicePredicate(watermark, bounds, bindTo(params));
        const plan = await this.query({ text: `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${qualified(table)} WHERE ${where}`, values: params, types: textTypeParsers });
        const text = Object.values(plan.rows[0] ?? {})[0];
        const parsed = JSON.parse(String(text)) as { Plan: { 'Plan Rows': number } }[];
        rows.push(Number(parsed[0]?.Plan['Plan Rows'] ?? 0));
      }
      return { rows };
    } catch (err) {
      throw describeError(err, `estimating rows of ${table.schema}.${table.table}`);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
