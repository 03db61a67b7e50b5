import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { isConflict, isNotFound, isPreconditionFailed } from '../state/tableErrors.js';

type Entity = {
  partitionKey: string;
  rowKey: string;
  /** The notice key in clear (RowKey is its hash: keys may hold characters RowKey forbids). */
  key: string;
  lastSentAt: string;
  lastRunId: string;
  /** Notices with this key held back since lastSentAt. */
  suppressed: number;
  /** The runs of those notices (JSON, the first HELD_RUNS): the next alert with this key names them. */
  heldRuns?: string;
};

/** Run ids a throttle row remembers; past this the count goes on. */
const HELD_RUNS = 50;
const heldRunsOf = (e: { heldRuns?: string }): string[] => (e.heldRuns ? (JSON.parse(e.heldRuns) as string[]) : []);

/** Proof of having claimed a key, so a claim whose alert went nowhere can be handed back. */
export interface ThrottleClaim {
  rowKey: string;
  etag: string;
  /** The row as it was before the claim, or null when the claim created it. */
  previous: Entity | null;
}

/** `suppressedRuns`: the runs of the notices held back since this key was last sent (at most 50). */
export type ThrottleDecision = { send: true; suppressed: number; suppressedRuns: string[]; claim: ThrottleClaim } | { send: false; lastSentAt: string };

const PARTITION = 'alert';
const MAX_KEY_CHARS = 1000;
const rowKeyOf = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * "At most once per period per key", shared by every instance through Table Storage: one row
 * per key with the time it was last sent. Every write is conditional (create, or replace on the
 * ETag read), so of two instances claiming the same key at once exactly one wins; the loser
 * re-reads, sees the fresh claim and holds its alert back.
 */
export class AlertThrottle {
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly client: TableClient,
    private readonly periodMs: number,
  ) {}

  /** Creates the table once per instance (concurrent callers share the attempt; a failed attempt is retried next time). */
  ensure(signal?: AbortSignal): Promise<void> {
    this.ensured ??= this.client.createTable({ abortSignal: signal }).then(
      () => undefined,
      (err: unknown) => {
        if (isConflict(err)) return;
        this.ensured = undefined;
        throw err;
      },
    );
    return this.ensured;
  }

  /** Decide whether a notice with this key goes out now, and if so record that it did. */
  async claim(key: string, runId: string, now: Date, signal?: AbortSignal): Promise<ThrottleDecision> {
    await this.ensure(signal);
    const rowKey = rowKeyOf(key);
    const options = { abortSignal: signal };
    const fresh = (suppressed: number): Omit<Entity, 'partitionKey' | 'rowKey'> => ({
      key: key.slice(0, MAX_KEY_CHARS),
      lastSentAt: now.toISOString(),
      lastRunId: runId,
      suppressed,
    });
    for (let attempt = 0; attempt < 5; attempt++) {
      let current: TableEntityResult<Entity> | undefined;
      try {
        current = await this.client.getEntity<Entity>(PARTITION, rowKey, options);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!current) {
        try {
          const res = await this.client.createEntity<Entity>({ partitionKey: PARTITION, rowKey, ...fresh(0) }, options);
          return { send: true, suppressed: 0, suppressedRuns: [], claim: { rowKey, etag: res.etag!, previous: null } };
        } catch (err) {
          if (isConflict(err)) continue;
          throw err;
        }
      }
      const previous: Entity = {
        partitionKey: PARTITION,
        rowKey,
        key: current.key,
        lastSentAt: current.lastSentAt,
        lastRunId: current.lastRunId,
        suppressed: Number(current.suppressed ?? 0),
        ...(current.heldRuns ? { heldRuns: current.heldRuns } : {}),
      };
      const last = new Date(previous.lastSentAt).getTime();
      if (Number.isFinite(last) && now.getTime() - last < this.periodMs) {
        // Count the repeat (and its run) for the next alert that goes out; losing this race only loses a count.
        const held = heldRunsOf(previous);
        const heldRuns = held.includes(runId) || held.length >= HELD_RUNS ? held : [...held, runId];
        await this.client
          .updateEntity<Entity>({ ...previous, suppressed: previous.suppressed + 1, heldRuns: JSON.stringify(heldRuns) }, 'Replace', { ...options, etag: current.etag })
          .catch(() => undefined);
        return { send: false, lastSentAt: previous.lastSentAt };
      }
      try {
        const res = await this.client.updateEntity<Entity>({ partitionKey: PARTITION, rowKey, ...fresh(0) }, 'Replace', { ...options, etag: current.etag });
        return { send: true, suppressed: previous.suppressed, suppressedRuns: heldRunsOf(previous), claim: { rowKey, etag: res.etag!, previous } };
      } catch (err) {
        if (isPreconditionFailed(err) || isNotFound(err)) continue;
        throw err;
      }
    }
    // Five lost races in a row: others are busy sending this very key.
    return { send: false, lastSentAt: now.toISOString() };
  }

  /**
   * Hand a claim back when its alert reached nobody, so the next occurrence is not held back
   * for a whole period. Conditional on the claim's ETag: if anyone touched the row since, keep it.
   */
  async release(claim: ThrottleClaim, signal?: AbortSignal): Promise<boolean> {
    const options = { abortSignal: signal, etag: claim.etag };
    try {
      if (claim.previous) await this.client.updateEntity<Entity>(claim.previous, 'Replace', options);
      else await this.client.deleteEntity(PARTITION, claim.rowKey, options);
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      throw err;
    }
  }
}
