import { api, ApiFailure } from './api.js';
import type { BackfillsResponse, BackfillView, TablesResponse } from './consoleTypes.js';
import { badge, clear, fmtBytes, fmtInt, fmtTime, h, table } from './dom.js';
import { runLink, section, toast, type View } from './shell.js';

const FIELDS = ['table', 'from', 'to', 'chunk', 'requestId'] as const;
type Field = (typeof FIELDS)[number];

function field(name: Field, label: string, control: HTMLInputElement | HTMLSelectElement, hint: string): HTMLElement {
  control.id = `bf-${name}`;
  control.name = name;
  control.setAttribute('aria-describedby', `bf-${name}-hint bf-${name}-error`);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    h('small', { id: `bf-${name}-hint`, class: 'muted' }, hint),
    h('p', { id: `bf-${name}-error`, class: 'field-error', 'aria-live': 'polite' }),
  );
}

function progress(b: BackfillView): HTMLElement {
  return h(
    'div',
    { class: 'progress', role: 'progressbar', 'aria-label': `chunks of backfill ${b.id}`, 'aria-valuemin': 0, 'aria-valuemax': b.totals.chunks, 'aria-valuenow': b.totals.done },
    b.chunks.map((c) => h('span', { class: `chunk s-${c.status}`, title: `chunk ${c.chunk} [${c.low}, ${c.high}): ${c.status}, ${fmtInt(c.rows)} rows${c.error ? `; ${c.error}` : ''}` })),
  );
}

function card(b: BackfillView): HTMLElement {
  const t = b.totals;
  return h(
    'article',
    { class: 'card backfill', 'data-backfill': b.id },
    h('header', {}, h('strong', {}, b.table), ' ', badge(b.status), ' ', h('span', { class: 'mono muted' }, b.id), ' · run ', runLink(b.runId)),
    h('p', {}, `${fmtTime(b.from)} → ${fmtTime(b.to)} · ${t.done} of ${t.chunks} chunks done${t.running ? `, ${t.running} running` : ''}${t.failed ? `, ${t.failed} failed` : ''} · ${fmtInt(t.rows)} rows in ${fmtInt(t.files)} files (${fmtBytes(t.bytes)})`),
    ...(b.sizing ? [h('p', { class: 'muted' }, `Chunks: ${b.sizing}`)] : []),
    progress(b),
    h(
      'details',
      {},
      h('summary', {}, 'Chunks'),
      table(
        `Chunks of ${b.id}`,
        ['Chunk', 'From', 'To', 'Status', 'Rows', 'Files', 'Bytes', 'Attempts', 'Error'],
        b.chunks.map((c) => [String(c.chunk), c.low, c.high, badge(c.status), fmtInt(c.rows), fmtInt(c.files), fmtBytes(c.bytes), String(c.attempts), h('span', { class: 'error-text' }, c.error ?? '')]),
        { class: 'grid compact' },
      ),
    ),
  );
}

/** Start a backfill (the API checks it; its 400s are shown next to the field they name) and watch every backfill's chunks. */
export function backfillsView(root: HTMLElement): View {
  const tableSelect = h('select', { required: true });
  const inputs: Record<Field, HTMLInputElement | HTMLSelectElement> = {
    table: tableSelect,
    from: h('input', { type: 'text', required: true, placeholder: '2026-10-01', autocomplete: 'off' }),
    to: h('input', { type: 'text', required: true, placeholder: '2026-10-03T12:00:00Z', autocomplete: 'off' }),
    chunk: h('input', { type: 'text', placeholder: 'auto', autocomplete: 'off' }),
    requestId: h('input', { type: 'text', placeholder: 'optional', autocomplete: 'off' }),
  };
  const formError = h('p', { class: 'field-error', id: 'bf-form-error', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start backfill');
  const form = h(
    'form',
    { class: 'backfill-form', 'aria-label': 'Start a backfill', novalidate: true },
    field('table', 'Table', inputs.table, 'timestamp watermark'),
    field('from', 'From', inputs.from, 'ISO 8601, UTC (inclusive)'),
    field('to', 'To', inputs.to, 'ISO 8601, UTC (exclusive)'),
    field('chunk', 'Chunk', inputs.chunk, 'ISO 8601 duration, or auto (about INGEST_RANGE_ROWS rows a chunk); empty: the default'),
    field('requestId', 'Request id', inputs.requestId, 'the same id never runs twice'),
    h('div', { class: 'field submit' }, submit),
    formError,
  );
  const showError = (name: string | undefined, message: string): void => {
    const f = FIELDS.find((x) => x === name);
    if (f) {
      document.getElementById(`bf-${f}-error`)!.textContent = message;
      inputs[f].setAttribute('aria-invalid', 'true');
      inputs[f].focus();
    } else {
      formError.textContent = message;
    }
  };
  const clearErrors = (): void => {
    formError.textContent = '';
    for (const f of FIELDS) {
      document.getElementById(`bf-${f}-error`)!.textContent = '';
      inputs[f].removeAttribute('aria-invalid');
    }
  };
  const list = h('div', { class: 'backfills', id: 'backfill-list' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(root, section('Start a backfill', form), section('Backfills', list));
  let tablesLoaded = false;
  const view: View = {
    live: true,
    refresh: async () => {
      if (!tablesLoaded) {
        const { body } = await api<TablesResponse>('tables');
        tableSelect.append(...body.tables.filter((t) => t.enabled).map((t) => h('option', { value: t.table }, `${t.table} (${t.watermark.kind})`)));
        tableSelect.value = body.tables.find((t) => t.enabled && t.watermark.kind === 'timestamp')?.table ?? tableSelect.value;
        tablesLoaded = true;
      }
      const { body } = await api<BackfillsResponse>('backfills?limit=20');
      clear(list, body.backfills.length ? body.backfills.map(card) : h('p', { class: 'muted' }, 'No backfill in the last 7 days.'));
    },
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const request: Record<string, string> = {};
    for (const f of FIELDS) {
      const v = inputs[f].value.trim();
      if (v) request[f] = v;
    }
    submit.disabled = true;
    void api<{ id: string; created: boolean; chunks: number }>('backfill', { method: 'POST', body: request })
      .then(async ({ body }) => {
        toast(`Backfill ${body.id} ${body.created ? 'accepted' : 'requested again'}: ${body.chunks} chunks`);
        await view.refresh();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiFailure && err.status === 400) showError(err.field, err.body?.error.problem ?? err.message);
        else showError(undefined, err instanceof Error ? err.message : String(err));
      })
      .finally(() => (submit.disabled = false));
  });
  return view;
}
