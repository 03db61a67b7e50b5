import type pg from 'pg';

/** Socket chunks held before the socket is paused (about 1 MiB): the server waits while we catch up. */
const MAX_QUEUED_CHUNKS = 16;

type DataHandler = (chunk: Buffer) => void;

interface PgConnection {
  stream: NodeJS.ReadableStream & { listeners(event: 'data'): DataHandler[] };
  query(text: string): void;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const ERROR_RESPONSE = 0x45; // 'E'
const NOTICE_RESPONSE = 0x4e; // 'N'
const PARAMETER_STATUS = 0x53; // 'S'
const NOTIFICATION = 0x41; // 'A'

/**
 * `COPY ... TO STDOUT` on a pg connection, read without a stream and without an object per row.
 * While the COPY runs, the connection's socket is taken from pg's protocol parser (as
 * pg-copy-streams does) and its chunks are only queued here; the reader pulls them, walks the
 * protocol's framing itself and hands each CopyData payload (one row each) to `onData` as a
 * range of the socket's own buffer. At CopyDone, or at an ErrorResponse, the rest of the bytes
 * go back to pg's parser, which then settles the query as usual (the error, CommandComplete,
 * ReadyForQuery). Nothing is parsed inside the socket's event handler, so nothing can throw there.
 */
export class CopyOut implements pg.Submittable {
  private connection: PgConnection | undefined;
  private pgHandler: DataHandler | undefined;
  private readonly chunks: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private ready = false;
  private paused = false;
  private attached = false;

  constructor(private readonly text: string) {}

  /** Called by pg when the query's turn comes. */
  submit(connection: unknown): void {
    const con = connection as PgConnection;
    this.connection = con;
    const listeners = con.stream.listeners('data');
    if (listeners.length !== 1) {
      this.handleError(new Error(`COPY: expected pg's one data listener on the socket, found ${listeners.length}`));
      return;
    }
    this.pgHandler = listeners[0]!;
    con.stream.removeListener('data', this.pgHandler);
    con.stream.on('data', this.onChunk);
    this.attached = true;
    con.query(this.text);
  }

  private readonly onChunk = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    if (this.chunks.length >= MAX_QUEUED_CHUNKS && !this.paused) {
      this.paused = true;
      this.connection!.stream.pause();
    }
    this.wake();
  };

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  // pg's hooks for a submitted query.
  handleError(err: Error): void {
    this.failure ??= err;
    this.wake();
  }
  handleReadyForQuery(): void {
    this.ready = true;
    this.wake();
  }
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}

  /** The next chunk of the socket, in order; throws if the connection failed meanwhile. */
  private async nextChunk(): Promise<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        if (this.paused && this.chunks.length < MAX_QUEUED_CHUNKS / 2) {
          this.paused = false;
          this.connection!.stream.resume();
        }
        return chunk;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Gives pg's parser the socket back, starting with `rest`, and waits for the query to settle. */
  private async handBack(rest: Buffer): Promise<void> {
    const stream = this.connection!.stream;
    stream.removeListener('data', this.onChunk);
    this.attached = false;
    stream.on('data', this.pgHandler!);
    const queued = [rest, ...this.chunks.splice(0)];
    for (const c of queued) if (c.length > 0) this.pgHandler!(c);
    if (this.paused) {
      this.paused = false;
      stream.resume();
    }
    while (!this.ready && !this.failure) await new Promise<void>((resolve) => (this.waiter = resolve));
    if (this.failure) throw this.failure;
  }

  /** Stops listening (the reader gave up): the caller discards the connection. */
  abandon(): void {
    if (!this.attached) return;
    this.connection?.stream.removeListener('data', this.onChunk);
    this.attached = false;
  }

  /**
   * Reads the COPY to its end: every CopyData payload (or the part of it in this chunk) goes to
   * `onData(buffer, start, end, whole)`, `whole` when the range is the entire payload, and the generator yields after each socket chunk, so the
   * reader can pass on what was decoded. Ends when the server has confirmed the COPY
   * (ReadyForQuery); throws its error, or the connection's.
   */
  async *run(onData: (buf: Buffer, start: number, end: number, whole: boolean) => void): AsyncGenerator<void> {
    let header = Buffer.alloc(0);
    let type = 0;
    let remaining = 0;
    // The message's payload began in this chunk: if it also ends here, it is passed whole.
    let fresh = false;
    for (;;) {
      const chunk = await this.nextChunk();
      let p = 0;
      while (p < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - p);
          if (type === COPY_DATA) onData(chunk, p, p + n, fresh && n === remaining);
          p += n;
          remaining -= n;
          fresh = false;
          continue;
        }
        // A message header: a type byte and a length that counts itself; it may straddle chunks.
        if (header.length > 0 || chunk.length - p < 5) {
          const take = Math.min(5 - header.length, chunk.length - p);
          header = Buffer.concat([header, chunk.subarray(p, p + take)]);
          p += take;
          if (header.length < 5) continue;
          type = header[0]!;
          remaining = header.readInt32BE(1) - 4;
          header = Buffer.alloc(0);
        } else {
          type = chunk[p]!;
          remaining = ((chunk[p + 1]! << 24) | (chunk[p + 2]! << 16) | (chunk[p + 3]! << 8) | chunk[p + 4]!) - 4;
          p += 5;
        }
        fresh = true;
        if (type === COPY_DONE) {
          await this.handBack(chunk.subarray(p));
          return;
        }
        if (type === ERROR_RESPONSE) {
          // pg parses the error from its own message header on: hand back from there.
          await this.handBack(errorMessage(chunk, p, remaining));
          throw new Error('COPY: the server reported an error that pg did not pass on');
        }
        if (type !== COPY_DATA && type !== COPY_OUT_RESPONSE && type !== NOTICE_RESPONSE && type !== PARAMETER_STATUS && type !== NOTIFICATION) {
          throw new Error(`COPY: unexpected protocol message ${String.fromCharCode(type)}`);
        }
      }
      yield;
    }
  }
}

/** The ErrorResponse whose payload starts at `p` of `chunk`, whole again (type byte and length first). */
function errorMessage(chunk: Buffer, p: number, payload: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = ERROR_RESPONSE;
  head.writeInt32BE(payload + 4, 1);
  return Buffer.concat([head, chunk.subarray(p)]);
}
