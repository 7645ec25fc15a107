/**
 * The meeting: one state machine that owns the signalling socket, the mediasoup-client device and
 * transports, the local producers and the remote consumers.
 *
 *   idle ──join()──▶ joining ──▶ joined ──(socket lost / ICE failed)──▶ reconnecting ──▶ joined
 *                       │            │                                      │
 *                       └────────────┴──── leave(), refusal, closing ──────┴──▶ closed ──reset()──▶ idle
 *
 * Components render `state`, `error`, `peers` and call the actions; they hold no protocol logic.
 * mediasoup-client objects live in shallowRef (Vue must not proxy them).
 */
import { computed, markRaw, onScopeDispose, ref, shallowReactive, shallowRef } from 'vue';
import { Device } from 'mediasoup-client';
import type { Consumer, Producer, RtpCodecCapability, Transport, ConnectionState } from 'mediasoup-client/types';
import { Value } from '@sinclair/typebox/value';
import {
  assertNever,
  MediaSource,
  type BroadcastStatus,
  type IceServer,
  type MediaKind,
  type MediaSource as SourceName,
  type NotificationData,
  type PeerInfo,
  type RequestData,
  type ResponseData,
  type Role,
  type TransportOptions,
} from '@onair/shared';
import {
  SignalConnection,
  SignalError,
  type CloseInfo,
  type Notification,
} from '../services/signalling';
import { describeError, errorWords, isCodedError, mediaErrorWords } from '../services/errors';
import { audioConstraints, videoConstraints } from './useDevices';

export type RoomState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'closed';

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
}

export interface JoinOptions {
  /** Room token from POST /api/rooms/:id/join; sent first on the socket. */
  token: string;
  /** The room this page means to enter; the server refuses a token for another one (WRONG_ROOM). */
  roomId?: string;
  /** Role the server granted; guests cannot renew an expired token. */
  role: Role;
  /** Tracks from the preview; the room owns and stops them from now on. */
  audioTrack?: MediaStreamTrack | null;
  videoTrack?: MediaStreamTrack | null;
  /** Device ids used when the camera or microphone is turned on later. */
  cameraId?: string;
  microphoneId?: string;
  /** Signed-in hosts: get a fresh room token when the old one expired during a reconnect. */
  renewToken?: () => Promise<string>;
}

export interface InboundStats {
  peerId: string;
  kind: 'audio' | 'video';
  source: string;
  framesDecoded: number;
  packetsReceived: number;
  totalSamplesReceived: number;
  bytesReceived: number;
}

/** The ICE path a transport uses now (its selected candidate pair). */
export interface TransportPath {
  direction: 'send' | 'recv';
  /** 'host', 'srflx', 'prflx' or 'relay' (through TURN). */
  localCandidateType: string;
  remoteAddress: string;
  remotePort: number;
  remoteProtocol: string;
}

/** Test hook for end-to-end tests (Playwright): `window.__onair`. */
export interface OnAirTestHook {
  state(): string;
  stats(): Promise<InboundStats[]>;
  transports(): Promise<TransportPath[]>;
}

declare global {
  interface Window {
    __onair?: OnAirTestHook;
    /**
     * Test-only switch, set by end-to-end tests before the page loads (never by the UI): 'relay'
     * makes both transports use TURN relays only, as a browser behind a strict firewall would.
     */
    __onairIceTransportPolicy?: RTCIceTransportPolicy;
  }
}

interface ConsumerEntry {
  consumer: Consumer;
  peerId: string;
  source: SourceName;
  kind: MediaKind;
  paused: boolean;
}

/** Simulcast layers for the camera: 320x180, 640x360, 1280x720 from a 720p capture. */
export const CAMERA_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];
/** Screen share is one VP8 layer; text needs resolution more than frame rate. */
export const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];

/** First retry after 1 s, doubling up to 10 s, giving up after about two minutes. */
export const RECONNECT_FIRST_DELAY_MS = 1_000;
export const RECONNECT_MAX_DELAY_MS = 10_000;
export const RECONNECT_GIVE_UP_MS = 120_000;
/** How long an ICE 'disconnected' may last before an ICE restart is asked for. */
const ICE_DISCONNECTED_GRACE_MS = 3_000;

