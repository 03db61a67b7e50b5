import { Worker } from 'node:worker_threads';
import type { EncoderReply, EncoderRequest } from './parquetEncoderWorker.js';

/**
 * Encoder workers kept between files: starting a worker costs tens of milliseconds, a bronze
 * part is written in seconds. Idle workers are unref'd so they never keep a process alive.
 */
export class EncoderHandle {
  private listener: ((reply: EncoderReply) => void) | undefined;
  private failure: ((err: Error) => void) | undefined;
  /**
   * Why the worker is gone, kept even when no file held it: a prewarmed worker that could not
   * start (its module missing or failing to load) dies idle, and a file given it must fail at
   * once. Unnoticed, the file waited for replies that never came until the event loop emptied
   * and the process exited 0 with its slice pending and no result.
   */
  private lost: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (reply: EncoderReply) => this.listener?.(reply));
    worker.on('error', (err) => this.lose(err));
    worker.on('exit', (code) => this.lose(new Error(`Parquet encoder worker exited with code ${code}`)));
  }

  get alive(): boolean {
    return this.lost === undefined;
  }

  private lose(err: Error): void {
    this.lost ??= err;
    this.failure?.(err);
  }

  attach(listener: (reply: EncoderReply) => void, failure: (err: Error) => void): void {
    this.listener = listener;
    this.failure = failure;
    this.worker.ref();
    const lost = this.lost;
    if (lost) queueMicrotask(() => this.failure?.(lost));
  }

  send(request: EncoderRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  detach(): void {
    this.listener = undefined;
    this.failure = undefined;
    this.worker.unref();
  }
}

const idle: EncoderHandle[] = [];

function spawn(): EncoderHandle {
  const here = import.meta.url;
  // Under tsx/vitest this module is TypeScript source, and so is its worker.
  const typescript = here.endsWith('.ts');
  const url = new URL(typescript ? './parquetEncoderWorker.ts' : './parquetEncoderWorker.js', here);
  // A row group in flight needs tens of MB; a small heap makes the worker collect early instead
  // of growing towards the default limit.
  const resourceLimits = { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 32 };
  if (!typescript) return new EncoderHandle(new Worker(url, { resourceLimits }));
  // Workers do not inherit the parent's loader hooks: register tsx in the worker, then load the source.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new EncoderHandle(new Worker(bootstrap, { eval: true, resourceLimits }));
}

/**
 * Starts an encoder thread now, so that the thread's own start (a Node environment, the encoder
 * and Snappy's native module) overlaps the caller's (the CLI loading the Azure SDKs, planning the
 * slice) instead of delaying the first row group. Idle and unref'd until a file takes it.
 */
export function prewarmEncoder(): void {
  if (idle.length > 0) return;
  const handle = spawn();
  handle.worker.unref();
  idle.push(handle);
}

export function acquireEncoder(): EncoderHandle {
  // A worker that died while idle is dropped; a fresh one fails the file itself if it cannot start either.
  for (let handle = idle.pop(); handle; handle = idle.pop()) if (handle.alive) return handle;
  return spawn();
}

/** Back to the pool after a finished file; a worker that saw an unfinished file is discarded instead. */
export function releaseEncoder(handle: EncoderHandle, clean: boolean): void {
  handle.detach();
  if (clean && handle.alive && idle.length < 4) idle.push(handle);
  else void handle.worker.terminate();
}
