import { readManifest } from '../bronze/manifest.js';
import { manifestPath } from '../bronze/bronzePaths.js';
import type { KickStore } from '../events/kickStore.js';
import type { Lake } from '../lake/lake.js';
import type { AlertLog } from '../notify/alertLog.js';
import type { RunLedger } from '../state/runLedger.js';
import type { ManifestView, RunDetail } from '../../console/src/consoleTypes.js';
import { windowView } from './kickViews.js';
import { activityOf } from './tableViews.js';

export interface RunDetailDeps {
  ledger: RunLedger;
  lake: Lake;
  alertLog: AlertLog;
  /** Absent where the kick state is not configured. */
  kicks?: KickStore;
}

/** The slice a key range belongs to (`s0000000001-r0003` -> `s0000000001`); any other slice id as it is. */
const sliceOf = (slice: string): string => /^(s\d{10})-r\d{4}$/.exec(slice)?.[1] ?? slice;

/** A kick window's run id is its window id. */
const WINDOW_ID = /^w-\d{8}T\d{6}Z-[0-9a-f]{6}$/;
/** Files of a kick window listed at most (a burst can be thousands). */
const MAX_MEMBERS = 200;

/**
 * Everything recorded about one run: its ledger activities, the manifest of every slice it
 * committed (files, rows, bytes, watermark range, schema), its alerts, and for a Databricks kick
 * window the window and its files. Null when nothing at all is recorded under that id.
 */
export async function runDetail(deps: RunDetailDeps, runId: string): Promise<RunDetail | null> {
  const [records, alerts, window] = await Promise.all([
    deps.ledger.ofRun(runId),
    deps.alertLog.ofRun(runId),
    deps.kicks && WINDOW_ID.test(runId) ? deps.kicks.window(runId) : Promise.resolve(null),
  ]);
  if (records.length === 0 && alerts.length === 0 && !window) return null;
  const activities = records.sort((a, b) => a.startedAt.localeCompare(b.startedAt)).map(activityOf);
  // One manifest per committed slice; a slice resumed by several attempts, or run in key ranges
  // (`s0000000001-r0003`: one manifest for the slice, written when its last range is in), is read once.
  const committed = records.filter((r) => r.slice && r.status === 'succeeded' && !r.subject.startsWith('_'));
  const slices = [...new Map(committed.map((r) => [`${r.subject}/${sliceOf(r.slice!)}`, { subject: r.subject, slice: sliceOf(r.slice!), ranged: sliceOf(r.slice!) !== r.slice }])).values()];
  const manifests: ManifestView[] = [];
  const missingManifests: string[] = [];
  await Promise.all(
    slices.map(async (r) => {
      const m = await readManifest(deps.lake, r.subject, r.slice);
      if (!m) {
        // A range committed while others still run: its slice has no manifest yet, and none is missing.
        if (!r.ranged) missingManifests.push(manifestPath(r.subject, r.slice));
        return;
      }
      manifests.push({
        table: m.table,
        slice: m.slice,
        kind: m.kind,
        runId: m.runId,
        backfillId: m.backfillId,
        watermark: m.watermark,
        rows: m.rows,
        bytes: m.bytes,
        files: m.files,
        columns: m.columns,
        committedAt: m.committedAt,
        path: manifestPath(m.table, m.slice),
      });
    }),
  );
  manifests.sort((a, b) => a.table.localeCompare(b.table) || a.slice.localeCompare(b.slice));
  const kick = window && deps.kicks ? { ...windowView(window), members: (await deps.kicks.members(window.id)).slice(0, MAX_MEMBERS).map(({ path, table }) => ({ path, table })) } : null;
  return { runId, activities, manifests, missingManifests: missingManifests.sort(), alerts: alerts.map(({ runId: _r, ...a }) => a), kick };
}
