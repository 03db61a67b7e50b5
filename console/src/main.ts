import { ApiFailure, onKeyNeeded, setKey, storedKey } from './api.js';
import { askView } from './askView.js';
import { backfillsView } from './backfillsView.js';
import { kicksView } from './kicksView.js';
import { pipelineView } from './pipelineView.js';
import { runDetailView, runsView } from './runsView.js';
import type { View } from './shell.js';

/** Views by hash (#pipeline, #runs?table=x, #run/<id>, #backfills, #databricks, #ask); a live view is refreshed every few seconds. */
const REFRESH_MS = 4_000;

const root = document.getElementById('view')!;
const live = document.getElementById('live')!;
let current: View | undefined;
let timer: number | undefined;
let generation = 0;

function route(): { name: string; view: View } {
  const hash = location.hash.replace(/^#/, '');
  const [path = '', query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  if (path.startsWith('run/')) return { name: 'runs', view: runDetailView(root, decodeURIComponent(path.slice(4))) };
  switch (path) {
    case 'runs':
      return { name: 'runs', view: runsView(root, params) };
    case 'backfills':
      return { name: 'backfills', view: backfillsView(root) };
    case 'databricks':
      return { name: 'databricks', view: kicksView(root) };
    case 'ask':
      return { name: 'ask', view: askView(root) };
    default:
      return { name: 'pipeline', view: pipelineView(root) };
  }
}

async function refresh(mine: number): Promise<void> {
  if (!current || mine !== generation) return;
  try {
    await current.refresh();
    if (mine !== generation) return;
    live.textContent = current.live ? `live · updated ${new Date().toISOString().slice(11, 19)} UTC` : 'ready';
    live.className = 'live ok';
  } catch (err) {
    if (mine !== generation) return;
    live.textContent = err instanceof ApiFailure ? `not updated: ${err.message}` : `not updated: ${(err as Error).message}`;
    live.className = 'live failed';
  }
}

function schedule(mine: number): void {
  window.clearTimeout(timer);
  if (!current?.live) return;
  timer = window.setTimeout(() => {
    // A hidden tab is not refreshed; it catches up when shown again.
    if (document.visibilityState === 'visible') void refresh(mine).finally(() => schedule(mine));
    else schedule(mine);
  }, REFRESH_MS);
}

function show(): void {
  const mine = ++generation;
  const { name, view } = route();
  current = view;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  void refresh(mine).finally(() => schedule(mine));
}

// The key dialog: asked for when an endpoint answers 401, or from the header button.
const dialog = document.getElementById('key-dialog') as HTMLDialogElement;
const keyInput = document.getElementById('key-input') as HTMLInputElement;
const keyButton = document.getElementById('key-button')!;
let pending: Promise<string | null> | undefined;

function askKey(reason: string): Promise<string | null> {
  pending ??= new Promise<string | null>((resolve) => {
    dialog.querySelector('p.reason')?.remove();
    const p = document.createElement('p');
    p.className = 'reason';
    p.textContent = reason;
    dialog.querySelector('h2')!.after(p);
    keyInput.value = '';
    dialog.addEventListener(
      'close',
      () => {
        pending = undefined;
        if (dialog.returnValue === 'save' && keyInput.value.trim()) resolve(keyInput.value.trim());
        else {
          if (dialog.returnValue === 'forget') setKey(null);
          resolve(null);
        }
        keyInput.value = '';
        keyButton.textContent = storedKey() ? 'function key ✓' : 'function key';
      },
      { once: true },
    );
    dialog.showModal();
    keyInput.focus();
  });
  return pending;
}

onKeyNeeded(askKey);
keyButton.textContent = storedKey() ? 'function key ✓' : 'function key';
keyButton.addEventListener('click', () => {
  void askKey(storedKey() ? 'A key is set for this tab.' : 'No key is set: the API is asked without one.').then((key) => {
    if (key) setKey(key);
    keyButton.textContent = storedKey() ? 'function key ✓' : 'function key';
    show();
  });
});
window.addEventListener('hashchange', show);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh(generation);
});
show();
