import type { PipelineConfig } from '../config/pipelineConfig.js';
import { DATABRICKS_SUBJECT } from '../events/kicker.js';
import type { RunLedger, RunStatus } from '../state/runLedger.js';
import type { RunsResponse } from '../../console/src/consoleTypes.js';
import { activityOf } from './tableViews.js';

/** Every ledger status, for the filter; the check below fails the build when the ledger gains one not listed here. */
export const RUN_STATUSES = ['running', 'succeeded', 'nochange', 'partial', 'skipped', 'failed', 'abandoned'] as const satisfies readonly RunStatus[];
type Unlisted = Exclude<RunStatus, (typeof RUN_STATUSES)[number]>;
export const RUN_STATUSES_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true;

/** Ledger subjects that are not tables: run plans, Databricks kicks, unreadable poison messages. */
export const OTHER_SUBJECTS = ['_runs', DATABRICKS_SUBJECT, '_poison'] as const;

export interface RunFilter {
  /** One subject (a table, or _runs, _databricks, _poison); all of them when absent. */
  subject?: string;
  status?: string;
  limit: number;
}

/**
 * Newest activities of the ledger: one subject's partition, or the ledger's day partitions
 * (newest first), so this reads a few times `limit` rows whatever the number of tables (never
 * a request per table, never the whole ledger). A status filter is applied to what was read: a
 * rare status older than that window is not shown (the ledger has no index on status).
 */
export async function recentRuns(ledger: RunLedger, config: PipelineConfig, filter: RunFilter): Promise<RunsResponse> {
  const subjects = filter.subject ? [filter.subject] : [...config.tables.map((t) => t.name), ...OTHER_SUBJECTS];
  const window = filter.status ? filter.limit * 4 : filter.limit;
  const read = await ledger.recent(filter.subject, window);
  const runs = read
    .filter((r) => !filter.status || r.status === filter.status)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .slice(0, filter.limit)
    .map(activityOf);
  return { runs, subjects, statuses: [...RUN_STATUSES] };
}