/** Failures that another attempt will not fix. */
const FATAL_CODES = new Set([
  'ROOM_NOT_FOUND',
  'ROOM_CLOSED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'WRONG_ROOM',
  'FORBIDDEN',
  'USER_DISABLED',
  'SESSION_REVOKED',
  'INVITE_INVALID',
  'UNAUTHENTICATED',
  'REPLACED',
  'UNSUPPORTED_BROWSER',
  'BAD_MESSAGE',
  'UNKNOWN_MESSAGE',
]);

/** Thrown inside a session that a newer session (or leave) has replaced; never shown. */
class Superseded extends Error {
  override readonly name = 'Superseded';
}

function codeOf(err: unknown): string | null {
  if (err instanceof Error && err.name === 'UnsupportedError') return 'UNSUPPORTED_BROWSER';
  return isCodedError(err) ? err.code : null;
}

function findCodec(device: Device, mimeType: string): RtpCodecCapability | undefined {
  return device.sendRtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === mimeType);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function useRoom() {
  // ---- state the view renders -----------------------------------------------------------------
  const state = ref<RoomState>('idle');
  /** Why the meeting is closed or reconnecting, in plain words; null when all is well. */
  const error = ref<string | null>(null);
  /** A passing problem that does not end the meeting (screen share refused, camera busy). */
  const notice = ref<string | null>(null);
  const self = ref<{ peerId: string; roomId: string; roomName: string; role: Role; displayName: string } | null>(null);
  const activeSpeakerId = ref<string | null>(null);
  const broadcast = shallowRef<BroadcastStatus | null>(null);

  /** What the person wants; applied again after a reconnect. */
  const micOn = ref(false);
  const cameraOn = ref(false);
  const screenOn = ref(false);

  const localAudioTrack = shallowRef<MediaStreamTrack | null>(null);
  const localVideoTrack = shallowRef<MediaStreamTrack | null>(null);
  const localScreenTrack = shallowRef<MediaStreamTrack | null>(null);

  // ---- mediasoup-client objects (never deep-proxied) ------------------------------------------
  const signal = shallowRef<SignalConnection | null>(null);
  const device = shallowRef<Device | null>(null);
  const sendTransport = shallowRef<Transport | null>(null);
  const recvTransport = shallowRef<Transport | null>(null);
  const micProducer = shallowRef<Producer | null>(null);
  const cameraProducer = shallowRef<Producer | null>(null);
  const screenProducer = shallowRef<Producer | null>(null);

  const peerInfos = shallowReactive(new Map<string, PeerInfo>());
  const consumers = shallowReactive(new Map<string, ConsumerEntry>());

  let options: JoinOptions | null = null;
  let token = '';
  /** Bumped whenever a session starts or is torn down; callbacks of older sessions do nothing. */
  let generation = 0;
  /** Consumer-related notifications are handled one at a time, in arrival order. */
  let queue: Promise<void> = Promise.resolve();
  let wakeReconnect: (() => void) | null = null;

  // ---- derived view ---------------------------------------------------------------------------
  function isOff(entry: ConsumerEntry | undefined, producer: PeerInfo['producers'][number] | undefined): boolean {
    // Consumer pause/resume notifications are the freshest word; peer info fills in before the consumer exists.
    if (entry) return entry.paused;
    return producer ? producer.paused : true;
  }

  const peers = computed<MeetingPeer[]>(() => {
    const all = [...consumers.values()];
    const list: MeetingPeer[] = [];
    for (const info of peerInfos.values()) {
      const mine = all.filter((e) => e.peerId === info.id);
      const entry = (s: SourceName) => mine.find((e) => e.source === s);
      const producer = (s: SourceName) => info.producers.find((p) => p.source === s);
      const mic = entry('mic');
      const cam = entry('camera');
      const screen = entry('screen');
      list.push({
        id: info.id,
        displayName: info.displayName,
        role: info.role,
        isLocal: false,
        audioTrack: mic?.consumer.track ?? null,
        videoTrack: cam?.consumer.track ?? null,
        screenTrack: screen && !screen.paused ? screen.consumer.track : null,
        audioMuted: isOff(mic, producer('mic')),
        cameraOff: isOff(cam, producer('camera')) || !cam,
        speaking: activeSpeakerId.value === info.id,
      });
    }
    return list;
  });

  const localPeer = computed<MeetingPeer | null>(() => {
    const me = self.value;
    if (!me) return null;
    return {
      id: me.peerId,
      displayName: me.displayName,
      role: me.role,
      isLocal: true,
      audioTrack: null, // never play our own microphone back
      videoTrack: localVideoTrack.value,
      screenTrack: localScreenTrack.value,
      audioMuted: !micOn.value || !localAudioTrack.value,
      cameraOff: !cameraOn.value || !localVideoTrack.value,
      speaking: activeSpeakerId.value === me.peerId,
    };
  });

  const isHost = computed(() => self.value?.role === 'host' || self.value?.role === 'admin');

  // ---- session lifecycle ----------------------------------------------------------------------
  function assertCurrent(gen: number): void {
    if (gen !== generation) throw new Superseded();
  }

  function teardownSession(): void {
    generation++;
    wakeReconnect = null;
    const conn = signal.value;
    signal.value = null;
    conn?.close();
    for (const entry of consumers.values()) entry.consumer.close();
    consumers.clear();
    for (const p of [micProducer, cameraProducer, screenProducer]) {
      p.value?.close(); // stopTracks: false, so the local tracks survive for the next session
      p.value = null;
    }
    sendTransport.value?.close();
    recvTransport.value?.close();
    sendTransport.value = null;
    recvTransport.value = null;
    device.value = null;
    queue = Promise.resolve();
  }

  function stopLocalTracks(): void {
    for (const t of [localAudioTrack, localVideoTrack, localScreenTrack]) {
      t.value?.stop();
      t.value = null;
    }
    micOn.value = false;
    cameraOn.value = false;
    screenOn.value = false;
  }

  /** Ends the meeting for this tab: everything closed, `message` (or none) shown. */
  function finish(message: string | null): void {
    teardownSession();
    stopLocalTracks();
    peerInfos.clear();
    activeSpeakerId.value = null;
    broadcast.value = null;
    state.value = 'closed';
    error.value = message;
  }

  function buildTransport(
    dev: Device,
    direction: 'send' | 'recv',
    opts: TransportOptions,
    iceServers: IceServer[],
    conn: SignalConnection,
    gen: number,
  ): Transport {
    // Checked against the shared TransportOptions schema when the answer arrived.
    const { iceParameters, iceCandidates, dtlsParameters } = opts;
    const transportOptions = {
      id: opts.id,
      iceParameters,
      iceCandidates,
      dtlsParameters,
      // TURN, for networks that block UDP and the media ports (time-limited credentials from authenticate).
      iceServers,
      ...(window.__onairIceTransportPolicy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}),
    };
    const transport = markRaw(
      direction === 'send' ? dev.createSendTransport(transportOptions) : dev.createRecvTransport(transportOptions),
    );

    transport.on('connect', ({ dtlsParameters: local }, done, fail) => {
      conn
        .request('connectTransport', { transportId: transport.id, dtlsParameters: local })
        .then(() => done(), fail);
    });

    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
        const source = appData.source;
        if (!Value.Check(MediaSource, source)) {
          fail(new Error('produce() without appData.source'));
          return;
        }
        conn
          .request('produce', { transportId: transport.id, kind, rtpParameters, source })
          .then(({ producerId }) => done({ id: producerId }), fail);
      });
    }

    let disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
    transport.on('connectionstatechange', (s: ConnectionState) => {
      if (gen !== generation) return;
      if (disconnectedTimer) clearTimeout(disconnectedTimer);
      disconnectedTimer = null;
      if (s === 'failed') {
        connectionLost(gen, `ICE failed on the ${direction} transport`);
      } else if (s === 'disconnected') {
        // Often a blip (Wi-Fi roam); ask for an ICE restart if it does not come back by itself.
        disconnectedTimer = setTimeout(() => void restartIce(gen, conn, transport), ICE_DISCONNECTED_GRACE_MS);
      }
    });
    return transport;
  }

  async function restartIce(gen: number, conn: SignalConnection, transport: Transport): Promise<void> {
    if (gen !== generation || transport.closed || transport.connectionState !== 'disconnected') return;
    try {
      const { iceParameters } = await conn.request('restartIce', { transportId: transport.id });
      if (gen !== generation) return;
      await transport.restartIce({ iceParameters });
    } catch (err) {
      console.warn('[room] ICE restart failed', err);
      connectionLost(gen, 'ICE restart failed');
    }
  }

  /** One complete session: socket, authenticate, device, transports, join, local media. */
  async function runSession(): Promise<void> {
    const gen = ++generation;
    const conn = await SignalConnection.connect();
    if (gen !== generation) {
      conn.close();
      throw new Superseded();
    }
    signal.value = conn;
    conn.onClose((info) => onSocketClosed(gen, info));
    conn.onNotification((n) => dispatch(gen, n));

    const roomId = options?.roomId;
    const auth = await conn.request('authenticate', roomId ? { token, roomId } : { token });
    assertCurrent(gen);
    const dev = markRaw(await Device.factory());
    await dev.load({ routerRtpCapabilities: auth.routerRtpCapabilities });
    assertCurrent(gen);
    device.value = dev;
    self.value = {
      peerId: auth.peerId,
      roomId: auth.roomId,
      roomName: auth.roomName,
      role: auth.role,
      displayName: auth.displayName,
    };

    const [sendOptions, recvOptions] = await Promise.all([
      conn.request('createTransport', { direction: 'send' }),
      conn.request('createTransport', { direction: 'recv' }),
    ]);
    assertCurrent(gen);
    sendTransport.value = buildTransport(dev, 'send', sendOptions, auth.iceServers, conn, gen);
    recvTransport.value = buildTransport(dev, 'recv', recvOptions, auth.iceServers, conn, gen);

    const joined = await conn.request('join', { rtpCapabilities: dev.recvRtpCapabilities });
    assertCurrent(gen);
    applyJoin(joined, auth.peerId);

    await produceLocalMedia(gen);
    assertCurrent(gen);
    state.value = 'joined';
    error.value = null;
  }

  function applyJoin(joined: ResponseData['join'], myPeerId: string): void {
    peerInfos.clear();
    for (const peer of joined.peers) if (peer.id !== myPeerId) peerInfos.set(peer.id, peer);
    activeSpeakerId.value = joined.activeSpeakerId ?? null;
    broadcast.value = joined.broadcast ?? null;
  }

  function onSocketClosed(gen: number, info: CloseInfo): void {
    if (gen !== generation || info.byClient) return;
    // Some servers put the reason code in the close frame rather than a `closing` notification.
    if (FATAL_CODES.has(info.reason)) {
      finish(closingWords(info.reason, ''));
      return;
    }
    connectionLost(gen, `socket closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`);
  }

  function connectionLost(gen: number, why: string): void {
    if (gen !== generation) return;
    console.warn(`[room] connection lost: ${why}`);
    if (state.value === 'joined') {
      void reconnect();
    } else {
      // joining or mid-reconnect: fail the attempt in progress; its caller decides what next.
      signal.value?.close(4000, why);
    }
  }

  function closingWords(code: string, message: string): string {
    if (code === 'TOKEN_EXPIRED' && options?.role === 'guest') return errorWords('INVITE_EXPIRED');
    return errorWords(code, message);
  }

  function waitForRetry(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener('online', done);
        wakeReconnect = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      window.addEventListener('online', done); // the network is back: don't wait out the backoff
      wakeReconnect = done;
    });
  }

  async function reconnect(): Promise<void> {
    state.value = 'reconnecting';
    error.value = errorWords('CONNECTION_LOST');
    teardownSession();
    const giveUpAt = Date.now() + RECONNECT_GIVE_UP_MS;
    let delay = RECONNECT_FIRST_DELAY_MS;
    let renewed = false;
    while (state.value === 'reconnecting') {
      await waitForRetry(delay);
      if (state.value !== 'reconnecting') return;
      try {
        await runSession();
        return;
      } catch (err) {
        if (err instanceof Superseded && state.value !== 'reconnecting') return;
        teardownSession();
        if (state.value !== 'reconnecting') return;
        const code = codeOf(err);
        if (code === 'TOKEN_EXPIRED' && options?.renewToken && !renewed) {
          // A signed-in host's room token ran out while away: get a new one and go again at once.
          try {
            token = await options.renewToken();
            renewed = true;
            delay = 0;
            continue;
          } catch (renewErr) {
            finish(describeError(renewErr));
            return;
          }
        }
        if (code && FATAL_CODES.has(code)) {
          finish(closingWords(code, err instanceof Error ? err.message : ''));
          return;
        }
        console.warn('[room] reconnect attempt failed', err);
        if (Date.now() + delay >= giveUpAt) {
          finish(errorWords('RECONNECT_FAILED'));
          return;
        }
        delay = Math.min(Math.max(delay * 2, RECONNECT_FIRST_DELAY_MS), RECONNECT_MAX_DELAY_MS);
      }
    }
  }

  // ---- notifications --------------------------------------------------------------------------
  function dispatch(gen: number, n: Notification): void {
    if (gen !== generation) return;
    switch (n.event) {
      case 'peerJoined':
      case 'peerUpdated':
        if (n.data.peer.id !== self.value?.peerId) peerInfos.set(n.data.peer.id, n.data.peer);
        break;
      case 'activeSpeaker':
        activeSpeakerId.value = n.data.peerId;
        break;
      case 'broadcast':
        broadcast.value = n.data.broadcast;
        break;
      case 'closing':
        // Handled now, not queued: the socket closes right after and must not look like a drop.
        // A restarting server is the exception: that is a drop, and we reconnect.
        if (n.data.code === 'SERVER_RESTARTING') connectionLost(generation, 'server restarting');
        else finish(closingWords(n.data.code, n.data.message));
        break;
      case 'peerLeft':
      case 'newConsumer':
      case 'consumerClosed':
      case 'consumerPaused':
      case 'consumerResumed':
        enqueue(gen, n);
        break;
      default:
        assertNever(n);
    }
  }

  function enqueue(gen: number, n: Notification): void {
    queue = queue
      .then(() => handleOrdered(gen, n))
      .catch((err: unknown) => console.error(`[room] handling ${n.event} failed`, err));
  }

  function setPaused(consumerId: string, paused: boolean): void {
    const entry = consumers.get(consumerId);
    if (entry) consumers.set(consumerId, { ...entry, paused });
  }

  async function handleOrdered(gen: number, n: Notification): Promise<void> {
    if (gen !== generation) return;
    switch (n.event) {
      case 'newConsumer':
        await consume(gen, n.data);
        break;
      case 'consumerClosed': {
        consumers.get(n.data.consumerId)?.consumer.close();
        consumers.delete(n.data.consumerId);
        break;
      }
      case 'consumerPaused':
        setPaused(n.data.consumerId, true);
        break;
      case 'consumerResumed':
        setPaused(n.data.consumerId, false);
        break;
      case 'peerLeft': {
        peerInfos.delete(n.data.peerId);
        for (const [id, entry] of consumers) {
          if (entry.peerId !== n.data.peerId) continue;
          entry.consumer.close();
          consumers.delete(id);
        }
        if (activeSpeakerId.value === n.data.peerId) activeSpeakerId.value = null;
        break;
      }
      default:
        break; // the rest are handled in dispatch()
    }
  }

  async function consume(gen: number, d: NotificationData['newConsumer']): Promise<void> {
    const transport = recvTransport.value;
    const conn = signal.value;
    if (!transport || !conn) return;
    let consumer: Consumer;
    try {
      consumer = await transport.consume({
        id: d.consumerId,
        producerId: d.producerId,
        kind: d.kind,
        rtpParameters: d.rtpParameters,
        appData: { peerId: d.peerId, source: d.source },
      });
    } catch (err) {
      console.error(`[room] cannot consume ${d.source} of ${d.peerId}`, err);
      return;
    }
    if (gen !== generation) {
      consumer.close();
      return;
    }
    consumers.set(d.consumerId, {
      consumer: markRaw(consumer),
      peerId: d.peerId,
      source: d.source,
      kind: d.kind,
      paused: d.producerPaused,
    });
    consumer.on('transportclose', () => consumers.delete(d.consumerId));
    try {
      // The server creates consumers paused so no keyframe is lost before we are ready.
      await conn.request('resumeConsumer', { consumerId: d.consumerId });
    } catch (err) {
      if (gen === generation) console.warn(`[room] resumeConsumer ${d.consumerId} failed`, err);
    }
  }

  // ---- local media ----------------------------------------------------------------------------
  function trackUsable(t: MediaStreamTrack | null): t is MediaStreamTrack {
    return t !== null && t.readyState === 'live';
  }

  async function produceMic(gen: number): Promise<void> {
    const transport = sendTransport.value;
    const dev = device.value;
    const track = localAudioTrack.value;
    if (!transport || !dev || !trackUsable(track) || micProducer.value || !dev.canProduce('audio')) return;
    track.enabled = micOn.value;
    const producer = await transport.produce({
      track,
      stopTracks: false,
      codec: findCodec(dev, 'audio/opus'),
      codecOptions: { opusDtx: true, opusFec: true },
      appData: { source: 'mic' },
    });
    if (gen !== generation) {
      producer.close();
      return;
    }
    micProducer.value = markRaw(producer);
    if (!micOn.value) await pauseProducer(producer);
  }

  async function produceCamera(gen: number): Promise<void> {
    const transport = sendTransport.value;
    const dev = device.value;
    const track = localVideoTrack.value;
    if (!transport || !dev || !trackUsable(track) || cameraProducer.value || !dev.canProduce('video')) return;
    track.enabled = cameraOn.value;
    const producer = await transport.produce({
      track,
      stopTracks: false,
      codec: findCodec(dev, 'video/vp8'),
      encodings: CAMERA_ENCODINGS.map((e) => ({ ...e })),
      codecOptions: { videoGoogleStartBitrate: 1000 },
      appData: { source: 'camera' },
    });
    if (gen !== generation) {
      producer.close();
      return;
    }
    cameraProducer.value = markRaw(producer);
    if (!cameraOn.value) await pauseProducer(producer);
  }

  async function produceScreen(gen: number): Promise<void> {
    const transport = sendTransport.value;
    const dev = device.value;
    const track = localScreenTrack.value;
    if (!transport || !dev || !trackUsable(track) || screenProducer.value || !dev.canProduce('video')) return;
    const producer = await transport.produce({
      track,
      stopTracks: false,
      codec: findCodec(dev, 'video/vp8'),
      encodings: SCREEN_ENCODINGS.map((e) => ({ ...e })),
      appData: { source: 'screen' },
    });
    if (gen !== generation) {
      producer.close();
      return;
    }
    screenProducer.value = markRaw(producer);
  }

  /** Produces whatever local tracks exist (again, after a reconnect); a failure is a notice, not fatal. */
  async function produceLocalMedia(gen: number): Promise<void> {
    for (const [what, produce] of [
      ['microphone', produceMic],
      ['camera', produceCamera],
      ['screen', produceScreen],
    ] as const) {
      try {
        await produce(gen);
      } catch (err) {
        if (err instanceof Superseded || gen !== generation) throw new Superseded();
        if (codeOf(err) === 'CONNECTION_LOST') throw err;
        console.error(`[room] could not send ${what}`, err);
        notice.value = `Your ${what} couldn't be sent to the meeting.`;
      }
    }
  }

  async function quietRequest<T extends 'pauseProducer' | 'resumeProducer' | 'closeProducer'>(
    type: T,
    data: RequestData<T>,
  ): Promise<void> {
    const conn = signal.value;
    if (!conn || state.value !== 'joined') return; // applied on reconnect from the wanted state
    try {
      await conn.request(type, data);
    } catch (err) {
      console.warn(`[room] ${type} failed`, err);
    }
  }

  async function pauseProducer(producer: Producer): Promise<void> {
    if (!producer.paused) producer.pause();
    const conn = signal.value;
    if (conn) await conn.request('pauseProducer', { producerId: producer.id }).catch((err: unknown) => console.warn('[room] pauseProducer failed', err));
  }

  async function acquire(kind: 'audio' | 'video'): Promise<MediaStreamTrack | null> {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(
        kind === 'audio'
          ? { audio: audioConstraints(options?.microphoneId) }
          : { video: videoConstraints(options?.cameraId) },
      );
      return (kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0]) ?? null;
    } catch (err) {
      notice.value = mediaErrorWords(err);
      return null;
    }
  }

  async function toggleMic(): Promise<void> {
    if (state.value !== 'joined' && state.value !== 'reconnecting') return;
    notice.value = null;
    if (micOn.value) {
      micOn.value = false;
      const producer = micProducer.value;
      if (producer && !producer.paused) {
        producer.pause();
        await quietRequest('pauseProducer', { producerId: producer.id });
      }
      return;
    }
    if (!trackUsable(localAudioTrack.value)) {
      const track = await acquire('audio');
      if (!track) return;
      localAudioTrack.value = track;
    }
    micOn.value = true;
    const producer = micProducer.value;
    if (producer) {
      producer.resume();
      await quietRequest('resumeProducer', { producerId: producer.id });
    } else if (state.value === 'joined') {
      await produceMic(generation).catch((err: unknown) => {
        console.error('[room] could not send microphone', err);
        notice.value = "Your microphone couldn't be sent to the meeting.";
      });
    }
  }

  async function toggleCamera(): Promise<void> {
    if (state.value !== 'joined' && state.value !== 'reconnecting') return;
    notice.value = null;
    if (cameraOn.value) {
      cameraOn.value = false;
      const producer = cameraProducer.value;
      if (producer && !producer.paused) {
        producer.pause();
        await quietRequest('pauseProducer', { producerId: producer.id });
      }
      return;
    }
    if (!trackUsable(localVideoTrack.value)) {
      const track = await acquire('video');
      if (!track) return;
      localVideoTrack.value = track;
    }
    cameraOn.value = true;
    const producer = cameraProducer.value;
    if (producer) {
      producer.resume();
      await quietRequest('resumeProducer', { producerId: producer.id });
    } else if (state.value === 'joined') {
      await produceCamera(generation).catch((err: unknown) => {
        console.error('[room] could not send camera', err);
        notice.value = "Your camera couldn't be sent to the meeting.";
      });
    }
  }

  async function startScreenShare(): Promise<void> {
    if (!navigator.mediaDevices?.getDisplayMedia) {
      notice.value = mediaErrorWords(new TypeError('no getDisplayMedia'), 'screen');
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (err) {
      notice.value = mediaErrorWords(err, 'screen');
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    if (state.value !== 'joined' && state.value !== 'reconnecting') {
      track.stop();
      return;
    }
    track.contentHint = 'detail';
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => {
      if (localScreenTrack.value === track) void stopScreenShare();
    });
    localScreenTrack.value = track;
    screenOn.value = true;
    if (state.value === 'joined') {
      try {
        await produceScreen(generation);
      } catch (err) {
        console.error('[room] could not send screen', err);
        notice.value = "Your screen couldn't be shared with the meeting.";
        await stopScreenShare();
      }
    }
  }

  async function stopScreenShare(): Promise<void> {
    const track = localScreenTrack.value;
    const producer = screenProducer.value;
    localScreenTrack.value = null;
    screenProducer.value = null;
    screenOn.value = false;
    track?.stop();
    if (producer) {
      producer.close();
      await quietRequest('closeProducer', { producerId: producer.id });
    }
  }

  async function toggleScreenShare(): Promise<void> {
    if (state.value !== 'joined' && state.value !== 'reconnecting') return;
    notice.value = null;
    if (screenOn.value) await stopScreenShare();
    else await startScreenShare();
  }

  // ---- join / leave ---------------------------------------------------------------------------
  async function join(opts: JoinOptions): Promise<void> {
    if (state.value === 'joining' || state.value === 'joined' || state.value === 'reconnecting') return;
    options = opts;
    token = opts.token;
    localAudioTrack.value = opts.audioTrack ?? null;
    localVideoTrack.value = opts.videoTrack ?? null;
    micOn.value = trackUsable(localAudioTrack.value);
    cameraOn.value = trackUsable(localVideoTrack.value);
    screenOn.value = false;
    error.value = null;
    notice.value = null;
    state.value = 'joining';
    try {
      await runSession();
    } catch (err) {
      if (err instanceof Superseded) return; // left while joining
      console.error('[room] join failed', err);
      const code = codeOf(err);
      finish(code ? closingWords(code, err instanceof Error ? err.message : '') : describeError(err));
    }
  }

  /** Leaves the meeting: tells the server (briefly), then closes everything. */
  async function leave(): Promise<void> {
    if (state.value === 'idle' || state.value === 'closed') return;
    const conn = signal.value;
    const wasJoined = state.value === 'joined';
    generation++; // from here on, the socket closing is expected
    wakeReconnect?.();
    state.value = 'closed';
    if (conn && wasJoined) {
      await conn.request('leave', {}, 2_000).catch(() => undefined);
    }
    finish(null);
  }

  /** From 'closed' back to 'idle', to join again. */
  function reset(): void {
    if (state.value !== 'closed') return;
    error.value = null;
    notice.value = null;
    self.value = null;
    state.value = 'idle';
  }

  // ---- broadcast (hosts) ----------------------------------------------------------------------
  function joinedConnection(): SignalConnection {
    const conn = signal.value;
    if (!conn || state.value !== 'joined') throw new SignalError('NOT_JOINED', errorWords('CONNECTION_LOST'));
    return conn;
  }

  async function startBroadcast(req: RequestData<'startBroadcast'>): Promise<BroadcastStatus> {
    const { broadcast: status } = await joinedConnection().request('startBroadcast', req, 20_000);
    broadcast.value = status;
    return status;
  }

  async function updateBroadcast(req: RequestData<'updateBroadcast'>): Promise<BroadcastStatus> {
    const { broadcast: status } = await joinedConnection().request('updateBroadcast', req, 20_000);
    broadcast.value = status;
    return status;
  }

  async function stopBroadcast(): Promise<void> {
    await joinedConnection().request('stopBroadcast', {}, 20_000);
    // The final status arrives as a `broadcast` notification.
  }

  // ---- test hook and page lifecycle -----------------------------------------------------------
  async function stats(): Promise<InboundStats[]> {
    const rows: InboundStats[] = [];
    for (const entry of [...consumers.values()]) {
      if (entry.consumer.closed) continue;
      let report: RTCStatsReport;
      try {
        report = await entry.consumer.getStats();
      } catch {
        continue;
      }
      report.forEach((s: unknown) => {
        if (typeof s !== 'object' || s === null || !('type' in s) || s.type !== 'inbound-rtp') return;
        if ('mid' in s && s.mid === 'probator') return; // mediasoup-client's bandwidth probe, not a participant
        const field = (name: string): unknown => (name in s ? Reflect.get(s, name) : undefined);
        rows.push({
          peerId: entry.peerId,
          kind: entry.kind,
          source: entry.source,
          framesDecoded: num(field('framesDecoded')),
          packetsReceived: num(field('packetsReceived')),
          totalSamplesReceived: num(field('totalSamplesReceived')),
          bytesReceived: num(field('bytesReceived')),
        });
      });
    }
    return rows;
  }

  async function transports(): Promise<TransportPath[]> {
    const paths: TransportPath[] = [];
    for (const [direction, transport] of [
      ['send', sendTransport.value],
      ['recv', recvTransport.value],
    ] as const) {
      if (!transport || transport.closed) continue;
      const byId = new Map<string, Record<string, unknown>>();
      (await transport.getStats()).forEach((s: Record<string, unknown>) => byId.set(String(s.id), s));
      const all = [...byId.values()];
      const selectedId = all.find((s) => s.type === 'transport')?.selectedCandidatePairId;
      const pair = typeof selectedId === 'string' ? byId.get(selectedId) : all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
      if (!pair) continue;
      const local = byId.get(String(pair.localCandidateId));
      const remote = byId.get(String(pair.remoteCandidateId));
      paths.push({
        direction,
        localCandidateType: String(local?.candidateType ?? ''),
        remoteAddress: String(remote?.address ?? remote?.ip ?? ''),
        remotePort: num(remote?.port),
        remoteProtocol: String(remote?.protocol ?? ''),
      });
    }
    return paths;
  }

  const hook: OnAirTestHook = { state: () => state.value, stats, transports };
  window.__onair = hook;

  // Closing the tab: drop the socket now so others see us leave at once.
  const onPageHide = () => {
    if (state.value === 'idle' || state.value === 'closed') return;
    generation++;
    signal.value?.close(1001, 'page hidden');
  };
  window.addEventListener('pagehide', onPageHide);

  onScopeDispose(() => {
    window.removeEventListener('pagehide', onPageHide);
    if (window.__onair === hook) delete window.__onair;
    void leave();
  });

  return {
    state,
    error,
    notice,
    self,
    isHost,
    peers,
    localPeer,
    activeSpeakerId,
    broadcast,
    micOn,
    cameraOn,
    screenOn,
    localAudioTrack,
    localVideoTrack,
    localScreenTrack,
    // mediasoup-client objects, for diagnostics
    device,
    sendTransport,
    recvTransport,
    join,
    leave,
    reset,
    toggleMic,
    toggleCamera,
    toggleScreenShare,
    startBroadcast,
    updateBroadcast,
    stopBroadcast,
    stats,
  };
}

export type Room = ReturnType<typeof useRoom>;
