import { h } from './dom.js';

/** What every view gets: a way to tell the person something, and to move to another view. */
export interface View {
  /** Fetch and draw again; called on mount, every few seconds while shown, and after an action. */
  refresh(): Promise<void>;
  /** Whether it is refreshed on the timer (the question box is not). */
  live: boolean;
}

let toastTimer: number | undefined;

/** A short message at the bottom of the page; errors stay until the next message. */
export function toast(message: string | Node, kind: 'info' | 'error' = 'info'): void {
  const el = document.getElementById('toast')!;
  el.replaceChildren(typeof message === 'string' ? document.createTextNode(message) : message);
  el.className = `toast ${kind}`;
  el.hidden = false;
  window.clearTimeout(toastTimer);
  if (kind === 'info') toastTimer = window.setTimeout(() => (el.hidden = true), 6_000);
}

export function runLink(runId: string): HTMLAnchorElement {
  return h('a', { href: `#run/${encodeURIComponent(runId)}`, class: 'mono' }, runId);
}

export function section(title: string, ...children: (Node | string)[]): HTMLElement {
  return h('section', { 'aria-label': title }, h('h2', {}, title), ...children);
}
