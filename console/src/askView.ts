import { api, ApiFailure } from './api.js';
import { barChart, lineChart } from './charts.js';
import type { AskAnswer } from './consoleTypes.js';
import { badge, clear, fmtDuration, fmtInt, h, table } from './dom.js';
import { section, type View } from './shell.js';

const NUMERIC = /^(tinyint|smallint|int|integer|bigint|float|double|real|decimal|numeric|long|short|byte)/i;
const TEMPORAL = /^(date|timestamp)/i;

const asNumber = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);
const asTime = (v: unknown): number | null => {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const ms = typeof v === 'number' ? v : Date.parse(/^\d{4}-\d{2}(-\d{2})?$/.test(v) ? `${v.length === 7 ? `${v}-01` : v}T00:00:00Z` : v.replace(' ', 'T'));
  return Number.isNaN(ms) ? null : ms;
};

/**
 * A chart when the rows are one: a time series (a date or timestamp column and numbers: a line
 * per numeric column) or a ranking (a label column and a number: bars in the query's order).
 */
export function chartFor(answer: Pick<AskAnswer, 'columns' | 'rows'>): HTMLElement | null {
  const { columns, rows } = answer;
  if (rows.length < 2 || columns.length < 2) return null;
  const numeric = columns.map((c, i) => ({ c, i })).filter(({ c, i }) => NUMERIC.test(c.type) && rows.every((r) => r[i] === null || asNumber(r[i]) !== null));
  if (numeric.length === 0) return null;
  const time = columns.findIndex((c, i) => TEMPORAL.test(c.type) || (/(^|_)(date|day|month|week|year|hour|time|at)$/i.test(c.name) && !NUMERIC.test(c.type) && rows.every((r) => asTime(r[i]) !== null)));
  if (time >= 0) {
    const series = numeric.filter(({ i }) => i !== time).slice(0, 4).map(({ c, i }) => ({ name: c.name, points: rows.filter((r) => r[i] !== null).map((r) => [asTime(r[time])!, asNumber(r[i])!] as [number, number]) }));
    if (series.length) return lineChart(`${series.map((s) => s.name).join(', ')} by ${columns[time]!.name}`, series, { time: true, format: (v) => fmtInt(Math.round(v * 100) / 100) });
  }
  const label = columns.findIndex((c) => !NUMERIC.test(c.type) && !TEMPORAL.test(c.type));
  if (label >= 0 && rows.length <= 50) {
    const value = numeric[numeric.length - 1]!;
    return barChart(`${value.c.name} by ${columns[label]!.name}`, rows.map((r) => ({ label: String(r[label] ?? 'null'), value: asNumber(r[value.i]) ?? 0 })), (v) => fmtInt(Math.round(v * 100) / 100));
  }
  return null;
}

function show(v: unknown): string {
  return v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function answerView(a: AskAnswer): HTMLElement {
  const chart = a.status === 'answered' ? chartFor(a) : null;
  return h(
    'div',
    { class: 'answer', id: 'answer', 'data-status': a.status },
    h('p', {}, badge(a.status), ' ', h('span', { id: 'answer-summary' }, a.summary), ' ', h('span', { class: 'muted' }, `${fmtDuration(a.durationMs)} · run ${a.runId}${a.model ? ` · ${a.model}` : ''}`)),
    a.error ? h('p', { class: 'error-text' }, `${a.error.code}: ${a.error.message}`) : '',
    a.sql ? h('div', {}, h('h3', {}, a.mode === 'question' ? 'Generated SQL' : 'SQL as checked'), h('pre', { class: 'sql', id: 'answer-sql' }, a.sql)) : '',
    a.attempts.length > 1 ? h('details', {}, h('summary', {}, `${a.attempts.length} attempts`), h('ol', {}, a.attempts.map((t) => h('li', {}, badge(t.outcome), ' ', h('code', {}, t.sql), t.message ? ` — ${t.message}` : '')))) : '',
    chart ?? '',
    a.columns.length
      ? h('div', { class: 'scroll' }, table('Answer rows', a.columns.map((c) => c.name), a.rows.map((r) => r.map(show)), { class: 'grid', id: 'answer-rows' }))
      : '',
    a.truncated ? h('p', { class: 'muted' }, `Only the first ${a.rowCount} rows are shown.`) : '',
  );
}

/** The question box: a question in English (or your own SELECT), the SQL that ran, the rows, and a chart when they are one. */
export function askView(root: HTMLElement): View {
  const question = h('input', { type: 'radio', name: 'mode', value: 'question', id: 'mode-question', checked: true });
  const sql = h('input', { type: 'radio', name: 'mode', value: 'sql', id: 'mode-sql' });
  const text = h('textarea', { id: 'ask-text', name: 'text', rows: 3, required: true, placeholder: 'who are the top 3 artists by streams?', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Ask');
  const error = h('p', { class: 'field-error', id: 'ask-error', 'aria-live': 'polite' });
  const result = h('div', { 'aria-live': 'polite' });
  const label = h('label', { for: 'ask-text' }, 'Question');
  const setMode = (): void => {
    label.textContent = sql.checked ? 'SQL (one SELECT over gold)' : 'Question';
    text.placeholder = sql.checked ? 'SELECT genre, count(*) AS artists FROM gold.dim_artist WHERE __END_AT IS NULL GROUP BY genre' : 'who are the top 3 artists by streams?';
    text.classList.toggle('mono', sql.checked);
  };
  question.addEventListener('change', setMode);
  sql.addEventListener('change', setMode);
  const form = h(
    'form',
    { class: 'ask-form', 'aria-label': 'Ask the gold tables' },
    h('fieldset', { class: 'modes' }, h('legend', {}, 'Mode'), question, h('label', { for: 'mode-question' }, 'Question'), sql, h('label', { for: 'mode-sql' }, 'SQL')),
    label,
    text,
    h('div', { class: 'actions' }, submit),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = text.value.trim();
    error.textContent = '';
    if (!value) {
      error.textContent = 'Type a question or a SELECT first.';
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Asking…';
    void api<AskAnswer>('ask', { method: 'POST', body: sql.checked ? { sql: value } : { question: value } })
      .then(({ body }) => clear(result, answerView(body)))
      .catch((err: unknown) => {
        clear(result);
        error.textContent = err instanceof ApiFailure ? `${err.field ? `${err.field}: ` : ''}${err.body?.error.problem ?? err.message}` : String(err);
      })
      .finally(() => {
        submit.disabled = false;
        submit.textContent = 'Ask';
      });
  });
  clear(root, section('Ask the gold tables', form, result));
  return { live: false, refresh: async () => undefined };
}
