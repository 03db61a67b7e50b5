import { api, ApiFailure } from './api.js';
import { barChart, lineChart, type Series } from './charts.js';
import type { TablesResponse, TableView } from './consoleTypes.js';
import { badge, clear, fmtAgo, fmtBytes, fmtDuration, fmtInt, fmtTime, h, table } from './dom.js';
import { runLink, section, toast, type View } from './shell.js';

function lagText(t: TableView): string {
  const l = t.lag;
  if (l.error) return 'source unreachable';
  if (l.sourceHigh === null) return t.watermark.value === null ? 'empty source' : 'up to date';
  if (t.watermark.value === null) return 'not loaded yet';
  if (l.behindMs !== null) return l.behindMs === 0 ? 'up to date' : fmtDuration(l.behindMs);
  if (l.behindValues !== null) return l.behindValues === '0' ? 'up to date' : `${fmtInt(Number(l.behindValues))} values`;
  return '';
}

async function ingest(tableName: string, button: HTMLButtonElement, after: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    const { body } = await api<{ runId: string }>('ingest', { method: 'POST', body: { table: tableName } });
    toast(h('span', {}, `Ingest of ${tableName} queued: run `, runLink(body.runId)));
    await after();
  } catch (err) {
    toast(err instanceof ApiFailure ? `Ingest of ${tableName}: ${err.message}` : String(err), 'error');
  } finally {
    button.disabled = false;
  }
}

function tablesTable(tables: TableView[], after: () => Promise<void>): HTMLTableElement {
  return table(
    'Tables',
    ['Table', 'State', 'Watermark', 'Last slice', 'Rows', 'Bytes', 'Lag', 'Last run', ''],
    tables.map((t) => {
      const slice = t.lastSlice;
      const button = h('button', { type: 'button', class: 'small', 'aria-label': `Ingest ${t.table} now` }, 'Ingest now');
      button.addEventListener('click', () => void ingest(t.table, button, after));
      if (!t.enabled) button.disabled = true;
      return [
        h('div', {}, h('strong', {}, t.table), h('div', { class: 'muted mono' }, t.source)),
        badge(t.state, t.stateDetail),
        h('div', {}, h('div', { class: 'mono' }, t.watermark.value ?? '(none)'), h('div', { class: 'muted' }, t.watermark.committedAt ? `committed ${fmtAgo(t.watermark.committedAt)}` : `${t.watermark.kind} on ${t.watermark.column}`)),
        slice ? h('div', {}, h('span', { class: 'mono' }, slice.slice ?? ''), h('div', { class: 'muted' }, fmtTime(slice.finishedAt))) : h('span', { class: 'muted' }, 'none'),
        slice ? fmtInt(slice.rows) : '',
        slice ? fmtBytes(slice.bytes) : '',
        h('span', { title: t.lag.error ?? (t.lag.sourceHigh ? `source at ${t.lag.sourceHigh} (checked ${fmtTime(t.lag.checkedAt)})` : '') }, lagText(t)),
        t.last ? h('div', {}, runLink(t.last.runId), ' ', badge(t.last.status, t.last.error ?? t.last.detail), h('div', { class: 'muted' }, `${fmtTime(t.last.startedAt)} · ${fmtDuration(t.last.durationMs)}`)) : h('span', { class: 'muted' }, 'never run'),
        button,
      ];
    }),
    { class: 'grid', id: 'tables' },
  );
}

function charts(tables: TableView[]): HTMLElement {
  const series = (pick: (p: TableView['history'][number]) => number | null): Series[] =>
    tables.map((t) => ({ name: t.table, points: t.history.map((p) => [Date.parse(p.at), pick(p)] as [number, number | null]).filter((p): p is [number, number] => p[1] !== null) }));
  return h(
    'div',
    { class: 'charts' },
    lineChart('Rows per run', series((p) => p.rows), { time: true, format: (v) => fmtInt(v) }),
    lineChart('Run duration', series((p) => p.durationMs), { time: true, durations: true, format: (v) => fmtDuration(v) }),
    lineChart('Lag after each run', series((p) => p.lagMs), { time: true, durations: true, format: (v) => fmtDuration(v) }),
    barChart(
      'Lag now',
      tables.filter((t) => t.lag.behindMs !== null).map((t) => ({ label: t.table, value: t.lag.behindMs! })),
      (v) => (v === 0 ? 'up to date' : fmtDuration(v)),
    ),
  );
}

/** Every table's state and lag, with the charts of its recent runs; `Ingest now` per table. */
export function pipelineView(root: HTMLElement): View {
  const tablesBox = h('div', { class: 'scroll' }, h('p', { class: 'muted' }, 'Loading…'));
  const chartsBox = h('div', {});
  clear(root, section('Tables', tablesBox), section('Charts', chartsBox));
  const view: View = {
    live: true,
    refresh: async () => {
      const { body } = await api<TablesResponse>('tables');
      clear(tablesBox, tablesTable(body.tables, view.refresh));
      clear(chartsBox, charts(body.tables));
    },
  };
  return view;
}
