import type { TableClient } from '@azure/data-tables';
import { isConflict, isNotFound, isPreconditionFailed } from './tableErrors.js';

/** A table's first terminal outcome in a run, as the run summary lists it. */
export interface TableOutcome {
  table: string;
  status: 'succeeded' | 'nochange' | 'partial' | 'skipped' | 'failed' | 'abandoned';
  rows: number;
  files: number;
  /** For a failure: its error (the first ERROR_CHARS characters). */
  error?: string;
}

const ERROR_CHARS = 500;

export interface RunTally {
  runId: string;
  trigger: string;
  planned: number;
  done: number;
  /** When the run summary was sent; absent until then. */
  summarisedAt?: string;
}

/** What counting one table's outcome found. `complete`: every planned table is counted. */
export interface Counted {
  /** False when the table was already counted in this run (a retried message) or the run was not planned here. */
  counted: boolean;
  tally: RunTally | null;
  complete: boolean;
}

type CounterEntity = { partitionKey: string; rowKey: string; trigger: string; planned: number; done: number; summarisedAt?: string };

const partitionOf = (runId: string): string => `done|${runId}`;
// '~' sorts after every table name (SQL identifiers), so a run's outcomes are read without it.
const COUNTER = '~tally';
/** Two tables finishing at the same moment lose an ETag race now and then; this bounds the retries. */
const MAX_ATTEMPTS = 100;

function tallyOf(runId: string, e: CounterEntity): RunTally {
  return { runId, trigger: e.trigger, planned: Number(e.planned), done: Number(e.done), ...(e.summarisedAt ? { summarisedAt: e.summarisedAt } : {}) };
}

/**
 * Run completion without a scan (the ledger is large and never keyed by run): each planned run
 * has its own partition, `done|<runId>`, holding a tally (tables planned and counted so far)
 * and one row per table that reached a terminal outcome. Counting a table is one entity group
 * transaction that creates the table's row and raises the tally under its ETag, so a table is
 * counted once however often its message is retried, and exactly one finisher sees the tally
 * reach the plan: that one sends the summary. Cost per table: a read and a transaction, and a
 * retry of both when another table won the ETag race.
 */
export class RunCompletion {
  constructor(private readonly client: TableClient) {}

  /** Before any message of the run is sent: how many tables will report. */
  async plan(runId: string, trigger: string, planned: number): Promise<void> {
    try {
      await this.client.createEntity<CounterEntity>({ partitionKey: partitionOf(runId), rowKey: COUNTER, trigger, planned, done: 0 });
    } catch (err) {
      // The same run planned twice (a retried timer): the first plan stands.
      if (!isConflict(err)) throw err;
    }
  }

  async tally(runId: string): Promise<(RunTally & { etag: string }) | null> {
    try {
      const e = await this.client.getEntity<CounterEntity>(partitionOf(runId), COUNTER);
      return { ...tallyOf(runId, e), etag: e.etag };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Count a table's terminal outcome in its run. */
  async count(runId: string, outcome: TableOutcome): Promise<Counted> {
    const partitionKey = partitionOf(runId);
    const row = { partitionKey, rowKey: outcome.table, status: outcome.status, rows: outcome.rows, files: outcome.files, ...(outcome.error ? { error: outcome.error.slice(0, ERROR_CHARS) } : {}) };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.tally(runId);
      // Not a planned run (a message sent by hand, a run from before this layout): nothing to count.
      if (!current) return { counted: false, tally: null, complete: false };
      const { etag, ...tally } = current;
      try {
        await this.client.submitTransaction([
          ['create', row],
          ['update', { partitionKey, rowKey: COUNTER, done: tally.done + 1 }, 'Merge', { etag }],
        ]);
        const after = { ...tally, done: tally.done + 1 };
        return { counted: true, tally: after, complete: after.done >= after.planned };
      } catch (err) {
        if (isPreconditionFailed(err)) continue;
        if (!isConflict(err)) throw err;
        // Counted before (the host retried the message): while the run is open, the newer outcome replaces the older.
        if (tally.done < tally.planned) await this.client.updateEntity(row, 'Merge');
        return { counted: false, tally, complete: tally.done >= tally.planned };
      }
    }
    throw new Error(`run ${runId}: could not count ${outcome.table} after ${MAX_ATTEMPTS} attempts (the run's tally kept changing)`);
  }

  /** Every counted outcome of a run, by table name: one partition read (1,000 rows per request). */
  async outcomes(runId: string): Promise<TableOutcome[]> {
    const out: TableOutcome[] = [];
    const filter = `PartitionKey eq '${partitionOf(runId).replaceAll("'", "''")}' and RowKey lt '${COUNTER}'`;
    for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({
        table: e.rowKey as string,
        status: e.status as TableOutcome['status'],
        rows: Number(e.rows ?? 0),
        files: Number(e.files ?? 0),
        ...(typeof e.error === 'string' ? { error: e.error } : {}),
      });
    }
    return out;
  }

  /** Record that the summary went out, so a retried message of a complete run does not send it again. */
  async summarised(runId: string, at = new Date()): Promise<void> {
    await this.client.updateEntity({ partitionKey: partitionOf(runId), rowKey: COUNTER, summarisedAt: at.toISOString() }, 'Merge');
  }

  /** Forget a run's tally and outcomes (ledger retention). */
  async forget(runId: string): Promise<number> {
    const partitionKey = partitionOf(runId);
    const rows: string[] = [];
    const filter = `PartitionKey eq '${partitionKey.replaceAll("'", "''")}'`;
    for await (const e of this.client.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) rows.push(e.rowKey!);
    await deleteRows(this.client, partitionKey, rows);
    return rows.length;
  }
}

/** Entity group transactions take up to 100 operations, all in one partition. */
const TRANSACTION_SIZE = 100;

/** Delete rows of one partition in transactions of 100; rows already gone are fine. */
export async function deleteRows(client: TableClient, partitionKey: string, rowKeys: string[]): Promise<void> {
  for (let i = 0; i < rowKeys.length; i += TRANSACTION_SIZE) {
    const batch = rowKeys.slice(i, i + TRANSACTION_SIZE);
    try {
      await client.submitTransaction(batch.map((rowKey) => ['delete', { partitionKey, rowKey }] as const));
    } catch {
      // Another instance deleting at the same time took some rows first: one by one, gone is fine.
      for (const rowKey of batch) {
        await client.deleteEntity(partitionKey, rowKey).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
    }
  }
}
