import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bronzeBlobCreated } from '../../functions/bronze-blob-created.js';
import { databricksKickPoison } from '../../functions/databricks-kick-poison.js';
import { databricksKick } from '../../functions/databricks-kick.js';
import { blobService } from '../../shared/azure/storageClients.js';
import { setEventDeps } from '../../shared/events/eventDepsSingleton.js';
import { blobCreatedEventFor, deliverBlobCreated, eventDepsSink, lakeWithBlobEvents } from '../../shared/events/localDelivery.js';
import { BlobLake } from '../../shared/lake/blobLake.js';
import { createEventHarness, dataPath, type EventHarness, fixture, sampleEvent } from './eventSupport.js';

/**
 * The two function handlers outside the host, fed what the host feeds them: one Event Grid
 * event (either schema) and one decoded kick-queue message. Dependencies come from
 * getEventDeps(), replaced here with setEventDeps().
 */
let h: EventHarness;
const logs: string[] = [];
const context = (name: string, dequeueCount = 1): InvocationContext =>
  new InvocationContext({ functionName: name, invocationId: randomUUID(), logHandler: (level, ...args) => logs.push(`${level}: ${args.join(' ')}`), triggerMetadata: { dequeueCount } });

let sink: ReturnType<typeof eventDepsSink>;
beforeAll(async () => {
  h = await createEventHarness();
  setEventDeps(h.deps);
  sink = eventDepsSink(h.deps);
});
afterAll(async () => {
  setEventDeps(undefined);
  await h?.close();
});

