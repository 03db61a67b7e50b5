import { randomBytes } from 'node:crypto';

/** The time part of a run id, `20261125T084700Z`: ids sort by it. */
export function runIdStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Sortable, short, unique: `r-20261125T084700Z-5f2c9a`. Appears in every log line, ledger row and alert. */
export function newRunId(prefix = 'r', now = new Date()): string {
  return `${prefix}-${runIdStamp(now)}-${randomBytes(3).toString('hex')}`;
}
