import { partPath, slicePartPrefix } from '../bronze/bronzePaths.js';
import { buildManifest, writeManifest } from '../bronze/manifest.js';
import { DEFAULT_ROW_GROUP_BYTES, ParquetPartWriter } from '../bronze/parquetPartWriter.js';
import { segmentsFromRows } from '../bronze/rowSegments.js';
import type { TableConfig } from '../config/pipelineConfig.js';
import type { Lake } from '../lake/lake.js';
import type { Logger } from '../logging/logger.js';
import type { ColumnSegment } from '../bronze/columnBatch.js';
import type { ReadRequest, Source, SourceColumn } from '../source/source.js';
import type { FaultHooks } from './faultHooks.js';
import type { PendingSlice } from './slice.js';
import { withPart } from './slice.js';

export interface SliceJob {
  table: TableConfig;
  columns: SourceColumn[];
  slice: PendingSlice;
  backfillId?: string | null;
  /** Write the slice's manifest once its parts are complete (default); a key range's finisher writes its slice's instead. */
  manifest?: boolean;
}

export interface SliceDeps {
  source: Source;
  lake: Lake;
  logger: Logger;
}

export interface SliceRunOptions {
  /** Stop after the part that ends past this time (epoch ms); the slice resumes from there later. */
  deadline?: number;
  /** Rows per source round trip (default 10 000). */
  batchRows?: number;
  hooks?: FaultHooks;
  /** The clock the deadline is read against (epoch ms); the system clock when absent. */
  now?: () => number;
}

export interface SliceOutcome {
  slice: PendingSlice;
  /** All parts written, surplus removed and manifest written: ready to commit. */
  done: boolean;
  /** What this call wrote (a resumed slice may have parts from earlier runs). */
  written: { rows: number; bytes: number; files: number };
}

/**
 * Writes one slice to bronze, part by part. After every committed part the slice's progress
 * (parts, keyset cursor) is handed to `persist` before the next part starts, so a crash at any
 * point leaves at most one part that the rerun rewrites under the same name.
 */
