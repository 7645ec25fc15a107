/**
 * The program preview on the dashboard (a webinar's page), for the room's hosts and admins who are
 * not in the meeting: a receive-only signalling session opened with a preview token. It never joins,
 * so nobody in the meeting sees it and it is in no participant list; it only creates a receive
 * transport and consumes the preview (useSfu and useProgramPreview, as in the meeting).
 * The session is open while the meeting is (the page's poll says so) or a program composes, and the
 * server pushes it every broadcast status as it changes: the preview opens the moment a program
 * starts and closes when it stops, not at the next poll; `broadcast` is that pushed status (the
 * poll's while no session follows). It is closed (transport and consumer torn down on the server)
 * when the meeting closes or the page goes away.
 */
import { computed, onScopeDispose, shallowRef, watch, type Ref } from 'vue';
import { PreviewTokenReply, type BroadcastStatus, type RoomBroadcastReply } from '@onair/shared';
import { api } from '../services/api';
import { describeError } from '../services/errors';
import { useProgramPreview } from './meeting/useProgramPreview';
import { useSfu } from './meeting/useSfu';
import { useSignalSession } from './meeting/useSignalSession';

export type ProgramWatchState = 'not-live' | 'connecting' | 'showing' | 'failed';

export function useProgramWatch(roomId: () => string, polled: Ref<RoomBroadcastReply | null>) {
  const sfu = useSfu(shallowRef<string | null>(null));
  /** The broadcast as the server last pushed it to this session, or (no session following yet) as polled. */
  const broadcast = shallowRef<BroadcastStatus | null>(polled.value?.broadcast ?? null);
  /** The session has had a pushed status: polls, which may be older, no longer overwrite it. */
  let following = false;
  const tokenError = shallowRef<string | null>(null);
  const newToken = async (): Promise<string> =>
    (await api.post(`/api/rooms/${encodeURIComponent(roomId())}/broadcast/preview-token`, {}, PreviewTokenReply)).token;

  const session = useSignalSession({
    async setUp(s, auth) {
      const device = await sfu.loadDevice(auth.routerRtpCapabilities, s.signal);
      await sfu.connectTransports(s, device, auth.iceServers, ['recv']);
    },
    notify(_s, n) {
      if (n.event === 'broadcast') {
        following = true;
        broadcast.value = n.data.broadcast;
      }
      // The preview's producer closed (its encoder stopped): the next status opens it again if it is back.
      if (n.event === 'consumerClosed') preview.close();
    },
    teardown: () => {
      following = false;
      sfu.teardown();
    },
    ended: () => undefined,
  });
  const preview = useProgramPreview({
    // The session is authenticated once its receive transport exists (during set-up too).
    connection: () => session.connection(),
    recvTransport: sfu.recvTransport,
    broadcast,
    mayWatch: computed(() => true),
    rtpCapabilities: () => sfu.device.value?.recvRtpCapabilities,
  });

  const available = computed(() => broadcast.value?.preview === true && broadcast.value.state !== 'stopped');
  /** A session is worth having: there is a meeting to watch, or a program composing. */
  const wanted = computed(() => polled.value?.roomOpen === true || available.value);

  async function connect(): Promise<void> {
    if (session.state.value === 'closed') session.reset();
    if (session.state.value !== 'idle') return;
    tokenError.value = null;
    let token: string;
    try {
      token = await newToken();
    } catch (err) {
      tokenError.value = describeError(err);
      return;
    }
    if (!wanted.value) return;
    await session.join({ token, roomId: roomId(), role: 'host', renewToken: newToken });
  }

  // Each poll and each pushed status: connect, retry a failed preview, or leave when there is nothing to watch.
  watch(
    polled,
    (reply) => {
      if (!following) broadcast.value = reply?.broadcast ?? null;
    },
    { immediate: true },
  );
  watch(
    [polled, broadcast],
    () => {
      if (!wanted.value) {
        following = false;
        void session.leave();
        return;
      }
      if (session.state.value === 'idle' || session.state.value === 'closed') void connect();
      else if (session.state.value === 'joined') preview.reopen();
    },
    { immediate: true },
  );

  const state = computed<ProgramWatchState>(() => {
    if (!available.value) return 'not-live';
    if (preview.state.value === 'showing') return 'showing';
    if (tokenError.value || preview.state.value === 'failed' || (session.state.value === 'closed' && session.error.value)) return 'failed';
    return 'connecting';
  });
  /** The state in plain words. */
  const words = computed(() => {
    switch (state.value) {
      case 'not-live':
        return 'Not live';
      case 'connecting':
        return 'Connecting…';
      case 'showing':
        return broadcast.value?.state === 'preview' ? 'Preview (not sent anywhere yet)' : 'Live preview';
      case 'failed':
        return tokenError.value ?? preview.error.value ?? session.error.value ?? 'The preview could not be shown.';
    }
    return '';
  });

  const onPageHide = () => session.drop();
  window.addEventListener('pagehide', onPageHide);
  onScopeDispose(() => {
    window.removeEventListener('pagehide', onPageHide);
    void session.leave();
  });

  /** The session is connected and told of every status (it is while the meeting is open). */
  const connected = computed(() => session.state.value === 'joined');

  return { state, words, track: preview.track, previewState: preview.state, broadcast, connected };
}
