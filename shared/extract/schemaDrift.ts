import type { SourceColumn } from '../source/source.js';
import type { ColumnSnapshot } from '../state/watermarkStore.js';

export interface SchemaDrift {
  added: string[];
  removed: string[];
  changed: { column: string; from: string; to: string }[];
}

export function snapshotColumns(columns: SourceColumn[]): ColumnSnapshot[] {
  return columns.map((c) => ({ name: c.name, sourceType: c.sourceType }));
}

/** What changed in the source table since the last committed slice; null when nothing did (or there is no reference yet). */
export function detectDrift(previous: ColumnSnapshot[] | null, current: ColumnSnapshot[]): SchemaDrift | null {
  if (!previous) return null;
  const before = new Map(previous.map((c) => [c.name, c.sourceType]));
  const after = new Map(current.map((c) => [c.name, c.sourceType]));
  const drift: SchemaDrift = {
    added: current.filter((c) => !before.has(c.name)).map((c) => c.name),
    removed: previous.filter((c) => !after.has(c.name)).map((c) => c.name),
    changed: current.flatMap((c) => {
      const from = before.get(c.name);
      return from !== undefined && from !== c.sourceType ? [{ column: c.name, from, to: c.sourceType }] : [];
    }),
  };
  return drift.added.length + drift.removed.length + drift.changed.length > 0 ? drift : null;
}

export function describeDrift(d: SchemaDrift): string {
  const parts: string[] = [];
  if (d.added.length) parts.push(`added ${d.added.join(', ')}`);
  if (d.removed.length) parts.push(`removed ${d.removed.join(', ')}`);
  for (const c of d.changed) parts.push(`${c.column} ${c.from} -> ${c.to}`);
  return parts.join('; ');
}
