import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { PartRecord, PendingSlice, SliceProgress } from '../extract/slice.js';

/**
 * The committed parts of a pending slice, one entity each, in the partition of the state record
 * that holds the slice. A part is recorded in the same entity-group transaction as the state
 * record's ETag-conditioned update, so a part entity exists exactly when the record counts it:
 * a run that lost its lease writes neither. The record itself keeps only the slice's plan,
 * cursor and totals, so it stays the same size however many parts a slice has (Table Storage
 * caps a string property at 32K characters and an entity at 1 MiB).
 *
 * Part RowKeys start with `~`, which sorts after every state RowKey (table names, `c00003`,
 * `backfill`): `RowKey lt '~'` lists state records without their parts.
 */
const PART_ROW = '~part~';
export const BELOW_PARTS = '~';
/** Operations in one entity-group transaction (the service's limit). */
const MAX_BATCH = 100;

type PartEntity = { partitionKey: string; rowKey: string; path: string; rows: number; bytes: number };

const partPrefix = (stateRow: string, slice: string): string => `${PART_ROW}${stateRow}~${slice}~p`;
const partRowKey = (stateRow: string, slice: string, index: number): string => `${partPrefix(stateRow, slice)}${String(index).padStart(6, '0')}`;
const prefixFilter = (partitionKey: string, prefix: string): string => {
  // The next string after every key with this prefix: its last character + 1 (the prefix ends in 'p').
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return `PartitionKey eq '${partitionKey.replaceAll("'", "''")}' and RowKey ge '${prefix.replaceAll("'", "''")}' and RowKey lt '${end.replaceAll("'", "''")}'`;
};

/**
 * Replace the state entity if its ETag still matches and, in the same transaction, record the
 * parts the slice gained since the last save (both or neither). Returns the state's new ETag.
 */
export async function replaceRecordingParts<E extends { partitionKey: string; rowKey: string }>(
  client: TableClient,
  entity: E,
  etag: string,
  slice: PendingSlice | null,
  added: number,
): Promise<string> {
  if (!slice || added === 0) return (await client.updateEntity(entity, 'Replace', { etag })).etag!;
  if (added >= MAX_BATCH) throw new Error(`cannot record ${added} parts in one write (at most ${MAX_BATCH - 1})`);
  const first = slice.parts.length - added;
  const actions: TransactionAction[] = slice.parts.slice(first).map((part, i) => ['upsert', toPartEntity(entity.partitionKey, entity.rowKey, slice.slice, first + i, part), 'Replace']);
  actions.push(['update', entity, 'Replace', { etag }]);
  const res = await client.submitTransaction(actions);
  // The SDK reads sub-response headers from the multipart text: keep the value, not a stray CR.
  return res.subResponses.at(-1)!.etag!.trim();
}

function toPartEntity(partitionKey: string, stateRow: string, slice: string, index: number, part: PartRecord): PartEntity {
  return { partitionKey, rowKey: partRowKey(stateRow, slice, index), path: part.path, rows: part.rows, bytes: part.bytes };
}

/** The slice with its parts, read from their entities: exactly the `files` the record counts, in order. */
export async function loadParts(client: TableClient, partitionKey: string, stateRow: string, progress: SliceProgress): Promise<PendingSlice> {
  const parts: PartRecord[] = [];
  if (progress.files > 0) {
    const prefix = partPrefix(stateRow, progress.slice);
    for await (const e of client.listEntities<PartEntity>({ queryOptions: { filter: prefixFilter(partitionKey, prefix) } })) {
      const index = Number(e.rowKey!.slice(prefix.length));
      // Only the parts the record counts: the record is the truth, the entities its detail.
      if (index < progress.files) parts[index] = { path: e.path, rows: Number(e.rows), bytes: Number(e.bytes) };
    }
    const missing = [...Array(progress.files).keys()].filter((i) => !parts[i]);
    if (missing.length > 0) throw new Error(`state record ${stateRow} counts ${progress.files} parts of slice ${progress.slice}, but parts ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} have no record`);
  }
  return { ...progress, parts };
}

/**
 * Every recorded part of a slice whose record no longer counts them (a committed key range, whose
 * parts its slice's finisher lists for the manifest), in order; a gap in the indexes is an error.
 */
export async function listParts(client: TableClient, partitionKey: string, stateRow: string, slice: string): Promise<PartRecord[]> {
  const prefix = partPrefix(stateRow, slice);
  const parts: PartRecord[] = [];
  for await (const e of client.listEntities<PartEntity>({ queryOptions: { filter: prefixFilter(partitionKey, prefix) } })) {
    parts[Number(e.rowKey!.slice(prefix.length))] = { path: e.path, rows: Number(e.rows), bytes: Number(e.bytes) };
  }
  const missing = [...parts.keys()].filter((i) => !parts[i]);
  if (missing.length > 0) throw new Error(`slice ${slice} of ${stateRow} has parts recorded up to ${parts.length - 1}, but parts ${missing.slice(0, 5).join(', ')} have no record`);
  return parts;
}

/** Remove the part entities of a slice that is no longer pending (committed). */
export async function dropParts(client: TableClient, partitionKey: string, stateRow: string, slice: string): Promise<number> {
  const keys: string[] = [];
  for await (const e of client.listEntities<PartEntity>({ queryOptions: { filter: prefixFilter(partitionKey, partPrefix(stateRow, slice)), select: ['RowKey'] } })) keys.push(e.rowKey!);
  for (let i = 0; i < keys.length; i += MAX_BATCH) {
    await client.submitTransaction(keys.slice(i, i + MAX_BATCH).map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]));
  }
  return keys.length;
}

/**
 * A pending slice read from a record written before parts became entities (its parts inline):
 * its parts are written as entities first, so the record's next save, which counts them and no
 * longer carries them, finds them. Until then the record still holds them inline.
 */
export async function recordLegacyParts(client: TableClient, partitionKey: string, stateRow: string, slice: PendingSlice): Promise<PendingSlice> {
  const actions: TransactionAction[] = slice.parts.map((part, i) => ['upsert', toPartEntity(partitionKey, stateRow, slice.slice, i, part), 'Replace']);
  for (let i = 0; i < actions.length; i += MAX_BATCH) await client.submitTransaction(actions.slice(i, i + MAX_BATCH));
  return slice;
}
