/** The program preview for hosts and the people backstage: what goes out, small, from the broadcast's own compositor. */
import { markRaw, shallowRef, watch, type Ref, type ShallowRef } from 'vue';
import type { Consumer, RtpCapabilities, Transport } from 'mediasoup-client/types';
import type { BroadcastStatus } from '@onair/shared';
import type { SignalConnection } from '../../services/signalling';

export type PreviewState = 'off' | 'opening' | 'showing' | 'failed';

export interface ProgramPreviewDeps {
  connection: () => SignalConnection | null;
  recvTransport: ShallowRef<Transport | null>;
  broadcast: ShallowRef<BroadcastStatus | null>;
  /** Whether we may watch it now: we host the room, or we are backstage (the server checks the same). */
  mayWatch: Ref<boolean>;
  /** A watcher (the dashboard: it never joins) says what its device receives; a participant's are known from join. */
  rtpCapabilities?: () => RtpCapabilities | undefined;
}

/**
 * While the room has a broadcast whose preview is on (preview or live) and we may watch it, a
 * consumer of the preview on our receive transport; `track` is its video. Re-opened after a
 * reconnect (a new receive transport), closed when the broadcast ends.
 */
export function useProgramPreview(deps: ProgramPreviewDeps) {
  const state = shallowRef<PreviewState>('off');
  const track = shallowRef<MediaStreamTrack | null>(null);
  const error = shallowRef<string | null>(null);
  let consumer: Consumer | null = null;
  let opening: Transport | null = null;

  function close(): void {
    consumer?.close();
    consumer = null;
    opening = null;
    track.value = null;
    state.value = 'off';
  }

  async function open(transport: Transport): Promise<void> {
    const conn = deps.connection();
    if (!conn || opening === transport) return;
    opening = transport;
    state.value = 'opening';
    error.value = null;
    try {
      const rtpCapabilities = deps.rtpCapabilities?.();
      const params = await conn.request('consumePreview', rtpCapabilities ? { rtpCapabilities } : {});
      if (opening !== transport || transport.closed) return;
      const c = await transport.consume({ id: params.consumerId, producerId: params.producerId, kind: params.kind, rtpParameters: params.rtpParameters, appData: { source: 'program' } });
      if (opening !== transport) {
        c.close();
        return;
      }
      consumer = markRaw(c);
      c.on('transportclose', close);
      c.observer.on('close', () => {
        if (consumer === c) close();
      });
      track.value = c.track;
      state.value = 'showing';
      await conn.request('resumeConsumer', { consumerId: params.consumerId });
    } catch (err) {
      if (opening !== transport) return;
      opening = null;
      state.value = 'failed';
      error.value = err instanceof Error ? err.message : 'The preview could not be opened.';
    }
  }

  const available = () => deps.broadcast.value?.preview === true && deps.broadcast.value.state !== 'stopped';

  /** Opens it again when it is available but not showing (it failed, or its producer closed); the dashboard calls this on each status poll. */
  function reopen(): void {
    const transport = deps.recvTransport.value;
    if (!transport || !available() || !deps.mayWatch.value || state.value === 'opening' || state.value === 'showing') return;
    opening = null;
    void open(transport);
  }

  watch(
    [available, deps.mayWatch, deps.recvTransport],
    ([available, may, transport]) => {
      if (!available || !may || !transport) {
        close();
        return;
      }
      if (consumer && !consumer.closed && opening === transport) return;
      consumer?.close();
      consumer = null;
      void open(transport);
    },
    { immediate: true },
  );

  return { state, track, error, close, reopen };
}
