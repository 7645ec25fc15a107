/**
 * The program preview on the dashboard (a webinar's page), for the room's hosts and admins who are
 * not in the meeting: a receive-only signalling session opened with a preview token. It never joins,
 * so nobody in the meeting sees it and it is in no participant list; it only creates a receive
 * transport and consumes the preview (useSfu and useProgramPreview, as in the meeting). It follows
 * the broadcast status the page polls: open while the broadcast composes (preview or live), closed
 * (transport and consumer torn down on the server) when it stops or the page goes away.
 */
import { computed, onScopeDispose, shallowRef, watch, type Ref } from 'vue';
import { PreviewTokenReply, type BroadcastStatus } from '@onair/shared';
import { api } from '../services/api';
import { describeError } from '../services/errors';
import { useProgramPreview } from './meeting/useProgramPreview';
import { useSfu } from './meeting/useSfu';
import { useSignalSession } from './meeting/useSignalSession';

export type ProgramWatchState = 'not-live' | 'connecting' | 'showing' | 'failed';

export function useProgramWatch(roomId: () => string, broadcast: Ref<BroadcastStatus | null>) {
  const sfu = useSfu(shallowRef<string | null>(null));
  const tokenError = shallowRef<string | null>(null);
  const newToken = async (): Promise<string> =>
    (await api.post(`/api/rooms/${encodeURIComponent(roomId())}/broadcast/preview-token`, {}, PreviewTokenReply)).token;

  const session = useSignalSession({
    async setUp(s, auth) {
      const device = await sfu.loadDevice(auth.routerRtpCapabilities, s.signal);
      await sfu.connectTransports(s, device, auth.iceServers, ['recv']);
    },
    notify(_s, n) {
      // The preview's producer closed (its encoder stopped): the next status poll opens it again if it is back.
      if (n.event === 'consumerClosed') preview.close();
    },
    teardown: () => sfu.teardown(),
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
    if (!available.value) return;
    await session.join({ token, roomId: roomId(), role: 'host', renewToken: newToken });
  }

  // Each poll brings a new status: connect, retry a failed preview, or close when the program stops.
  watch(
    broadcast,
    () => {
      if (!available.value) {
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

  return { state, words, track: preview.track, previewState: preview.state };
}
