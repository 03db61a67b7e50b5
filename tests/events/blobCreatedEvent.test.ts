import { describe, expect, it } from 'vitest';
import { type BlobEventFilter, classify, COMPLETING_APIS, describeInvalid, parseDelivery, type StorageEvent, type Verdict } from '../../shared/events/blobCreatedEvent.js';
import { dataPath, fixture, FIXTURES, sampleEvent } from './eventSupport.js';

/**
 * Parsing and filtering, from Microsoft's published sample payloads (tests/fixtures/eventgrid/).
 * Pure: no storage, no Databricks.
 */
const filter: BlobEventFilter = { container: 'bronze', apis: [...COMPLETING_APIS] };
/** The events of a delivery that must hold only valid ones. */
const parseStorageEvents = (payload: unknown): StorageEvent[] => {
  const { events, invalid } = parseDelivery(payload);
  expect(invalid).toEqual([]);
  return events;
};
const judge = (payload: unknown, f = filter): Verdict => classify(parseStorageEvents(payload)[0]!, f);
const reason = (v: Verdict): string => (v.accepted ? 'accepted' : v.reason);

describe('the published samples', () => {
  it('parse in both schemas to the same event', () => {
    const parsed = FIXTURES.map((name) => parseStorageEvents(fixture(name)));
    for (const [i, events] of parsed.entries()) {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        schema: FIXTURES[i]!.endsWith('cloudevents') ? 'cloudevents' : 'eventgrid',
        id: '831e1650-001e-001b-66ab-eeb76e069631',
        type: 'Microsoft.Storage.BlobCreated',
        time: '2017-06-26T18:41:00.9584103Z',
        source: '/subscriptions/{subscription-id}/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/my-storage-account',
      });
    }
    const [egBlob, ceBlob, egAdls, ceAdls] = parsed.map((p) => p[0]!);
    expect({ ...egBlob, schema: 'x' }).toEqual({ ...ceBlob, schema: 'x' });
    expect({ ...egAdls, schema: 'x' }).toEqual({ ...ceAdls, schema: 'x' });
    expect(egAdls!.subject).toBe('/blobServices/default/containers/my-file-system/blobs/new-file.txt');
  });

  it('as published, none is a bronze file: another container, and the Data Lake sample is a CreateFile', () => {
    expect(reason(judge(fixture('blob-created.eventgrid'), { container: 'test-container', apis: filter.apis }))).toBe('new-file.txt is not a .parquet file');
    expect(reason(judge(fixture('blob-created.cloudevents')))).toBe('container test-container is not the bronze container bronze');
    expect(reason(judge(fixture('adls-blob-created.eventgrid'), { container: 'my-file-system', apis: filter.apis }))).toBe(
      'api CreateFile does not complete a file (accepted: PutBlob, PutBlockList, FlushWithClose)',
    );
    expect(reason(judge(fixture('adls-blob-created.cloudevents'), { container: 'my-file-system', apis: filter.apis }))).toMatch(/^api CreateFile does not complete a file/);
  });

  it('a bronze data file committed with Put Block List (Blob API, how soundlake writes) is accepted in both schemas', () => {
    const path = dataPath('dim_users', 3);
    for (const name of ['blob-created.eventgrid', 'blob-created.cloudevents'] as const) {
      const v = judge(sampleEvent(name, { container: 'bronze', path }));
      expect(v).toMatchObject({ accepted: true, table: 'dim_users', event: { api: 'PutBlockList', container: 'bronze', path, contentLength: 524288, eTag: '"0x8D4BCC2E4835CD0"' } });
    }
  });

  it('a Data Lake API file counts at FlushWithClose, not at CreateFile, in both schemas', () => {
    const path = dataPath('fact_streams', 12, 3);
    for (const name of ['adls-blob-created.eventgrid', 'adls-blob-created.cloudevents'] as const) {
      expect(reason(judge(sampleEvent(name, { container: 'bronze', path })))).toMatch(/^api CreateFile does not complete a file/);
      const v = judge(sampleEvent(name, { container: 'bronze', path, api: 'FlushWithClose' }));
      expect(v).toMatchObject({ accepted: true, table: 'fact_streams', event: { api: 'FlushWithClose', path, url: `https://my-storage-account.dfs.core.windows.net/bronze/${path.replaceAll('=', '%3D')}` } });
    }
  });
});

