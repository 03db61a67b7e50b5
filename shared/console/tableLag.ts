import type { TableConfig } from '../config/pipelineConfig.js';
import { redactSecrets } from '../logging/redact.js';
import { newLeaseOwner } from '../run/leaseOwner.js';
import type { SourceRegistry } from '../source/sourceRegistry.js';
import type { TableLag } from '../../console/src/consoleTypes.js';

/**
 * How far a table's committed watermark is behind its source. The source is asked for its
 * highest watermark now (`safeUpperBound` with no lag: the MAX, capped at the database's clock)
 * at most once per `ttlMs` per table, so a page refreshing every few seconds costs the source
 * one indexed MAX per table per period, not one per refresh. The question takes a connection
 * slot like any reader: when the source's slots are all busy, the lag says so instead.
 */
export class LagProbe {
  private readonly cache = new Map<string, { at: number; high: Promise<string | null> }>();
  private readonly owner = newLeaseOwner('console');

  constructor(
    private readonly sources: Pick<SourceRegistry, 'use'>,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async lag(table: TableConfig, committed: string | null): Promise<TableLag> {
    const now = this.now();
    const key = `${table.source}|${table.name}|${table.watermark.column}|${table.watermark.kind}`;
    let entry = this.cache.get(key);
    if (!entry || now - entry.at > this.ttlMs) {
      const high = this.sources.use(table.source, this.owner, `console: lag of ${table.name}`, (source) => source.safeUpperBound(table, table.watermark, 0));
      const asked = { at: now, high };
      entry = asked;
      this.cache.set(key, asked);
      // A failure is reported once and asked again next time, not cached for the whole period.
      asked.high.catch(() => {
        if (this.cache.get(key) === asked) this.cache.delete(key);
      });
    }
    const checkedAt = new Date(entry.at).toISOString();
    try {
      const sourceHigh = await entry.high;
      return { sourceHigh, ...behind(table.watermark.kind, committed, sourceHigh), checkedAt };
    } catch (err) {
      return { sourceHigh: null, behindMs: null, behindValues: null, checkedAt, error: redactSecrets(err instanceof Error ? err.message : String(err)) };
    }
  }
}

/** Milliseconds since the epoch of a watermark as sources write it (`2026-03-01 06:00:00.123456+00`, ISO 8601); zone-less is UTC. */
export function watermarkInstant(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
  if (!m) return null;
  const fraction = (m[3] ?? '').slice(0, 4);
  let zone = m[4] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${fraction}${zone.toUpperCase()}`);
  return Number.isNaN(ms) ? null : ms;
}

function asBigInt(kind: string, text: string): bigint | null {
  try {
    if (kind === 'rowversion') return BigInt(text.startsWith('0x') || text.startsWith('0X') ? text : `0x${text}`);
    return BigInt(text);
  } catch {
    return null;
  }
}

/** The distance from the committed watermark to the source's: time for timestamps, a count of values otherwise. */
export function behind(kind: string, committed: string | null, sourceHigh: string | null): Pick<TableLag, 'behindMs' | 'behindValues'> {
  if (sourceHigh === null) return { behindMs: committed === null ? null : 0, behindValues: committed === null ? null : '0' };
  if (kind === 'timestamp') {
    const high = watermarkInstant(sourceHigh);
    const low = committed === null ? null : watermarkInstant(committed);
    return { behindMs: high === null || low === null ? null : Math.max(0, high - low), behindValues: null };
  }
  const high = asBigInt(kind, sourceHigh);
  const low = committed === null ? null : asBigInt(kind, committed);
  return { behindMs: null, behindValues: high === null || low === null ? null : String(high > low ? high - low : 0n) };
}
