import { RETRYABLE_WINDOW_STATES } from '../events/kickRetry.js';
import type { KickStore, KickWindow } from '../events/kickStore.js';
import type { KickWindowView } from '../../console/src/consoleTypes.js';


export function windowView(w: KickWindow): KickWindowView {
  const { etag: _etag, ...rest } = w;
  return { ...rest, retryable: RETRYABLE_WINDOW_STATES.includes(w.status) };
}

/** Kick windows opened since `since`, newest first, and the window files join now. */
export async function recentWindows(store: KickStore, since: Date, limit: number): Promise<{ windows: KickWindowView[]; openWindow: string | null }> {
  const [windows, pointer] = await Promise.all([store.windowsSince(since, limit), store.pointer()]);
  const open = pointer ? windows.find((w) => w.id === pointer.windowId && w.status === 'open') : undefined;
  return { windows: windows.map(windowView), openWindow: open?.id ?? null };
}