export async function extractSlice(
  deps: SliceDeps,
  job: SliceJob,
  persist: (slice: PendingSlice) => Promise<void>,
  options: SliceRunOptions = {},
): Promise<SliceOutcome> {
  const { table, columns } = job;
  let slice: PendingSlice = { ...job.slice, parts: [...job.slice.parts] };
  const written = { rows: 0, bytes: 0, files: 0 };
  const hooks = options.hooks;
  const at = async (point: Parameters<NonNullable<FaultHooks['checkpoint']>>[0], part?: number): Promise<void> => {
    await hooks?.checkpoint?.(point, { table: table.name, slice: slice.slice, ...(part === undefined ? {} : { part }) });
  };
  const kv = { 'soundlake.table': table.name, 'soundlake.slice': slice.slice, 'soundlake.run_id': slice.runId };

  if (!slice.exhausted) {
    let writer: ParquetPartWriter | undefined;
    let lastKey: string[] | null = null;
    let stoppedEarly = false;
    let reading: AsyncIterator<ColumnSegment> | undefined;

    /**
     * Commits the open part and records it. `following`: the read of what comes after it, under
     * way while the part is finished; when it finds the end, the same write records the slice as
     * read out (one round trip to the state store less per slice). Its failure fails the part's
     * recording, never its file: the rerun rewrites that part under the same name.
     */
    const closePart = async (following: Promise<IteratorResult<ColumnSegment>> | IteratorResult<ColumnSegment>): Promise<IteratorResult<ColumnSegment>> => {
      const part = slice.parts.length;
      const path = partPath(table.name, slice.loadDate, slice.slice, part);
      const bytes = await writer!.finish();
      const rows = writer!.rows;
      writer = undefined;
      const next = await following;
      await at('part-committed', part);
      slice = withPart(slice, { path, rows, bytes }, lastKey);
      if (next.done) slice = { ...slice, exhausted: true };
      await persist(slice);
      written.rows += rows;
      written.bytes += bytes;
      written.files += 1;
      deps.logger.info({ part, rows, bytes, path, totalRows: slice.rows }, 'part committed');
      await at('part-recorded', part);
      return next;
    };

    try {
      const request: ReadRequest = {
        table,
        columns,
        watermark: table.watermark,
        primaryKey: table.primaryKey,
        bounds: { low: slice.low, high: slice.high, ...(slice.kind === 'backfill' ? { window: 'closed-open' as const } : {}) },
        after: slice.after,
        ...(slice.until ? { until: slice.until } : {}),
        batchRows: options.batchRows ?? 10_000,
      };
      // Row groups never straddle a part: a part ends exactly at maxRowsPerFile rows.
      const limits = { groupRows: table.rowGroupRows, groupBytes: DEFAULT_ROW_GROUP_BYTES, partRows: table.maxRowsPerFile };
      const segments = deps.source.readColumns ? deps.source.readColumns({ ...request, limits }) : segmentsFromRows(deps.source.read(request), columns, limits);
      reading = segments[Symbol.asyncIterator]();
      let next = await reading.next();
      while (!next.done) {
        const segment = next.value;
        writer ??= new ParquetPartWriter(columns, deps.lake.upload(partPath(table.name, slice.loadDate, slice.slice, slice.parts.length)), table.rowGroupRows, kv);
        await writer.addGroup(segment);
        lastKey = segment.lastKey;
        await at('rows-written', slice.parts.length);
        if (writer.rows > table.maxRowsPerFile) throw new Error(`a row group crossed a part boundary (${writer.rows} rows > ${table.maxRowsPerFile})`);
        if (writer.rows < table.maxRowsPerFile) {
          next = await reading.next();
          continue;
        }
        const following = reading.next();
        following.catch(() => undefined); // awaited in closePart
        next = await closePart(following);
        if (!next.done && options.deadline !== undefined && (options.now ?? Date.now)() >= options.deadline) {
          stoppedEarly = true;
          break;
        }
      }
      // Rows read past the last full part: its own write records the slice as read out.
      if (!stoppedEarly && writer && writer.rows > 0) await closePart(next);
    } catch (err) {
      // The open part was never committed: its staged blocks expire unseen.
      writer?.abort();
      throw err;
    } finally {
      // Stopped early or failed: the read is given up (a COPY's connection is discarded).
      await reading?.return?.(undefined);
    }
    if (stoppedEarly) {
      deps.logger.info({ parts: slice.parts.length }, 'time budget used; slice continues in the next invocation');
      return { slice, done: false, written };
    }
    if (!slice.exhausted) {
      // Nothing was read, so no part's write could record it: the slice is read out on its own.
      slice = { ...slice, exhausted: true };
      await persist(slice);
    }
  }

  await at('parts-complete');
  // An earlier attempt may have committed more parts than this one (rows moved out of the
  // slice in between): anything under the slice's prefix that is not a recorded part goes. The
  // manifest names only recorded parts, so it is written meanwhile; the slice commits after both.
  const keep = new Set(slice.parts.map((p) => p.path));
  const sweep = async (): Promise<void> => {
    for await (const obj of deps.lake.list(slicePartPrefix(table.name, slice.loadDate, slice.slice))) {
      if (!keep.has(obj.path)) {
        await deps.lake.delete(obj.path);
        deps.logger.warn({ path: obj.path }, 'removed a part left by an earlier attempt');
      }
    }
  };
  const manifest = slice.parts.length > 0 && job.manifest !== false;
  const writing = manifest ? writeManifest(deps.lake, buildManifest({ table, sourceKind: deps.source.kind, columns, slice, backfillId: job.backfillId ?? null })) : undefined;
  // Both settle before either's failure is reported: nothing of this attempt is left running.
  const failed = (await Promise.allSettled([sweep(), writing])).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (manifest) await at('manifest-written');
  return { slice, done: true, written };
}
