/**
 * The meeting, composed from small parts by domain (composables/meeting/):
 *   - useSignalSession: the socket, authenticate, the state machine and reconnect policy;
 *   - useSfu: the mediasoup-client device, transports, ordered consumers, the remote peers;
 *   - useLocalMedia: this person's tracks and producers, `toggle(source)`;
 *   - useBroadcastControl: go live / update / stop and the broadcast status.
 * Components render what this returns and call its actions; they hold no protocol logic.
 */
import { computed, onScopeDispose, ref } from 'vue';
import { assertNever, type MediaSource, type OnAirState, type OutsideInfo, type RequestData, type Role } from '@onair/shared';
import { installE2eHook } from '../testing/e2eHook';
import { useProgramPreview } from './meeting/useProgramPreview';
import { useBroadcastControl } from './meeting/useBroadcastControl';
import { useLocalMedia } from './meeting/useLocalMedia';
import { useSfu } from './meeting/useSfu';
import { useSignalSession, type SessionStart } from './meeting/useSignalSession';

export type { RoomState } from './meeting/machine';

/** A participant as the meeting view shows them. */
export interface MeetingPeer {
  id: string;
  displayName: string;
  role: Role;
  isLocal: boolean;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  screenTrack: MediaStreamTrack | null;
  audioMuted: boolean;
  cameraOff: boolean;
  speaking: boolean;
  /** In the program (on air) or backstage, for the person (camera) and their screen share. */
  onAir: OnAirState;
  /** An outside source (RTMP encoder, RTSP camera) and its state; null for people. */
  outside: OutsideInfo | null;
}

export interface JoinOptions extends SessionStart {
  /** Tracks from the preview; the room owns and stops them from now on. */
  audioTrack?: MediaStreamTrack | null;
  videoTrack?: MediaStreamTrack | null;
  /** Device ids used when the camera or microphone is turned on later. */
  cameraId?: string;
  microphoneId?: string;
}

