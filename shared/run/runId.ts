import { randomBytes } from 'node:crypto';

/** Sortable, short, unique: `r-20261125T084700Z-5f2c9a`. Appears in every log line, ledger row and alert. */
export function newRunId(prefix = 'r', now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${prefix}-${stamp}-${randomBytes(3).toString('hex')}`;
}
