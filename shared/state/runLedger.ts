import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { ensureTable, isNotFound, isPreconditionFailed } from './tableErrors.js';

/** `abandoned`: the run died (or stalled past its lease) and another run took its work over. */
export type RunStatus = 'running' | 'succeeded' | 'nochange' | 'partial' | 'skipped' | 'failed' | 'abandoned';

/** One activity of a run: the extraction of one table, a backfill chunk, a Databricks kick. */
export interface LedgerEntry {
  runId: string;
  /** What the activity was about: a table name, or a subject such as `_databricks`. */
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
  /** For a run's plan: the tables it queued, comma-separated. */
  tables?: string;
  /** For an abandoned activity: the run that took its work over. */
  abandonedBy?: string;
  /** The lease owner that did the work: the process or invocation (two deliveries of one message share a run id). */
  owner?: string;
}

export interface LedgerRecord extends LedgerEntry {
  key: string;
}

/**
 * Where a run's ledger entry is: kept with the lease it holds (watermark or backfill chunk), so
 * the run that takes the work over next can close the entry if its run died without doing so.
 */
export interface LedgerRef {
  runId: string;
  subject: string;
  key: string;
}

// Newest first within a partition: Table Storage sorts by RowKey ascending.
const invertedTime = (iso: string): string => String(9_999_999_999_999 - new Date(iso).getTime()).padStart(13, '0');

/** The entry's row key, known before it is written; the owner tells apart invocations of one run. */
export function ledgerKey(entry: Pick<LedgerEntry, 'startedAt' | 'runId' | 'activity' | 'owner'>): string {
  const base = `${invertedTime(entry.startedAt)}-${entry.runId}-${entry.activity}`;
  return entry.owner ? `${base}-${createHash('sha1').update(entry.owner).digest('hex').slice(0, 8)}` : base;
}

/**
 * The run ledger: a row per activity in Table Storage, partitioned by subject, newest first.
 * Written when an activity starts and again when it ends, so a crashed activity shows as running.
 */
export class RunLedger {
  constructor(private readonly client: TableClient) {}

  async ensure(): Promise<void> {
    await ensureTable(this.client);
  }

  /** The running entry of an activity, not yet written: `start` writes it, `finish` writes its outcome instead. */
  draft(entry: Omit<LedgerEntry, 'status'>): LedgerRecord {
    return { ...entry, status: 'running', key: ledgerKey(entry) };
  }

  async start(entry: Omit<LedgerEntry, 'status'>): Promise<LedgerRecord> {
    const record = this.draft(entry);
    await this.write(record);
    return record;
  }

  /**
   * Close the entry of a run that died holding work another run has now taken over. Only an entry
   * still `running` changes, and only if nothing wrote it meanwhile (a stalled run that wakes up
   * and reports its own outcome wins). Returns whether the entry was closed.
   */
  async abandon(ref: LedgerRef, by: { runId: string; owner: string }, at = new Date()): Promise<boolean> {
    let current: TableEntityResult<Record<string, unknown>>;
    try {
      current = await this.client.getEntity<Record<string, unknown>>(ref.subject, ref.key);
    } catch (err) {
      // The run died after taking the lease and before writing its entry.
      if (isNotFound(err)) return false;
      throw err;
    }
    if (current.status !== 'running') return false;
    const finishedAt = at.toISOString();
    const startedAt = typeof current.startedAt === 'string' ? current.startedAt : finishedAt;
    const patch = {
      partitionKey: ref.subject,
      rowKey: ref.key,
      status: 'abandoned',
      abandonedBy: by.runId,
      finishedAt,
      durationMs: new Date(finishedAt).getTime() - new Date(startedAt).getTime(),
      detail: `abandoned: run ${ref.runId} stopped without finishing; run ${by.runId} (lease owner ${by.owner}) took its work over`,
    };
    try {
      await this.client.updateEntity(patch, 'Merge', { etag: current.etag });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  async finish(record: LedgerRecord, outcome: Partial<LedgerEntry> & { status: RunStatus }): Promise<LedgerRecord> {
    const finishedAt = outcome.finishedAt ?? new Date().toISOString();
    const done: LedgerRecord = {
      ...record,
      ...outcome,
      finishedAt,
      durationMs: new Date(finishedAt).getTime() - new Date(record.startedAt).getTime(),
    };
    await this.write(done);
    return done;
  }

  private async write(record: LedgerRecord): Promise<void> {
    const { key, subject, low, high, ...rest } = record;
    const entity: Record<string, unknown> = { partitionKey: subject, rowKey: key, subject };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== null) entity[k] = v;
    if (low != null) entity.low = low;
    if (high != null) entity.high = high;
    await this.client.upsertEntity(entity as never, 'Replace');
  }

  /** Most recent activities of one subject, or of all subjects when omitted. */
  async recent(subject?: string, limit = 20): Promise<LedgerRecord[]> {
    const filter = subject ? `PartitionKey eq '${subject.replaceAll("'", "''")}'` : undefined;
    const out: LedgerRecord[] = [];
    for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : {} })) {
      out.push({ ...(e as unknown as LedgerEntry), subject: e.partitionKey as string, key: e.rowKey as string });
      if (subject && out.length >= limit) break;
    }
    out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return out.slice(0, limit);
  }

  /** Activities of one run, across subjects. */
  async ofRun(runId: string): Promise<LedgerRecord[]> {
    const out: LedgerRecord[] = [];
    const filter = `runId eq '${runId.replaceAll("'", "''")}'`;
    for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({ ...(e as unknown as LedgerEntry), subject: e.partitionKey as string, key: e.rowKey as string });
    }
    return out;
  }
}
