import { api, ApiFailure } from './api.js';
import type { KicksResponse, KickWindowView } from './consoleTypes.js';
import { badge, clear, fmtInt, fmtTime, h, table, tableList } from './dom.js';
import { runLink, section, toast, type View } from './shell.js';

async function retry(w: KickWindowView, button: HTMLButtonElement, after: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    await api(`kicks/${encodeURIComponent(w.id)}/retry`, { method: 'POST' });
    toast(`Kick of window ${w.id} queued again`);
    await after();
  } catch (err) {
    toast(err instanceof ApiFailure ? `Retry of ${w.id}: ${err.message}` : String(err), 'error');
    button.disabled = false;
  }
}

/** Databricks kick windows (one run per burst of bronze files), the runs they started, and a retry for a given-up kick. */
export function kicksView(root: HTMLElement): View {
  const box = h('div', { class: 'scroll' }, h('p', { class: 'muted' }, 'Loading…'));
  const open = h('p', { class: 'muted' });
  clear(root, section('Databricks kick windows (last 24 h)', open, box));
  const view: View = {
    live: true,
    refresh: async () => {
      const { body } = await api<KicksResponse>('kicks?limit=50');
      open.textContent = body.openWindow ? `Window ${body.openWindow} is open: new bronze files join it.` : 'No window is open: the next bronze file opens one.';
      clear(
        box,
        body.windows.length === 0
          ? h('p', { class: 'muted' }, 'No kick window in the last 24 hours.')
          : table(
              'Kick windows',
              ['Window', 'Opened', 'Closes', 'Status', 'Files', 'Tables', 'Databricks run', 'Note', ''],
              body.windows.map((w) => {
                const action = w.retryable ? h('button', { type: 'button', class: 'small', 'aria-label': `Retry kick ${w.id}` }, 'Retry kick') : '';
                if (action) action.addEventListener('click', () => void retry(w, action, view.refresh));
                return [
                  runLink(w.id),
                  fmtTime(w.opensAt),
                  fmtTime(w.closesAt),
                  badge(w.status, w.error),
                  fmtInt(w.files),
                  tableList(w),
                  w.databricksRunId !== undefined ? String(w.databricksRunId) : '',
                  h('span', { class: w.error ? 'error-text' : 'muted' }, w.error ?? (w.carriedBy ? `files taken by ${w.carriedBy}` : '')),
                  action,
                ];
              }),
              { class: 'grid', id: 'kicks' },
            ),
      );
    },
  };
  return view;
}
