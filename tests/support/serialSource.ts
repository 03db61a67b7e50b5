import type { KeySplit, ReadRequest, RowEstimate, RowBatch, SliceBounds, Source, TableRef, WatermarkSpec } from '../../shared/source/source.js';

/**
 * The real source, its calls taking turns. PGlite serves every connection from one session, so
 * reads running at once on it interleave their statements (a real PostgreSQL keeps them apart);
 * tests of work that runs in parallel (key ranges) let their state writes race and their reads
 * queue here. A read holds its turn until it ends or is broken off.
 */
export function serialSource(source: Source): Source {
  let tail: Promise<void> = Promise.resolve();
  const turn = async (): Promise<() => void> => {
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const before = tail;
    tail = tail.then(() => mine);
    await before;
    return done;
  };
  const serial =
    <A extends unknown[], T>(f: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      const done = await turn();
      try {
        return await f(...args);
      } finally {
        done();
      }
    };
  return {
    kind: source.kind,
    describe: serial((t: TableRef) => source.describe(t)),
    safeUpperBound: serial((t: TableRef, w: WatermarkSpec, lag: number) => source.safeUpperBound(t, w, lag)),
    hasRows: serial((t: TableRef, w: WatermarkSpec, b: SliceBounds) => source.hasRows(t, w, b)),
    ...(source.splitKeys ? { splitKeys: serial((t: TableRef, k: string[], n: number): Promise<KeySplit> => source.splitKeys!(t, k, n)) } : {}),
    ...(source.estimateRows ? { estimateRows: serial((t: TableRef, w: WatermarkSpec, b: SliceBounds[]): Promise<RowEstimate> => source.estimateRows!(t, w, b)) } : {}),
    read: async function* (request: ReadRequest): AsyncGenerator<RowBatch> {
      const done = await turn();
      try {
        yield* source.read(request);
      } finally {
        done();
      }
    },
    close: () => source.close(),
  };
}
