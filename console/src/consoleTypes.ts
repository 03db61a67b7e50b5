/**
 * The JSON the console page reads: one contract between the read endpoints (shared/console/,
 * functions/*-get.ts) and the page (console/src/). Types only: the server imports them with
 * `import type`, so nothing of the page is loaded on the server.
 */

export type RunStatus = 'running' | 'succeeded' | 'nochange' | 'partial' | 'skipped' | 'failed' | (string & {});

/** One activity of the run ledger (an extraction, a backfill chunk, a kick, a poison report). */
export interface Activity {
  runId: string;
  subject: string;
  activity: string;
  trigger: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  rows?: number;
  bytes?: number;
  files?: number;
  slice?: string;
  low?: string | null;
  high?: string | null;
  error?: string;
  detail?: string;
  tables?: string;
}

export type TableState = 'idle' | 'running' | 'pending-slice' | 'failed';

export interface TableLag {
  /** The source's highest watermark now (a safe upper bound without the table's lag), or null for an empty table. */
  sourceHigh: string | null;
  /** Timestamp watermarks: how far the committed watermark is behind the source, in ms. */
  behindMs: number | null;
  /** Integer and rowversion watermarks: how many values behind. */
  behindValues: string | null;
  checkedAt: string;
  /** The source could not be asked (redacted). */
  error?: string;
}

/** One point of a table's history, for the charts: an extraction or a backfill chunk that ended. */
export interface HistoryPoint {
  runId: string;
  activity: string;
  status: RunStatus;
  at: string;
  rows: number;
  bytes: number;
  durationMs: number;
  /** Timestamp watermarks: the run's finish minus its upper bound (how stale bronze was right after it). */
  lagMs: number | null;
}

export interface TableView {
  table: string;
  source: string;
  enabled: boolean;
  watermark: { column: string; kind: string; value: string | null; seq: number; committedAt: string | null; lastRunId: string | null };
  state: TableState;
  stateDetail: string;
  lease: { owner: string; expiresAt: string } | null;
  pending: { slice: string; kind: string; low: string | null; high: string; runId: string; parts: number; rows: number; bytes: number } | null;
  /** The newest extraction activity of the table, whatever its outcome. */
  last: Activity | null;
  /** The newest slice that committed rows. */
  lastSlice: Activity | null;
  lag: TableLag;
  history: HistoryPoint[];
}

export interface TablesResponse {
  tables: TableView[];
  generatedAt: string;
}

export interface RunsResponse {
  runs: Activity[];
  /** The subjects that were read (the configured tables, and _runs, _databricks, _poison). */
  subjects: string[];
  /** Every status the ledger knows, for the filter. */
  statuses: string[];
}

export interface ManifestView {
  table: string;
  slice: string;
  kind: string;
  runId: string;
  backfillId: string | null;
  watermark: { column: string; kind: string; low: string | null; high: string };
  rows: number;
  bytes: number;
  files: { path: string; rows: number; bytes: number }[];
  columns: { name: string; sourceType: string; parquetType: string; nullable: boolean }[];
  committedAt: string;
  path: string;
}

export interface AlertView {
  at: string;
  kind: string;
  severity: string;
  subject: string;
  title: string;
  detail: string;
  /** delivered, undelivered, throttled, logged (no channel configured), deadline. */
  outcome: string;
  channels: { channel: string; delivered: boolean; attempts: number; error?: string }[];
}

export interface KickWindowView {
  id: string;
  opensAt: string;
  closesAt: string;
  status: string;
  files?: number;
  /** The first 50 tables by name; `tableCount` says how many the window had. */
  tables?: string[];
  tableCount?: number;
  kickedAt?: string;
  databricksRunId?: number;
  carriedBy?: string;
  error?: string;
  /** A failed kick the console may retry (POST /api/kicks/{id}/retry). */
  retryable: boolean;
}

export interface RunDetail {
  runId: string;
  activities: Activity[];
  manifests: ManifestView[];
  /** Manifests a succeeded activity names but the lake does not hold. */
  missingManifests: string[];
  alerts: AlertView[];
  /** Set when the run is a Databricks kick window. */
  kick: (KickWindowView & { members: { path: string; table: string }[] }) | null;
}

export type ChunkStatus = 'pending' | 'running' | 'done' | 'failed';

export interface BackfillView {
  id: string;
  table: string;
  from: string;
  to: string;
  runId: string;
  requestId: string | null;
  createdAt: string;
  /** How the chunks were sized (`auto`), else null. */
  sizing: string | null;
  status: ChunkStatus;
  totals: { chunks: number; done: number; running: number; pending: number; failed: number; rows: number; files: number; bytes: number };
  chunks: { chunk: number; low: string; high: string; status: ChunkStatus; rows: number; files: number; bytes: number; attempts: number; error: string | null }[];
}

export interface BackfillsResponse {
  backfills: BackfillView[];
}

export interface KicksResponse {
  windows: KickWindowView[];
  /** The window new files join now, if one is open. */
  openWindow: string | null;
}

/** What every 4xx of the API carries. */
export interface ApiError {
  error: { field?: string; problem?: string; message: string };
}

export interface AskAnswer {
  runId: string;
  mode: 'question' | 'sql';
  question: string | null;
  status: 'answered' | 'refused' | 'failed';
  sql: string | null;
  error: { code: string; message: string } | null;
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  summary: string;
  attempts: { sql: string; outcome: string; code?: string; message?: string }[];
  endpoint: string;
  model: string | null;
  durationMs: number;
}
