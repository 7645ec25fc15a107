import { EventPageInfo } from '@onair/shared';
import { onBeforeUnmount, onMounted, ref, shallowRef, type Ref } from 'vue';
import { ApiError, api } from '../services/api';

/** What the event page shows; one explicit union, moved only by `nextView`. */
export type EventView =
  | { kind: 'loading' }
  | { kind: 'soon' | 'live' | 'ended'; info: EventPageInfo }
  | { kind: 'missing' }
  | { kind: 'expired' }
  | { kind: 'denied'; message: string }
  /** The server cannot be reached: the last page stays shown while polling goes on. */
  | { kind: 'offline'; message: string; last: EventPageInfo | null };

export type PollResult = { ok: true; info: EventPageInfo } | { ok: false; code: string; message: string };

/** How often an open page polls (and so counts itself as a viewer). */
export const POLL_MS = 5_000;

/** The view after one poll. An ended page stays ended; a network failure keeps what was shown. */
export function nextView(view: EventView, result: PollResult): EventView {
  if (result.ok) {
    if (view.kind === 'ended' && result.info.state !== 'live') return { kind: 'ended', info: result.info };
    return { kind: result.info.state, info: result.info };
  }
  switch (result.code) {
    case 'EVENT_NOT_FOUND':
      return { kind: 'missing' };
    case 'EVENT_LINK_EXPIRED':
      return { kind: 'expired' };
    case 'EVENT_PRIVATE':
    case 'EVENT_LINK_INVALID':
      return { kind: 'denied', message: result.message };
    default: {
      const last = view.kind === 'soon' || view.kind === 'live' || view.kind === 'ended' ? view.info : view.kind === 'offline' ? view.last : null;
      return { kind: 'offline', message: result.message, last };
    }
  }
}

/** Whether polling goes on: a missing page or a refused link will not change by asking again. */
export function keepsPolling(view: EventView): boolean {
  return view.kind !== 'missing' && view.kind !== 'expired' && view.kind !== 'denied';
}

/** A random id for this page, kept across reloads of the tab, so a viewer is counted once. */
export function viewerId(storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeSessionStorage()): string {
  const existing = storage?.getItem('onair-viewer');
  if (existing && /^[A-Za-z0-9_-]{8,64}$/.test(existing)) return existing;
  // crypto.randomUUID needs a secure context; getRandomValues works on a plain-HTTP LAN too.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const id = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  storage?.setItem('onair-viewer', id);
  return id;
}

function safeSessionStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Polls the event page `slug` (with a private page's `token`) and holds what it shows. */
export function useEventPage(slug: string, token: string | null): { view: Ref<EventView>; refresh: () => Promise<void> } {
  const view = shallowRef<EventView>({ kind: 'loading' });
  const viewer = viewerId();
  const polling = ref(true);
  let timer: ReturnType<typeof setTimeout> | null = null;

  async function refresh(): Promise<void> {
    const query = new URLSearchParams({ viewer });
    if (token) query.set('token', token);
    let result: PollResult;
    try {
      result = { ok: true, info: await api.get(`/api/watch/${encodeURIComponent(slug)}?${query.toString()}`, EventPageInfo) };
    } catch (err) {
      result = err instanceof ApiError ? { ok: false, code: err.code, message: err.message } : { ok: false, code: 'NETWORK', message: String(err) };
    }
    view.value = nextView(view.value, result);
    polling.value = keepsPolling(view.value);
  }

  async function loop(): Promise<void> {
    await refresh();
    if (polling.value) timer = setTimeout(() => void loop(), POLL_MS);
  }

  onMounted(() => void loop());
  onBeforeUnmount(() => {
    polling.value = false;
    if (timer) clearTimeout(timer);
  });
  return { view, refresh };
}