describe('filters', () => {
  const cases: [string, Parameters<typeof sampleEvent>[1], string][] = [
    ['manifest', { path: '_manifests/dim_users/s0000000003.json' }, '_manifests/dim_users/s0000000003.json is a manifest (_manifests/), not data'],
    ['manifest that happens to be parquet', { path: '_manifests/dim_users/s0000000003.parquet' }, '_manifests/dim_users/s0000000003.parquet is a manifest (_manifests/), not data'],
    ['backfill bookkeeping', { path: '_backfills/abc/state.parquet' }, '_backfills/abc/state.parquet is under the bookkeeping folder _backfills/, not data'],
    ['_ folder inside a table', { path: 'dim_users/_temporary/0/part-0.parquet' }, 'dim_users/_temporary/0/part-0.parquet is under the bookkeeping folder _temporary/, not data'],
    ['.tmp name', { path: 'dim_users/load_date=2026-11-25/x.parquet.tmp' }, 'dim_users/load_date=2026-11-25/x.parquet.tmp is a temporary name (x.parquet.tmp)'],
    ['hidden name', { path: 'dim_users/load_date=2026-11-25/.x.parquet' }, 'dim_users/load_date=2026-11-25/.x.parquet is a temporary name (.x.parquet)'],
    ['_ file name', { path: 'dim_users/_SUCCESS' }, 'dim_users/_SUCCESS is a temporary name (_SUCCESS)'],
    ['not parquet', { path: 'dim_users/load_date=2026-11-25/readme.txt' }, 'dim_users/load_date=2026-11-25/readme.txt is not a .parquet file'],
    ['at the container root', { path: 'orphan.parquet' }, 'orphan.parquet is not inside a table folder'],
    ['not a table name', { path: 'Dim-Users/x.parquet' }, 'Dim-Users/x.parquet is in folder Dim-Users, which is not a bronze table name'],
    ['other container', { container: 'silver', path: dataPath('dim_users', 1) }, 'container silver is not the bronze container bronze'],
    ['CreateFile', { path: dataPath('dim_users', 1), api: 'CreateFile' }, 'api CreateFile does not complete a file (accepted: PutBlob, PutBlockList, FlushWithClose)'],
    ['CopyBlob (fires when a copy starts on HNS)', { path: dataPath('dim_users', 1), api: 'CopyBlob' }, 'api CopyBlob does not complete a file (accepted: PutBlob, PutBlockList, FlushWithClose)'],
    ['PutBlock (not committed)', { path: dataPath('dim_users', 1), api: 'PutBlock' }, 'api PutBlock does not complete a file (accepted: PutBlob, PutBlockList, FlushWithClose)'],
    ['BlobDeleted', { path: dataPath('dim_users', 1), api: 'DeleteBlob', type: 'Microsoft.Storage.BlobDeleted' }, 'event type Microsoft.Storage.BlobDeleted is not Microsoft.Storage.BlobCreated'],
  ];
  for (const schema of ['blob-created.eventgrid', 'blob-created.cloudevents'] as const) {
    it.each(cases)(`${schema}: %s is ignored`, (_name, changes, expected) => {
      expect(reason(judge(sampleEvent(schema, { container: 'bronze', ...changes })))).toBe(expected);
    });
  }

  it('PutBlob counts; CopyBlob counts only when configured', () => {
    expect(judge(sampleEvent('blob-created.eventgrid', { container: 'bronze', path: dataPath('dim_users', 1), api: 'PutBlob' })).accepted).toBe(true);
    const copy = sampleEvent('blob-created.eventgrid', { container: 'bronze', path: dataPath('dim_users', 1), api: 'CopyBlob' });
    expect(judge(copy, { container: 'bronze', apis: [...COMPLETING_APIS, 'CopyBlob'] }).accepted).toBe(true);
  });

  it('the container name is configurable', () => {
    const event = sampleEvent('blob-created.cloudevents', { container: 'lake-raw', path: dataPath('dim_tracks', 9) });
    expect(judge(event).accepted).toBe(false);
    expect(judge(event, { container: 'lake-raw', apis: filter.apis })).toMatchObject({ accepted: true, table: 'dim_tracks' });
  });

  it('falls back to data.url (percent-decoded) when the subject names no blob', () => {
    const event = sampleEvent('blob-created.eventgrid', { container: 'bronze', path: dataPath('dim_users', 4) });
    event.subject = '';
    expect(judge(event)).toMatchObject({ accepted: true, event: { path: dataPath('dim_users', 4) } });
  });
});