describe('function handlers', () => {
  it('bronze-blob-created takes a CloudEvent and an Event Grid event; databricks-kick starts the run', async () => {
    const path = dataPath('dim_tracks', 5);
    await bronzeBlobCreated(sampleEvent('blob-created.cloudevents', { container: h.container, path, id: randomUUID() }), context('bronze-blob-created'));
    await bronzeBlobCreated(sampleEvent('adls-blob-created.eventgrid', { container: h.container, path: dataPath('dim_tracks', 5, 1), api: 'FlushWithClose', id: randomUUID() }), context('bronze-blob-created'));
    const opened = logs.find((l) => l.includes(`${path}: opened kick window`));
    expect(opened).toBeDefined();
    const windowId = /kick window (w-\S+)/.exec(opened!)![1]!;
    expect(logs).toContain(`information: ${dataPath('dim_tracks', 5, 1)}: joined kick window ${windowId}`);

    await h.windowClosed(windowId);
    await databricksKick({ windowId, step: 'kick' }, context('databricks-kick'));
    const runId = h.standIn.runs.at(-1)!.runId;
    expect(logs.at(-1)).toBe(`information: kick window ${windowId}: kicked (run ${runId})`);
    await databricksKick({ windowId, step: 'kick' }, context('databricks-kick'));
    expect(logs.at(-1)).toBe(`information: kick window ${windowId}: already-kicked (run ${runId})`);
    await expect(databricksKick({ windowId }, context('databricks-kick'))).rejects.toThrow('kick message invalid: step: ');
    await h.drain();
  });

  it('ignored and malformed deliveries do not throw (Event Grid would retry them for a day)', async () => {
    await bronzeBlobCreated(fixture('adls-blob-created.cloudevents')[0], context('bronze-blob-created'));
    expect(logs.at(-1)).toMatch(/^debug: event 831e1650-001e-001b-66ab-eeb76e069631 ignored: container my-file-system is not the bronze container/);
    await bronzeBlobCreated({ hello: 'world' }, context('bronze-blob-created'));
    expect(logs.at(-1)).toMatch(/^error: event is not a storage event: id: /);
  });

  it('one malformed event in a delivered array is reported; the valid events beside it count', async () => {
    const [a, b] = [dataPath('dim_albums', 7, 0), dataPath('dim_albums', 7, 1)];
    const broken = sampleEvent('blob-created.eventgrid', { container: h.container, path: dataPath('dim_albums', 7, 2), id: 'broken-1' });
    delete broken.eventTime;
    const before = logs.length;
    await bronzeBlobCreated(
      [sampleEvent('blob-created.eventgrid', { container: h.container, path: a, id: randomUUID() }), broken, sampleEvent('blob-created.cloudevents', { container: h.container, path: b, id: randomUUID() })],
      context('bronze-blob-created'),
    );
    const lines = logs.slice(before);
    expect(lines.filter((l) => l.startsWith('error: '))).toEqual(['error: event [1] (id broken-1) is not a storage event: [1].eventTime: Invalid input: expected string, received undefined']);
    const windowId = /kick window (w-\S+)/.exec(lines.find((l) => l.includes(`${a}: opened kick window`))!)![1]!;
    expect(lines).toContain(`information: ${b}: joined kick window ${windowId}`);
    expect((await h.deps.store.members(windowId)).map((m) => m.path)).toEqual([a, b]);
    await h.kicks((o) => o.status === 'kicked' && o.windowId === windowId);
  });

  it('the local runner delivers a BlobCreated per uploaded file with deliverBlobCreated', async () => {
    const event = blobCreatedEventFor(dataPath('dim_users', 9), { container: h.container, contentLength: 1234 });
    expect(event).toMatchObject({ eventType: 'Microsoft.Storage.BlobCreated', subject: `/blobServices/default/containers/${h.container}/blobs/${dataPath('dim_users', 9)}`, data: { api: 'PutBlockList', contentLength: 1234, blobType: 'BlockBlob' }, dataVersion: '', metadataVersion: '1' });
    const first = await deliverBlobCreated(sink, dataPath('dim_users', 9, 0));
    const again = await deliverBlobCreated(sink, dataPath('dim_users', 9, 1));
    const manifest = await deliverBlobCreated(sink, '_manifests/dim_users/s0000000009.json', { api: 'PutBlob' });
    expect(first.accepted[0]!.outcome).toBe('opened');
    expect(again.accepted[0]).toMatchObject({ outcome: 'joined', windowId: first.accepted[0]!.windowId });
    expect(manifest.ignored[0]!.reason).toBe('_manifests/dim_users/s0000000009.json is a manifest (_manifests/), not data');
    const outcome = await h.firstKick((o) => o.status === 'kicked');
    expect(outcome).toMatchObject({ windowId: first.accepted[0]!.windowId, files: 2, tables: ['dim_users'] });
  });

  it('databricks-kick-poison reports a kick the host gave up on, with the window as run id', async () => {
    const opened = await deliverBlobCreated(sink, dataPath('fact_streams', 12, 0));
    await deliverBlobCreated(sink, dataPath('fact_streams', 12, 1));
    const windowId = opened.accepted[0]!.windowId;
    await h.takeKickMessage(windowId);
    // The poison message's own first delivery; the kick message was tried maxDequeueCount (5, host.json) times.
    await databricksKickPoison({ windowId, step: 'kick' }, context('databricks-kick-poison', 1));
    const notice = h.notifier.notices.find((n) => n.kind === 'poison-message' && n.runId === windowId);
    expect(notice).toMatchObject({ severity: 'error', subject: '_databricks', title: `Databricks start for window ${windowId} failed 5 times and was given up`, key: `poison:kick:${windowId}` });
    expect(notice!.detail).toBe(
      "The window's 2 files in fact_streams are safe in bronze but not yet in silver or gold: the next window's run takes them too (Auto Loader processes every file it has not seen) and the run ledger records it (activity carried), or start the medallion job by hand.",
    );
    expect(await h.deps.store.window(windowId)).toMatchObject({ status: 'given-up', files: 2, tables: ['fact_streams'] });
    expect(logs.at(-1)).toBe(`warning: ${notice!.title}`);
    expect(await h.ledger.ofRun(windowId)).toMatchObject([{ subject: '_databricks', activity: 'poison', status: 'failed', error: notice!.title }]);

    await databricksKickPoison('{"windowId":', context('databricks-kick-poison', 1));
    expect(h.notifier.notices.at(-1)).toMatchObject({ kind: 'poison-message', runId: 'unknown-run', title: 'an unreadable kick message was given up after 5 attempts: "{\\"windowId\\":"' });
  });

  it('or wraps the lake, so every committed upload raises BlobCreated as Event Grid would', async () => {
    const lake = lakeWithBlobEvents(new BlobLake({ container: blobService({ connectionString: inject('storageConnectionString') }).getContainerClient(h.container) }), sink);
    await lake.ensure();
    const path = dataPath('dim_artists', 3);
    const upload = lake.upload(path);
    await upload.stage(new Uint8Array([80, 65, 82, 49]));
    expect(await h.deps.store.pointer().then((p) => p && Date.parse(p.closesAt) > Date.now())).toBeFalsy();
    await upload.commit('application/vnd.apache.parquet');
    await lake.put('_manifests/dim_artists/s0000000003.json', '{}', 'application/json');
    const pointer = await h.deps.store.pointer();
    expect(await h.deps.store.members(pointer!.windowId)).toMatchObject([{ path, table: 'dim_artists' }]);
    const outcome = await h.firstKick((o) => o.status === 'kicked');
    expect(outcome).toMatchObject({ windowId: pointer!.windowId, files: 1, tables: ['dim_artists'] });
  });
});
