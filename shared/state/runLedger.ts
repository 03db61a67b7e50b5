import type { TableClient } from '@azure/data-tables';
import { ensureTable } from './tableErrors.js';

export type RunStatus = 'running' | 'succeeded' | 'nochange' | 'partial' | 'skipped' | 'failed';

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
}

export interface LedgerRecord extends LedgerEntry {
  key: string;
}

// Newest first within a partition: Table Storage sorts by RowKey ascending.
const invertedTime = (iso: string): string => String(9_999_999_999_999 - new Date(iso).getTime()).padStart(13, '0');

/**
 * The run ledger: a row per activity in Table Storage, partitioned by subject, newest first.
 * Written when an activity starts and again when it ends, so a crashed activity shows as running.
 */
export class RunLedger {
  constructor(private readonly client: TableClient) {}

  async ensure(): Promise<void> {
    await ensureTable(this.client);
  }

  async start(entry: Omit<LedgerEntry, 'status'>): Promise<LedgerRecord> {
    const record: LedgerRecord = { ...entry, status: 'running', key: `${invertedTime(entry.startedAt)}-${entry.runId}-${entry.activity}` };
    await this.write(record);
    return record;
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
