import type { PipelineConfig, TableConfig } from '../config/pipelineConfig.js';
import { sliceTotals } from '../extract/slice.js';
import type { LedgerRecord, RunLedger } from '../state/runLedger.js';
import type { WatermarkStore, WatermarkSummary } from '../state/watermarkStore.js';
import type { Activity, HistoryPoint, TableState, TableView } from '../../console/src/consoleTypes.js';
import { type LagProbe, watermarkInstant } from './tableLag.js';

export interface TableViewDeps {
  config: PipelineConfig;
  watermarks: WatermarkStore;
  ledger: RunLedger;
  lag: LagProbe;
}

/** Ledger rows read per table: the history the charts draw, and the newest outcome. */
export const HISTORY_PER_TABLE = 60;

const EXTRACTIONS = /^(ingest|backfill-)/;

const ACTIVITY_FIELDS = ['runId', 'subject', 'activity', 'trigger', 'status', 'startedAt', 'finishedAt', 'durationMs', 'rows', 'bytes', 'files', 'slice', 'low', 'high', 'error', 'detail', 'tables'] as const satisfies readonly (keyof LedgerRecord & keyof Activity)[];

/** A ledger record as the page sees it: the ledger's own fields, none of the storage's (keys, ETag, timestamp). */
export function activityOf(record: LedgerRecord): Activity {
  const out: Record<string, unknown> = {};
  for (const k of ACTIVITY_FIELDS) if (record[k] !== undefined && record[k] !== null) out[k] = record[k];
  return out as unknown as Activity;
}

function stateOf(wm: WatermarkSummary | undefined, last: LedgerRecord | undefined, now: Date): { state: TableState; detail: string } {
  if (wm?.lease && new Date(wm.lease.expiresAt) > now) return { state: 'running', detail: `run ${wm.lease.owner} holds the table until ${wm.lease.expiresAt}` };
  if (wm?.pending) {
    const t = sliceTotals(wm.pending);
    return { state: 'pending-slice', detail: `slice ${wm.pending.slice} of run ${wm.pending.runId} is pending (${t.files} parts, ${t.rows} rows so far): the next run resumes it` };
  }
  if (last && last.status === 'failed') return { state: 'failed', detail: last.error ?? last.detail ?? 'the last extraction failed' };
  return { state: 'idle', detail: wm?.committedAt ? `last committed ${wm.committedAt}` : 'never loaded' };
}

function historyOf(records: LedgerRecord[]): HistoryPoint[] {
  return records
    .filter((r) => EXTRACTIONS.test(r.activity) && r.status !== 'running')
    .map((r) => {
      const end = r.finishedAt ?? r.startedAt;
      const high = r.high ? watermarkInstant(r.high) : null;
      return {
        runId: r.runId,
        activity: r.activity,
        status: r.status,
        at: end,
        rows: r.rows ?? 0,
        bytes: r.bytes ?? 0,
        durationMs: r.durationMs ?? 0,
        // Backfill chunks re-read old windows: their staleness says nothing about the table's.
        lagMs: r.activity === 'ingest' && r.status === 'succeeded' && high !== null ? Math.max(0, Date.parse(end) - high) : null,
      };
    })
    .sort((a, b) => a.at.localeCompare(b.at));
}

async function viewOf(deps: TableViewDeps, table: TableConfig, wm: WatermarkSummary | undefined, now: Date): Promise<TableView> {
  const [records, lag] = await Promise.all([deps.ledger.recent(table.name, HISTORY_PER_TABLE), deps.lag.lag(table, wm?.value ?? null)]);
  const ingests = records.filter((r) => r.activity === 'ingest');
  const last = ingests[0];
  const lastSlice = records.find((r) => EXTRACTIONS.test(r.activity) && r.status === 'succeeded' && (r.rows ?? 0) > 0);
  const { state, detail } = stateOf(wm, last, now);
  const pending = wm?.pending ?? null;
  return {
    table: table.name,
    source: `${table.schema}.${table.table}`,
    enabled: table.enabled,
    watermark: { column: table.watermark.column, kind: table.watermark.kind, value: wm?.value ?? null, seq: wm?.seq ?? 0, committedAt: wm?.committedAt ?? null, lastRunId: wm?.lastRunId ?? null },
    state,
    stateDetail: detail,
    lease: wm?.lease ?? null,
    pending: pending ? { slice: pending.slice, kind: pending.kind, low: pending.low, high: pending.high, runId: pending.runId, parts: pending.files, ...pick(sliceTotals(pending)) } : null,
    last: last ? activityOf(last) : null,
    lastSlice: lastSlice ? activityOf(lastSlice) : null,
    lag,
    history: historyOf(records),
  };
}

const pick = (t: { rows: number; bytes: number }): { rows: number; bytes: number } => ({ rows: t.rows, bytes: t.bytes });

/** Every configured table with its watermark, state, newest outcome, lag and history, in config order. */
export async function listTables(deps: TableViewDeps, now = new Date()): Promise<TableView[]> {
  const states = new Map((await deps.watermarks.list()).map((w) => [w.table, w]));
  return Promise.all(deps.config.tables.map((t) => viewOf(deps, t, states.get(t.name), now)));
}
