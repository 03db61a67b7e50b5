/** A few DOM and formatting helpers: the page builds its elements with these, no framework. */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
}

/** `h('a', {href: '#x', onclick: f}, 'text')`: text is always set as text, never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const integer = new Intl.NumberFormat('en-US');

/** A kick window's tables: the names it lists, and how many more it had. */
export function tableList(w: { tables?: string[]; tableCount?: number }): string {
  const listed = w.tables ?? [];
  const more = (w.tableCount ?? listed.length) - listed.length;
  return `${listed.join(', ')}${more > 0 ? ` and ${fmtInt(more)} more` : ''}`;
}

export function fmtInt(n: number | undefined | null): string {
  return n === undefined || n === null ? '' : integer.format(n);
}

export function fmtBytes(n: number | undefined | null): string {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = s / 60;
  if (m < 60) return `${m.toFixed(m < 10 ? 1 : 0)} min`;
  const hours = m / 60;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}

/** `2026-03-01 06:00:05` in UTC (what the ledger and watermarks speak), shorter when it is today. */
export function fmtTime(iso: string | undefined | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString().replace('T', ' ').slice(0, 19);
  return text.slice(0, 10) === new Date().toISOString().slice(0, 10) ? text.slice(11) : text;
}

export function fmtAgo(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '';
  const ms = now - new Date(iso).getTime();
  return Number.isNaN(ms) ? '' : ms < 5_000 ? 'just now' : `${fmtDuration(ms)} ago`;
}

/** A coloured label for a status (the CSS gives each a colour). */
export function badge(status: string, title?: string): HTMLSpanElement {
  return h('span', { class: `badge s-${status.replace(/[^a-z-]/g, '')}`, ...(title ? { title } : {}) }, status);
}

/** A table from headers and rows of cells; `caption` is read by screen readers (and tests). */
export function table(caption: string, headers: string[], rows: Child[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))),
  );
}
