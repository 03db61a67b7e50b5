import { api } from './api.js';
import type { Activity, RunDetail, RunsResponse } from './consoleTypes.js';
import { badge, clear, fmtBytes, fmtDuration, fmtInt, fmtTime, h, table, tableList } from './dom.js';
import { runLink, section, type View } from './shell.js';

function activityRows(runs: Activity[], withRun: boolean): (Node | string)[][] {
  return runs.map((r) => [
    fmtTime(r.startedAt),
    ...(withRun ? [runLink(r.runId)] : []),
    r.subject,
    r.activity,
    r.trigger,
    badge(r.status, r.error ?? r.detail),
    fmtDuration(r.durationMs),
    fmtInt(r.rows),
    fmtBytes(r.bytes),
    fmtInt(r.files),
    h('span', { class: r.error ? 'error-text' : 'muted' }, r.error ?? r.detail ?? ''),
  ]);
}

const HEADERS = ['Started', 'Subject', 'Activity', 'Trigger', 'Status', 'Duration', 'Rows', 'Bytes', 'Files', 'Detail'];

/** The newest ledger activities, filterable by table (subject) and status, in the hash: #runs?table=x&status=failed. */
export function runsView(root: HTMLElement, params: URLSearchParams): View {
  const chosen = params.get('table') ?? '';
  // The chosen table is an option at once, so a filter changed before the list of subjects arrives keeps it.
  const subject = h('select', { id: 'filter-table', name: 'table' }, h('option', { value: '' }, 'all'), chosen ? h('option', { value: chosen }, chosen) : '');
  subject.value = chosen;
  const chosenStatus = params.get('status') ?? '';
  const status = h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'any'), chosenStatus ? h('option', { value: chosenStatus }, chosenStatus) : '');
  status.value = chosenStatus;
  const list = h('div', { class: 'scroll' }, h('p', { class: 'muted' }, 'Loading…'));
  const apply = (): void => {
    const q = new URLSearchParams();
    if (subject.value) q.set('table', subject.value);
    if (status.value) q.set('status', status.value);
    location.hash = `#runs${q.size ? `?${q}` : ''}`;
  };
  subject.addEventListener('change', apply);
  status.addEventListener('change', apply);
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter runs' }, h('label', { for: 'filter-table' }, 'Table'), subject, h('label', { for: 'filter-status' }, 'Status'), status);
  clear(root, section('Runs', filters, list));
  let subjectsKnown = false;
  return {
    live: true,
    refresh: async () => {
      if (!subjectsKnown) {
        const { body } = await api<RunsResponse>('runs?limit=1');
        subject.append(...body.subjects.filter((s) => s !== chosen).map((s) => h('option', { value: s }, s)));
        status.append(...body.statuses.filter((s) => s !== chosenStatus).map((s) => h('option', { value: s }, s)));
        subjectsKnown = true;
      }
      const q = new URLSearchParams({ limit: '100' });
      if (params.get('table')) q.set('table', params.get('table')!);
      if (params.get('status')) q.set('status', params.get('status')!);
      const { body } = await api<RunsResponse>(`runs?${q}`);
      clear(list, body.runs.length ? table('Runs', [HEADERS[0]!, 'Run', ...HEADERS.slice(1)], activityRows(body.runs, true), { class: 'grid', id: 'runs' }) : h('p', { class: 'muted' }, 'No runs match.'));
    },
  };
}

/** One run: its activities, the manifests of its slices (files, schema), its alerts, its kick window. */
export function runDetailView(root: HTMLElement, runId: string): View {
  const box = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  clear(root, h('p', {}, h('a', { href: '#runs' }, '← all runs')), h('h2', { class: 'mono' }, `Run ${runId}`), box);
  return {
    live: true,
    refresh: async () => {
      const { body: d } = await api<RunDetail>(`runs/${encodeURIComponent(runId)}`);
      const parts: Node[] = [section('Activities', h('div', { class: 'scroll' }, table('Activities', HEADERS, activityRows(d.activities, false), { class: 'grid', id: 'activities' })))];
      if (d.kick) {
        const k = d.kick;
        parts.push(
          section(
            'Databricks kick window',
            h('p', {}, badge(k.status), ` ${fmtTime(k.opensAt)} – ${fmtTime(k.closesAt)}, ${fmtInt(k.files)} files in ${tableList(k) || '(none)'}`, k.databricksRunId ? `, Databricks run ${k.databricksRunId}` : '', k.carriedBy ? `, carried by ${k.carriedBy}` : ''),
            k.error ? h('p', { class: 'error-text' }, k.error) : '',
            h('details', {}, h('summary', {}, `Files (${k.members.length})`), h('ul', { class: 'mono small' }, k.members.map((m) => h('li', {}, m.path)))),
          ),
        );
      }
      parts.push(
        section(
          `Manifests (${d.manifests.length})`,
          ...(d.manifests.length === 0 ? [h('p', { class: 'muted' }, 'No slice of this run committed files.')] : []),
          ...d.manifests.map((m) =>
            h(
              'details',
              { class: 'manifest', open: d.manifests.length <= 3 },
              h('summary', {}, h('strong', {}, m.table), ` ${m.slice} (${m.kind}${m.backfillId ? ` of backfill ${m.backfillId}` : ''}): ${fmtInt(m.rows)} rows, ${fmtBytes(m.bytes)} in ${m.files.length} files; ${m.watermark.column} ${m.watermark.low ?? '(start)'} → ${m.watermark.high}`),
              h('p', { class: 'muted mono' }, m.path),
              table(`Files of ${m.slice}`, ['File', 'Rows', 'Bytes'], m.files.map((f) => [h('span', { class: 'mono' }, f.path), fmtInt(f.rows), fmtBytes(f.bytes)]), { class: 'grid compact' }),
              h('details', {}, h('summary', {}, `Schema (${m.columns.length} columns)`), table(`Columns of ${m.slice}`, ['Column', 'Source type', 'Parquet type', 'Nullable'], m.columns.map((c) => [c.name, c.sourceType, c.parquetType, c.nullable ? 'yes' : 'no']), { class: 'grid compact' })),
            ),
          ),
          ...(d.missingManifests.length ? [h('p', { class: 'error-text' }, `Manifests named by the ledger but not in the lake: ${d.missingManifests.join(', ')}`)] : []),
        ),
      );
      parts.push(
        section(
          `Alerts (${d.alerts.length})`,
          d.alerts.length === 0
            ? h('p', { class: 'muted' }, 'No alert was raised for this run.')
            : table(
                'Alerts',
                ['At', 'Kind', 'Subject', 'Title', 'Outcome', 'Channels'],
                d.alerts.map((a) => [fmtTime(a.at), a.kind, a.subject, h('span', { title: a.detail }, a.title), badge(a.outcome), a.channels.map((c) => `${c.channel} ${c.delivered ? 'delivered' : `failed${c.error ? `: ${c.error}` : ''}`} (${c.attempts})`).join('; ') || '(none configured)']),
                { class: 'grid', id: 'alerts' },
              ),
        ),
      );
      clear(box, parts);
    },
  };
}
