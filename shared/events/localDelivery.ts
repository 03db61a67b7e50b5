import { randomBytes, randomUUID } from 'node:crypto';
import type { Lake, LakeUpload } from '../lake/lake.js';
import { BLOB_CREATED } from './blobCreatedEvent.js';
import type { BlobCreatedResult, EventDeps } from './eventDeps.js';

/** Where synthetic BlobCreated events go: the bronze container they are about, and what an Event Grid subscription would call. */
export interface BlobEventSink<R = unknown> {
  container: string;
  deliver(event: Record<string, unknown>): Promise<R>;
}

/** Straight to the BlobCreated handling of these event dependencies (tests). */
export function eventDepsSink(deps: EventDeps): BlobEventSink<BlobCreatedResult> {
  return { container: deps.settings.bronzeContainer, deliver: (event) => deps.onBlobCreated(event) };
}

export interface SyntheticEventOptions {
  container: string;
  /** Default devstoreaccount1 (Azurite's account). */
  accountName?: string;
  /** Default PutBlockList: what a Blob API block upload raises, also on an ADLS Gen2 account. */
  api?: string;
  contentLength?: number;
  eTag?: string;
  id?: string;
  time?: Date;
}

/**
 * A Microsoft.Storage.BlobCreated event in the Event Grid schema, shaped like the one Azure sends
 * when a file is committed with Put Block List (tests/fixtures/eventgrid/blob-created.eventgrid.json).
 * For places without Event Grid: the local runner and tests.
 */
export function blobCreatedEventFor(path: string, options: SyntheticEventOptions): Record<string, unknown> {
  const account = options.accountName ?? 'devstoreaccount1';
  const requestId = randomUUID();
  return {
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${account}`,
    subject: `/blobServices/default/containers/${options.container}/blobs/${path}`,
    eventType: BLOB_CREATED,
    eventTime: (options.time ?? new Date()).toISOString(),
    id: options.id ?? randomUUID(),
    data: {
      api: options.api ?? 'PutBlockList',
      clientRequestId: randomUUID(),
      requestId,
      eTag: options.eTag ?? `"0x${randomBytes(7).toString('hex').toUpperCase()}"`,
      contentType: 'application/octet-stream',
      contentLength: options.contentLength ?? 0,
      blobType: 'BlockBlob',
      url: `https://${account}.blob.core.windows.net/${options.container}/${path.split('/').map(encodeURIComponent).join('/')}`,
      sequencer: randomBytes(16).toString('hex').toUpperCase(),
      storageDiagnostics: { batchId: randomUUID() },
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/**
 * What Event Grid would do after an upload to the bronze container: deliver a BlobCreated event
 * for `path` to the sink. The local runner's sink is its Event Grid function (bronze-blob-created).
 */
export function deliverBlobCreated<R>(sink: BlobEventSink<R>, path: string, options: Partial<SyntheticEventOptions> = {}): Promise<R> {
  return sink.deliver(blobCreatedEventFor(path, { container: sink.container, ...options }));
}

/**
 * A Lake that raises BlobCreated after every committed write, as Event Grid does in Azure:
 * Put Block List for uploads, Put Blob for whole-object puts (manifests, which the filter drops).
 * For the local runner: hand this lake to the ingestion core instead of the plain one.
 */
export function lakeWithBlobEvents(lake: Lake, sink: BlobEventSink): Lake {
  return {
    get location() {
      return lake.location;
    },
    ensure: (options) => lake.ensure(options),
    upload(path: string): LakeUpload {
      const inner = lake.upload(path);
      return {
        stage: (bytes) => inner.stage(bytes),
        commit: async (contentType) => {
          const size = await inner.commit(contentType);
          await deliverBlobCreated(sink, path, { api: 'PutBlockList', contentLength: size });
          return size;
        },
      };
    },
    put: async (path, body, contentType) => {
      await lake.put(path, body, contentType);
      await deliverBlobCreated(sink, path, { api: 'PutBlob', contentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength });
    },
    get: (path) => lake.get(path),
    list: (prefix) => lake.list(prefix),
    delete: (path) => lake.delete(path),
  };
}