describe('validation', () => {
  it('accepts one event, an array and JSON text', () => {
    const one = sampleEvent('blob-created.eventgrid');
    expect(parseStorageEvents(one)).toHaveLength(1);
    expect(parseStorageEvents([one, sampleEvent('blob-created.cloudevents')]).map((e) => e.schema)).toEqual(['eventgrid', 'cloudevents']);
    expect(parseStorageEvents(JSON.stringify(fixture('adls-blob-created.cloudevents')))[0]!.schema).toBe('cloudevents');
  });

  it('names the fields that are wrong', () => {
    const noId = sampleEvent('blob-created.eventgrid');
    delete noId.id;
    expect(parseDelivery(noId)).toEqual({ events: [], invalid: [{ problems: [expect.stringMatching(/^id: /)] }] });
    const badTime = sampleEvent('blob-created.cloudevents', { time: 'yesterday' });
    expect(parseDelivery([badTime]).invalid).toEqual([{ index: 0, eventId: badTime.id, problems: ['[0].time: must be an ISO-8601 time'] }]);
    const oldSpec = { ...sampleEvent('blob-created.cloudevents'), specversion: '0.3' };
    expect(parseDelivery(oldSpec).invalid[0]!.problems.join()).toMatch(/specversion/);
    expect(parseDelivery('{nope')).toEqual({ events: [], invalid: [{ problems: ['(root): not JSON'] }] });
  });

  it('a malformed event in an array is reported alone; the valid events beside it are kept', () => {
    const first = sampleEvent('blob-created.eventgrid', { id: 'ev-1' });
    const noSubject = sampleEvent('blob-created.eventgrid', { id: 'ev-2' });
    delete noSubject.subject;
    const last = sampleEvent('blob-created.cloudevents', { id: 'ev-5' });
    const { events, invalid } = parseDelivery([first, noSubject, 42, { ...sampleEvent('blob-created.cloudevents', { id: 'ev-4' }), time: 'soon' }, last]);
    expect(events.map((e) => e.id)).toEqual(['ev-1', 'ev-5']);
    expect(invalid.map(describeInvalid)).toEqual([
      'event [1] (id ev-2) is not a storage event: [1].subject: Invalid input: expected string, received undefined',
      expect.stringMatching(/^event \[2\] is not a storage event: \[2\]: /),
      'event [3] (id ev-4) is not a storage event: [3].time: must be an ISO-8601 time',
    ]);
  });

  it('a BlobCreated event without data.api is ignored with the reason', () => {
    const event = sampleEvent('blob-created.eventgrid', { container: 'bronze', path: dataPath('dim_users', 1) });
    delete (event.data as Record<string, unknown>).api;
    expect(reason(judge(event))).toMatch(/^BlobCreated data invalid: data\.api: /);
  });
});
