import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RowRequest, rowBatches } from '../../shared/source/mssql/mssqlRowStream.js';

/**
 * The bridge from tedious' pushed rows to the extractor's pulled batches. The request here is an
 * EventEmitter that behaves like mssql's streaming Request (row / error / done events, pause,
 * resume, cancel); time is vitest's fake clock, so the watchdog is tested without waiting.
 */
class ScriptedRequest extends EventEmitter implements RowRequest {
  paused = false;
  cancelled = 0;
  started = 0;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  cancel(): void {
    this.cancelled++;
    // mssql reports a cancelled request as an error, then done.
    this.emit('error', Object.assign(new Error('Canceled.'), { code: 'ECANCEL' }));
    this.emit('done');
  }
  rows(n: number, make: (i: number) => unknown[] = (i) => [i]): void {
    for (let i = 0; i < n; i++) this.emit('row', make(i));
  }
}

const options = { batchRows: 10, batchBytes: 1_000_000, rowBytes: () => 10, idleTimeoutMs: 60_000 };

afterEach(() => {
  vi.useRealTimers();
});

describe('rowBatches', () => {
  it('cuts batches by bytes as well as rows, so wide (max) rows do not pile up by the thousand', async () => {
    const req = new ScriptedRequest();
    const it = rowBatches(req, () => req.started++, { ...options, batchRows: 1000, batchBytes: 3_000_000, rowBytes: (r) => (r[1] as string).length * 2 });
    const first = it.next();
    expect(req.started).toBe(1);
    req.rows(7, (i) => [i, 'x'.repeat(500_000)]); // 1 MB per row
    req.emit('done');
    const sizes: number[] = [];
    for (let r = await first; !r.done; r = await it.next()) sizes.push(r.value.length);
    expect(sizes).toEqual([3, 3, 1]);
  });

  it('pauses the request while two batches wait and resumes it when the reader takes one', async () => {
    const req = new ScriptedRequest();
    const it = rowBatches(req, () => undefined, options);
    const first = it.next();
    req.rows(25);
    expect(req.paused).toBe(true);
    expect((await first).value).toHaveLength(10);
    expect(req.paused).toBe(false);
    req.emit('done');
    expect((await it.next()).value).toHaveLength(10);
    expect((await it.next()).value).toHaveLength(5);
    expect((await it.next()).done).toBe(true);
    expect(req.cancelled).toBe(0);
  });

  it('cancels a request that stays silent past the timeout, instead of waiting for ever', async () => {
    vi.useFakeTimers();
    const req = new ScriptedRequest();
    const it = rowBatches(req, () => undefined, options);
    const first = it.next();
    const failed = first.then(
      () => null,
      (e: Error) => e,
    );
    req.rows(3); // a few rows, then nothing: a blocked or stalled read
    await vi.advanceTimersByTimeAsync(60_000);
    expect(req.cancelled).toBe(0); // progress was made during the first period
    await vi.advanceTimersByTimeAsync(60_000);
    expect(req.cancelled).toBe(1);
    expect((await failed)?.message).toMatch(/no rows from SQL Server for 60 s; the read was cancelled/);
  });

  it('does not count time paused behind a slow reader as silence', async () => {
    vi.useFakeTimers();
    const req = new ScriptedRequest();
    const it = rowBatches(req, () => undefined, options);
    const first = it.next();
    req.rows(30); // three batches: paused
    expect(req.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * 60_000); // the reader is busy elsewhere for ten minutes
    expect(req.cancelled).toBe(0);
    expect((await first).value).toHaveLength(10);
    req.emit('done');
    let rows = 10;
    for (let r = await it.next(); !r.done; r = await it.next()) rows += r.value.length;
    expect(rows).toBe(30);
  });

  it('cancels the request when the reader stops early, and only then', async () => {
    const req = new ScriptedRequest();
    for await (const batch of rowBatches(req, () => req.rows(40), options)) {
      expect(batch).toHaveLength(10);
      break;
    }
    expect(req.cancelled).toBe(1);
    const done = new ScriptedRequest();
    for await (const _ of rowBatches(
      done,
      () => {
        done.rows(5);
        done.emit('done');
      },
      options,
    ));
    expect(done.cancelled).toBe(0);
  });

  it('surfaces a server error instead of the rows after it', async () => {
    const req = new ScriptedRequest();
    const it = rowBatches(req, () => undefined, options);
    const first = it.next();
    req.rows(12);
    req.emit('error', new Error('Conversion failed when converting date and/or time from character string.'));
    req.emit('done');
    await expect(first).rejects.toThrow(/Conversion failed/);
  });
});
