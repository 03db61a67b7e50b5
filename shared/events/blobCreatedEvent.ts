import { z } from 'zod';
import { isBronzeDataPath, MANIFEST_ROOT } from '../bronze/bronzePaths.js';
import { isTableName } from '../config/identifiers.js';

/**
 * Storage events as Event Grid delivers them, in either delivery schema: the Event Grid schema
 * (`eventType`, `eventTime`, `topic`) or CloudEvents 1.0 (`type`, `time`, `source`,
 * `specversion`). Samples: tests/fixtures/eventgrid/ (Microsoft's published payloads).
 *
 * Only `Microsoft.Storage.BlobCreated` for a completed write of a bronze data file leads to a
 * Databricks kick; everything else is ignored with a reason that the function logs.
 */
export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

/**
 * The `data.api` values that mean "the file is complete":
 * - PutBlockList: Blob API block upload committed (how soundlake writes bronze, also on ADLS Gen2);
 * - PutBlob: Blob API single-shot upload;
 * - FlushWithClose: Data Lake API, the final flush of a file.
 * Not CreateFile (Data Lake API: an empty file was created, data follows), not FlushWithClose's
 * intermediate flushes (they raise no BlobCreated). CopyBlob is left out by default: on an HNS
 * account its event fires when the copy starts, not when the blob is committed.
 */
export const COMPLETING_APIS = ['PutBlob', 'PutBlockList', 'FlushWithClose'] as const;
export const KNOWN_COMPLETING_APIS = [...COMPLETING_APIS, 'CopyBlob'] as const;

export type EventSchema = 'eventgrid' | 'cloudevents';

/** One storage event, the same whatever schema it came in. */
export interface StorageEvent {
  schema: EventSchema;
  id: string;
  type: string;
  /** ISO time of the event (eventTime / time). */
  time: string;
  /** Storage account resource id (topic / source). */
  source: string;
  subject: string;
  data: unknown;
}

export interface BlobCreated extends StorageEvent {
  api: string;
  container: string;
  /** Blob name inside the container, e.g. `dim_users/load_date=2026-11-25/dim_users__s0000000003__p00000.parquet`. */
  path: string;
  url?: string;
  contentLength?: number;
  eTag?: string;
  sequencer?: string;
}

export type Verdict =
  | { accepted: true; event: BlobCreated; table: string }
  | { accepted: false; event: StorageEvent | BlobCreated; reason: string };

export interface BlobEventFilter {
  container: string;
  apis: readonly string[];
}

/** An event of a delivery that is not a storage event: where it was, its id if it has one, what is wrong. */
export interface InvalidEvent {
  /** Position in the delivered array (absent for a single event). */
  index?: number;
  eventId?: string;
  problems: string[];
}

/** One Event Grid delivery: the events that parsed, and the ones that did not (never a reason to drop the others). */
export interface Delivery {
  events: StorageEvent[];
  invalid: InvalidEvent[];
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');

// Only what is used is required; Azure also sends dataVersion ("" for Blob API events, "2" for
// Data Lake API events) and metadataVersion ("1").
const eventGridSchema = z.object({
  id: z.string().min(1),
  topic: z.string().optional(),
  subject: z.string(),
  eventType: z.string().min(1),
  eventTime: isoTime,
  data: z.unknown(),
  dataVersion: z.string().optional(),
  metadataVersion: z.string().optional(),
});

const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().optional(),
  time: isoTime,
  data: z.unknown(),
});

const blobDataSchema = z.object({
  api: z.string().min(1),
  url: z.string().optional(),
  contentLength: z.number().int().nonnegative().optional(),
  eTag: z.string().optional(),
  sequencer: z.string().optional(),
  blobType: z.string().optional(),
});

