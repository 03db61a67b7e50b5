import { SourceError } from '../source.js';

/** The part of an `mssql` streaming Request the bridge uses. */
export interface RowRequest {
  on(event: 'row' | 'error' | 'done', listener: (...args: any[]) => void): unknown;
  pause(): void;
  resume(): void;
  cancel(): void;
}

export interface RowStreamOptions {
  /** Rows per batch at most. */
  batchRows: number;
  /** Bytes per batch at most (one row over, at worst): (max) columns make row counts meaningless. */
  batchBytes: number;
  /** Bytes a row holds in memory, as estimated by the caller. */
  rowBytes: (row: unknown[]) => number;
  /**
   * Longest silence from the server, while the reader is waiting for rows, before the request is
   * cancelled: tedious' own request timeout stops at the first packet, so without this a read
   * blocked mid-stream would wait until the function is killed. Detected within twice this.
   */
  idleTimeoutMs: number;
}

/** Batches waiting for the reader before the request is paused (TCP then holds the server back). */
const READY_LIMIT = 2;

/**
 * tedious pushes rows; the extractor pulls batches. Rows collect into batches bounded by rows and
 * by bytes, at most two batches wait before the request is paused, a silent server is cancelled
 * after `idleTimeoutMs`, and a reader that stops early cancels the request, which hands the
 * connection back to the pool. `start` sends the query once the listeners are in place.
 */
export async function* rowBatches(req: RowRequest, start: () => void, options: RowStreamOptions): AsyncGenerator<unknown[][]> {
  const { batchRows, batchBytes, rowBytes, idleTimeoutMs } = options;
  let buffer: unknown[][] = [];
  let bufferBytes = 0;
  const ready: unknown[][][] = [];
  let finished = false;
  let failure: unknown;
  let paused = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // A counter per row instead of a timer reset per row: the hot path pays one increment.
  let progress = 0;
  let seen = -1;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    timer = undefined;
    if (finished || failure !== undefined) return;
    if (!paused && progress === seen) {
      failure = new SourceError(`mssql source: no rows from SQL Server for ${Math.round(idleTimeoutMs / 1000)} s; the read was cancelled (blocked, or the server stalled)`);
      req.cancel();
      notify();
      return;
    }
    seen = progress;
    timer = setTimeout(tick, idleTimeoutMs);
  };

  req.on('row', (row: unknown[]) => {
    progress++;
    buffer.push(row);
    bufferBytes += rowBytes(row);
    if (buffer.length >= batchRows || bufferBytes >= batchBytes) {
      ready.push(buffer);
      buffer = [];
      bufferBytes = 0;
      if (ready.length >= READY_LIMIT && !paused) {
        paused = true;
        req.pause();
      }
      notify();
    }
  });
  req.on('error', (err: unknown) => {
    failure ??= err;
    notify();
  });
  req.on('done', () => {
    if (buffer.length > 0) ready.push(buffer);
    buffer = [];
    finished = true;
    notify();
  });

  start();
  timer = setTimeout(tick, idleTimeoutMs);
  let completed = false;
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const rows = ready.shift();
      if (!rows) {
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (paused && ready.length < READY_LIMIT) {
        paused = false;
        progress++;
        req.resume();
      }
      yield rows;
    }
    completed = true;
  } finally {
    if (timer) clearTimeout(timer);
    if (!completed && !finished) req.cancel();
  }
}
