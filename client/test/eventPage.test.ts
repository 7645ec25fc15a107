import { describe, expect, it } from 'vitest';
import type { EventPageInfo } from '@onair/shared';
import { keepsPolling, nextView, viewerId, type EventView } from '../src/composables/useEventPage';

const info = (state: EventPageInfo['state']): EventPageInfo => ({
  slug: 'launch',
  title: 'Launch',
  description: '',
  startsAt: null,
  state,
  viewers: 1,
  playlistUrl: state === 'live' ? '/api/watch/launch/hls/index.m3u8' : null,
});

describe('the event page view', () => {
  it('follows the server: soon → live → ended; an ended page stays ended unless it goes live again', () => {
    let view: EventView = { kind: 'loading' };
    for (const [state, expected] of [
      ['soon', 'soon'],
      ['live', 'live'],
      ['ended', 'ended'],
      ['soon', 'ended'],
      ['live', 'live'],
    ] as const) {
      view = nextView(view, { ok: true, info: info(state) });
      expect(view.kind).toBe(expected);
    }
  });

  it.each([
    ['EVENT_NOT_FOUND', 'missing', false],
    ['EVENT_LINK_EXPIRED', 'expired', false],
    ['EVENT_LINK_INVALID', 'denied', false],
    ['EVENT_PRIVATE', 'denied', false],
    ['NETWORK', 'offline', true],
    ['INTERNAL', 'offline', true],
  ] as const)('%s shows "%s" (polling goes on: %s)', (code, kind, polls) => {
    const view = nextView({ kind: 'live', info: info('live') }, { ok: false, code, message: 'words' });
    expect(view.kind).toBe(kind);
    expect(keepsPolling(view)).toBe(polls);
    if (view.kind === 'offline') expect(view.last?.title).toBe('Launch');
  });

  it('keeps one viewer id per tab (a reload counts once) and makes a well-formed one', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const first = viewerId(storage);
    expect(first).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(viewerId(storage)).toBe(first);
    store.set('onair-viewer', '<bad>');
    expect(viewerId(storage)).not.toBe('<bad>');
  });
});