const issues = (prefix: string, err: z.ZodError): string[] => err.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`);

function parseOne(value: unknown, index: number | undefined): StorageEvent | InvalidEvent {
  const at = index === undefined ? '' : `[${index}]`;
  const invalid = (err: z.ZodError): InvalidEvent => {
    const id = value && typeof value === 'object' && 'id' in value && typeof value.id === 'string' ? value.id : undefined;
    return { ...(index !== undefined ? { index } : {}), ...(id !== undefined ? { eventId: id } : {}), problems: issues(at, err) };
  };
  if (value && typeof value === 'object' && 'specversion' in value) {
    const ce = cloudEventSchema.safeParse(value);
    if (!ce.success) return invalid(ce.error);
    const e = ce.data;
    return { schema: 'cloudevents', id: e.id, type: e.type, time: e.time, source: e.source, subject: e.subject ?? '', data: e.data };
  }
  const eg = eventGridSchema.safeParse(value);
  if (!eg.success) return invalid(eg.error);
  const e = eg.data;
  return { schema: 'eventgrid', id: e.id, type: e.eventType, time: e.eventTime, source: e.topic ?? '', subject: e.subject, data: e.data };
}

/**
 * The events of one delivery: an array (as Azure posts them), one event (as the Functions
 * trigger hands them over) or its JSON text. Each event stands on its own: one that is not a
 * storage event is reported with its position, id and bad fields, and the others go on.
 */
export function parseDelivery(payload: unknown): Delivery {
  let value = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { events: [], invalid: [{ problems: ['(root): not JSON'] }] };
    }
  }
  const delivery: Delivery = { events: [], invalid: [] };
  const items = Array.isArray(value) ? value.map((v, i) => parseOne(v, i)) : [parseOne(value, undefined)];
  for (const item of items) {
    if ('problems' in item) delivery.invalid.push(item);
    else delivery.events.push(item);
  }
  return delivery;
}

/** How an invalid event is reported: `event [2] (id ...): not a storage event: ...`. */
export function describeInvalid(bad: InvalidEvent): string {
  const where = [bad.index !== undefined ? `[${bad.index}]` : '', bad.eventId !== undefined ? `(id ${bad.eventId})` : ''].filter(Boolean).join(' ');
  return `event${where ? ` ${where}` : ''} is not a storage event: ${bad.problems.join('; ')}`;
}

const SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;

/** Container and blob name from the subject, or from data.url (percent-encoded) when the subject has none. */
function locate(subject: string, url: string | undefined): { container: string; path: string } | undefined {
  const m = SUBJECT.exec(subject);
  if (m) return { container: m[1]!, path: m[2]! };
  if (!url) return undefined;
  try {
    const [container, ...rest] = new URL(url).pathname.split('/').filter((s) => s !== '');
    if (!container || rest.length === 0) return undefined;
    return { container: decodeURIComponent(container), path: rest.map(decodeURIComponent).join('/') };
  } catch {
    return undefined;
  }
}

/** Why a blob name is not a bronze data file (docs/bronze-layout.md), or undefined when it is one. */
export function notDataReason(path: string): string | undefined {
  const segments = path.split('/');
  const underscore = segments.slice(0, -1).find((s) => s.startsWith('_'));
  if (segments[0] === MANIFEST_ROOT) return 'a manifest (_manifests/), not data';
  if (underscore) return `under the bookkeeping folder ${underscore}/, not data`;
  const temp = segments.find((s) => s.startsWith('.') || s.startsWith('_') || s.endsWith('.tmp') || s.endsWith('_COPYING_'));
  if (temp) return `a temporary name (${temp})`;
  if (!path.endsWith('.parquet')) return 'not a .parquet file';
  if (segments.length < 2) return 'not inside a table folder';
  if (!isTableName(segments[0]!)) return `in folder ${segments[0]}, which is not a bronze table name`;
  if (!isBronzeDataPath(path)) return 'not a bronze data path';
  return undefined;
}

/** Decide whether one event should count towards a Databricks kick. */
export function classify(event: StorageEvent, filter: BlobEventFilter): Verdict {
  if (event.type !== BLOB_CREATED) return { accepted: false, event, reason: `event type ${event.type} is not ${BLOB_CREATED}` };
  const data = blobDataSchema.safeParse(event.data);
  if (!data.success) return { accepted: false, event, reason: `BlobCreated data invalid: ${issues('data', data.error).join('; ')}` };
  const d = data.data;
  const where = locate(event.subject, d.url);
  if (!where) return { accepted: false, event, reason: `no container and blob name in subject ${JSON.stringify(event.subject)}` };
  const blob: BlobCreated = {
    ...event,
    api: d.api,
    container: where.container,
    path: where.path,
    ...(d.url !== undefined ? { url: d.url } : {}),
    ...(d.contentLength !== undefined ? { contentLength: d.contentLength } : {}),
    ...(d.eTag !== undefined ? { eTag: d.eTag } : {}),
    ...(d.sequencer !== undefined ? { sequencer: d.sequencer } : {}),
  };
  if (where.container !== filter.container) return { accepted: false, event: blob, reason: `container ${where.container} is not the bronze container ${filter.container}` };
  if (!filter.apis.includes(d.api)) return { accepted: false, event: blob, reason: `api ${d.api} does not complete a file (accepted: ${filter.apis.join(', ')})` };
  const notData = notDataReason(where.path);
  if (notData) return { accepted: false, event: blob, reason: `${where.path} is ${notData}` };
  return { accepted: true, event: blob, table: where.path.split('/')[0]! };
}
