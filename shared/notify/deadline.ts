/** Thrown (and used as the abort reason) when work outlives its deadline. */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Run `work` with a signal that aborts after `ms`, and stop waiting for it `graceMs` later even
 * if it ignores the signal: the signal asks the work to stop (and lets it say how far it got),
 * the race makes sure the caller is free.
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, graceMs = 0): Promise<T> {
  const controller = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  const deadline = new Promise<never>((_, reject) => {
    timers.push(
      setTimeout(() => {
        const err = new DeadlineExceeded(ms);
        controller.abort(err);
        timers.push(setTimeout(() => reject(err), graceMs));
      }, ms),
    );
  });
  try {
    const running = work(controller.signal);
    running.catch(() => undefined);
    return await Promise.race([running, deadline]);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}
