import type { ApiError } from './consoleTypes.js';

/**
 * The page's only way to the server: the app's own JSON API, relative to where this script was
 * served from (/api/console/api.js -> /api/), so it works under any host and route prefix.
 *
 * Function keys: the server never hands the page a secret. When an endpoint answers 401, the
 * page asks the person for a key once, keeps it in this tab's sessionStorage (gone when the tab
 * closes, never sent to another origin: CSP connect-src 'self') and sends it as x-functions-key.
 */
const BASE = new URL('../', import.meta.url);
const KEY = 'soundlake.functionKey';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError | null,
    message: string,
  ) {
    super(message);
  }

  /** The request field the server named, if it named one (400s of the backfill and ingest APIs). */
  get field(): string | undefined {
    return this.body?.error?.field;
  }
}

let askForKey: ((reason: string) => Promise<string | null>) | undefined;
/** The person cancelled the key prompt: 401s are reported, not asked about again, until a key is set. */
let declined = false;

/** The page registers how to ask for a key (a dialog); it resolves null when the person cancels. */
export function onKeyNeeded(ask: (reason: string) => Promise<string | null>): void {
  askForKey = ask;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setKey(key: string | null): void {
  if (key) {
    sessionStorage.setItem(KEY, key);
    declined = false;
  } else {
    sessionStorage.removeItem(KEY);
  }
}

/** The answer of a JSON endpoint: the body on 2xx, or an ApiFailure that carries the server's error. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  for (let attempt = 0; ; attempt++) {
    const key = storedKey();
    const res = await fetch(new URL(path, BASE), {
      method: init.method ?? 'GET',
      headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'x-functions-key': key } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (res.status === 401 && attempt < 2 && askForKey && !declined) {
      const given = await askForKey(key ? 'The key was not accepted.' : 'The API needs a function key.');
      if (given) {
        setKey(given);
        continue;
      }
      declined = true;
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    // 2xx, and the ask endpoint's 422 and 502, which carry a whole answer.
    if (res.ok || ((res.status === 422 || res.status === 502) && body && typeof body === 'object' && 'runId' in body)) return { status: res.status, body: body as T };
    const error = (body as ApiError | null)?.error;
    const message = res.status === 401 ? 'a function key is needed or was refused (button "function key")' : error?.message ?? `${res.status} ${res.statusText}`;
    throw new ApiFailure(res.status, body as ApiError | null, message);
  }
}
