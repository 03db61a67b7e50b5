import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { deleteRows, RunCompletion } from './runCompletion.js';
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
  /** For a run's plan: the tables it queued, comma-separated (the first few, when there are many: see planRun). */
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

/**
 * Besides its subject's partition, every entry is copied under two keys, so no read of the
 * ledger scans it: `run|<runId>` (the activities of one run: its page, its summary) and
 * `day|<yyyy-mm-dd>` of its start (newest first: the console's and the CLI's latest activities,
 * and retention). Subjects are SQL identifiers or `_names`, so they never take these forms.
 */
const runPartition = (runId: string): string => `run|${runId}`;
const dayPartition = (at: Date): string => `day|${at.toISOString().slice(0, 10)}`;
/** A copy's row key: the entry's own key (newest first) and its subject (two tables of a run may start in the same millisecond). */
const copyKey = (key: string, subject: string): string => `${key}|${subject}`;
const DAY_MS = 86_400_000;
/** How far back the latest activities look for days with entries. */
const RECENT_DAYS = 31;

const quoted = (value: string): string => `'${value.replaceAll("'", "''")}'`;

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
  /** Run completion counted in each run's own partition of the same table. */
  readonly completion: RunCompletion;

  constructor(private readonly client: TableClient) {
    this.completion = new RunCompletion(client);
  }

  async ensure(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    await ensureTable(this.client, options);
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
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      throw err;
    }
    // The whole entry, not only the patch: an entry written before the copies existed gets complete ones.
    const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...entry } = current as TableEntityResult<Record<string, unknown>> & { timestamp?: string };
    const { partitionKey: _pp, rowKey: _rr, ...fields } = patch;
    await Promise.all(
      copiesOf(ref.subject, ref.key, ref.runId, startedAt).map((c) => this.client.upsertEntity({ ...entry, ...fields, ...c, subject: ref.subject }, 'Replace')),
    );
    return true;
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
    await Promise.all([
      this.client.upsertEntity(entity as never, 'Replace'),
      ...copiesOf(subject, key, record.runId, record.startedAt).map((c) => this.client.upsertEntity({ ...entity, ...c } as never, 'Replace')),
    ]);
  }

  /**
   * Most recent activities of one subject (its partition, newest first), or of all subjects
   * (the day partitions, newest day first, at most RECENT_DAYS back): reads about `limit` rows,
   * never the ledger.
   */
  async recent(subject?: string, limit = 20, now = new Date()): Promise<LedgerRecord[]> {
    if (subject) return this.read(`PartitionKey eq ${quoted(subject)}`, limit);
    const out: LedgerRecord[] = [];
    for (let d = 0; d < RECENT_DAYS && out.length < limit; d++) {
      out.push(...(await this.read(`PartitionKey eq ${quoted(dayPartition(new Date(now.getTime() - d * DAY_MS)))}`, limit - out.length)));
    }
    return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** Activities of one run, across subjects: its own partition. */
  async ofRun(runId: string): Promise<LedgerRecord[]> {
    return this.read(`PartitionKey eq ${quoted(runPartition(runId))}`);
  }

  private async read(filter: string, limit = Infinity): Promise<LedgerRecord[]> {
    const out: LedgerRecord[] = [];
    if (limit <= 0) return out;
    const pages = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(1000, limit) });
    for await (const page of pages) {
      for (const e of page) {
        const subject = (e.subject as string | undefined) ?? (e.partitionKey as string);
        const key = e.partitionKey === subject ? (e.rowKey as string) : (e.rowKey as string).slice(0, -(subject.length + 1));
        out.push({ ...(e as unknown as LedgerEntry), subject, key });
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /**
   * Retention: remove every entry that started on a day before `before`, with its copies and the
   * run tallies of the runs planned that day. Walks the day partitions back from the day before
   * `before` and stops at `days` days, so each call costs what it deletes plus one read per day.
   */
  async purge(before: Date, days = RECENT_DAYS): Promise<{ entries: number; days: number }> {
    let entries = 0;
    let purgedDays = 0;
    for (let d = 1; d <= days; d++) {
      const day = dayPartition(new Date(before.getTime() - d * DAY_MS));
      const copies = await this.read(`PartitionKey eq ${quoted(day)}`);
      if (copies.length === 0) continue;
      const byPartition = new Map<string, string[]>();
      const add = (pk: string, rk: string): void => void byPartition.set(pk, [...(byPartition.get(pk) ?? []), rk]);
      for (const c of copies) {
        add(c.subject, c.key);
        add(runPartition(c.runId), copyKey(c.key, c.subject));
        add(day, copyKey(c.key, c.subject));
        if (c.subject === '_runs' && c.activity === 'plan') await this.completion.forget(c.runId);
      }
      for (const [pk, rks] of byPartition) await deleteRows(this.client, pk, rks);
      entries += copies.length;
      purgedDays++;
    }
    return { entries, days: purgedDays };
  }
}

/** Where an entry's copies are, from what the entry itself holds. */
function copiesOf(subject: string, key: string, runId: string, startedAt: string): { partitionKey: string; rowKey: string }[] {
  const rowKey = copyKey(key, subject);
  return [
    { partitionKey: runPartition(runId), rowKey },
    { partitionKey: dayPartition(new Date(startedAt)), rowKey },
  ];
}
