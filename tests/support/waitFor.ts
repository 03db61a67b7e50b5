import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Poll `probe` until it returns something truthy (that value), failing after `timeoutMs` with
 * what was awaited: tests wait on a condition with a deadline, never on time alone.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}