export function useRoom() {
  /** A passing problem that does not end the meeting (screen share refused, camera busy). */
  const notice = ref<string | null>(null);
  const self = ref<{ peerId: string; roomId: string; roomName: string; role: Role; displayName: string } | null>(null);
  const activeSpeakerId = ref<string | null>(null);
  /** Whether this participant is on air; hosts change it (setOnAir), the server tells us. */
  const selfOnAir = ref<OnAirState>({ camera: true, screen: true });
  let deviceIds: { cameraId?: string; microphoneId?: string } = {};

  const sfu = useSfu(activeSpeakerId);
  const session = useSignalSession({
    async setUp(s, auth) {
      const device = await sfu.loadDevice(auth.routerRtpCapabilities, s.signal);
      self.value = { peerId: auth.peerId, roomId: auth.roomId, roomName: auth.roomName, role: auth.role, displayName: auth.displayName };
      await sfu.connectTransports(s, device, auth.iceServers);
      const joined = await s.conn.request('join', { rtpCapabilities: device.recvRtpCapabilities });
      s.signal.throwIfAborted();
      sfu.applyJoin(joined, auth.peerId);
      selfOnAir.value = joined.onAir;
      control.broadcast.value = joined.broadcast ?? null;
      await local.produceAll(s.signal);
    },
    notify(s, n) {
      switch (n.event) {
        case 'peerJoined':
        case 'peerUpdated':
          sfu.setPeer(n.data.peer, self.value?.peerId);
          break;
        case 'activeSpeaker':
          activeSpeakerId.value = n.data.peerId;
          break;
        case 'broadcast':
          control.broadcast.value = n.data.broadcast;
          break;
        case 'onAir':
          selfOnAir.value = n.data.onAir;
          break;
        case 'peerLeft':
        case 'newConsumer':
        case 'consumerClosed':
        case 'consumerPaused':
        case 'consumerResumed':
          sfu.enqueue(s, n);
          break;
        default:
          assertNever(n);
      }
    },
    teardown() {
      sfu.teardown();
      local.closeProducers();
    },
    ended() {
      local.stopTracks();
      sfu.peerInfos.clear();
      activeSpeakerId.value = null;
      control.broadcast.value = null;
    },
  });
  const state = session.state;
  const joinedConnection = () => (state.value === 'joined' ? session.connection() : null);

  const local = useLocalMedia({
    device: () => sfu.device.value,
    sendTransport: () => sfu.sendTransport.value,
    joined: () => state.value === 'joined',
    inMeeting: () => state.value === 'joined' || state.value === 'reconnecting',
    sessionSignal: () => session.sessionSignal(),
    async request(type, data, duringSetup = false) {
      const conn = duringSetup ? session.connection() : joinedConnection();
      if (!conn) return; // applied on reconnect from the wanted state
      await conn.request(type, data).catch((err: unknown) => console.warn(`[room] ${type} failed`, err));
    },
    deviceIds: () => deviceIds,
    notice,
  });
  const control = useBroadcastControl(joinedConnection);

  const localPeer = computed<MeetingPeer | null>(() => {
    const me = self.value;
    if (!me) return null;
    return {
      id: me.peerId,
      displayName: me.displayName,
      role: me.role,
      isLocal: true,
      audioTrack: null, // never play our own microphone back
      videoTrack: local.tracks.camera.value,
      screenTrack: local.tracks.screen.value,
      audioMuted: !local.wanted.mic.value || !local.tracks.mic.value,
      cameraOff: !local.wanted.camera.value || !local.tracks.camera.value,
      speaking: activeSpeakerId.value === me.peerId,
      onAir: selfOnAir.value,
      outside: null,
    };
  });
  const isHost = computed(() => self.value?.role === 'host' || self.value?.role === 'admin');
  /** Backstage (not on air ourselves): the hosts hear us, the program does not; we may watch the program. */
  const backstage = computed(() => self.value !== null && !selfOnAir.value.camera);
  const preview = useProgramPreview({ connection: joinedConnection, recvTransport: sfu.recvTransport, broadcast: control.broadcast, mayWatch: computed(() => isHost.value || backstage.value) });

  async function join(opts: JoinOptions): Promise<void> {
    if (state.value !== 'idle' && state.value !== 'closed') return;
    if (state.value === 'closed') reset();
    deviceIds = { ...(opts.cameraId ? { cameraId: opts.cameraId } : {}), ...(opts.microphoneId ? { microphoneId: opts.microphoneId } : {}) };
    local.adopt(opts.audioTrack ?? null, opts.videoTrack ?? null);
    notice.value = null;
    await session.join(opts);
  }

  /** From 'closed' back to 'idle', to join again. */
  function reset(): void {
    if (!session.reset()) return;
    notice.value = null;
    self.value = null;
  }

  const toggle = (source: MediaSource) => local.toggle(source);

  /** Hosts: put a participant (or their screen share) on air, or send them backstage. */
  async function setOnAir(request: RequestData<'setOnAir'>): Promise<void> {
    const conn = joinedConnection();
    if (!conn) return;
    await conn.request('setOnAir', request).catch((err: unknown) => {
      notice.value = err instanceof Error ? err.message : 'That change did not go through; try again.';
    });
  }

  const uninstallHook = installE2eHook({
    state: () => state.value,
    consumers: () => sfu.consumers.values(),
    transports: () => [
      ['send', sfu.sendTransport.value],
      ['recv', sfu.recvTransport.value],
    ],
  });
  // Closing the tab: drop the socket now so the others see us leave at once.
  const onPageHide = () => session.drop();
  window.addEventListener('pagehide', onPageHide);
  onScopeDispose(() => {
    window.removeEventListener('pagehide', onPageHide);
    uninstallHook();
    void session.leave();
  });

  return {
    state,
    error: session.error,
    notice,
    self,
    isHost,
    peers: sfu.remotePeers,
    localPeer,
    activeSpeakerId,
    broadcast: control.broadcast,
    micOn: local.wanted.mic,
    cameraOn: local.wanted.camera,
    screenOn: local.wanted.screen,
    localAudioTrack: local.tracks.mic,
    localVideoTrack: local.tracks.camera,
    localScreenTrack: local.tracks.screen,
    // mediasoup-client objects, for diagnostics
    device: sfu.device,
    sendTransport: sfu.sendTransport,
    recvTransport: sfu.recvTransport,
    join,
    leave: session.leave,
    reset,
    toggle,
    toggleMic: () => toggle('mic'),
    toggleCamera: () => toggle('camera'),
    toggleScreenShare: () => toggle('screen'),
    startBroadcast: control.startBroadcast,
    updateBroadcast: control.updateBroadcast,
    stopBroadcast: control.stopBroadcast,
    setOnAir,
    backstage,
    /** Hosts, and guests while backstage: the program preview's video while the broadcast's preview is on. */
    previewTrack: preview.track,
    previewState: preview.state,
  };
}

export type Room = ReturnType<typeof useRoom>;
