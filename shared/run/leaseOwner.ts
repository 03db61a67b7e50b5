import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease: one identity per process or invocation, never a run id. A run id is shared
 * by everything working for one run (every table of a scheduled run, every chunk of a backfill,
 * a queue message delivered twice), so as a lease owner it let two of them hold the same lease
 * at once. `cli@host:1234:5f2c9a`: where it runs, for the person reading `soundlake status`.
 */
export function newLeaseOwner(kind = 'run'): string {
  return `${kind}@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
