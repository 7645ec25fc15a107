/**
 * The SFU media layer of a meeting: the mediasoup-client Device, the send and receive transports,
 * and the remote side — who is in the room and the consumers of their media, applied strictly in
 * the order the server sent them. mediasoup-client objects are markRaw'd (Vue must not proxy them).
 */
import { computed, markRaw, shallowReactive, shallowRef, type Ref } from 'vue';
import { Device } from 'mediasoup-client';
import type { ConnectionState, Consumer, RtpCapabilities, Transport } from 'mediasoup-client/types';
import { Value } from '@sinclair/typebox/value';
import { MediaSource, type IceServer, type MediaKind, type MediaSource as SourceName, type NotificationData, type PeerInfo, type ResponseData, type TransportOptions } from '@onair/shared';
import type { Notification, SignalConnection } from '../../services/signalling';

/** How long an ICE 'disconnected' may last before an ICE restart is asked for. */
const ICE_DISCONNECTED_GRACE_MS = 3_000;

interface ConsumerEntry {
  consumer: Consumer;
  peerId: string;
  source: SourceName;
  kind: MediaKind;
  paused: boolean;
}

/** The notifications that change consumers, applied one at a time in arrival order. */
export type OrderedNotification = Extract<Notification, { event: 'newConsumer' | 'consumerClosed' | 'consumerPaused' | 'consumerResumed' | 'peerLeft' }>;

/** What the SFU layer needs from the session that owns it. */
export interface SfuSession {
  conn: SignalConnection;
  /** Aborted when this session is superseded (reconnect, leave): its callbacks then do nothing. */
  signal: AbortSignal;
  /** ICE failed or an ICE restart did not help: the session is lost. */
  onLost(why: string): void;
}

export function useSfu(activeSpeakerId: Ref<string | null>) {
  const device = shallowRef<Device | null>(null);
  const sendTransport = shallowRef<Transport | null>(null);
  const recvTransport = shallowRef<Transport | null>(null);
  /** The other participants, as the server describes them. */
  const peerInfos = shallowReactive(new Map<string, PeerInfo>());
  const consumers = shallowReactive(new Map<string, ConsumerEntry>());
  /** Consumer notifications are handled one at a time, in arrival order. */
  let queue: Promise<void> = Promise.resolve();

  async function loadDevice(routerRtpCapabilities: RtpCapabilities, signal: AbortSignal): Promise<Device> {
    const dev = markRaw(await Device.factory());
    await dev.load({ routerRtpCapabilities });
    signal.throwIfAborted();
    device.value = dev;
    return dev;
  }

  function buildTransport(session: SfuSession, dev: Device, direction: 'send' | 'recv', opts: TransportOptions, iceServers: IceServer[]): Transport {
    const { conn, signal } = session;
    // Checked against the shared TransportOptions schema when the answer arrived.
    const transportOptions = {
      id: opts.id,
      iceParameters: opts.iceParameters,
      iceCandidates: opts.iceCandidates,
      dtlsParameters: opts.dtlsParameters,
      // TURN, for networks that block UDP and the media ports (time-limited credentials from authenticate).
      iceServers,
      ...(window.__onairIceTransportPolicy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}),
    };
    const transport = markRaw(direction === 'send' ? dev.createSendTransport(transportOptions) : dev.createRecvTransport(transportOptions));

    transport.on('connect', ({ dtlsParameters }, done, fail) => {
      conn.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => done(), fail);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
        const source = appData.source;
        if (!Value.Check(MediaSource, source)) {
          fail(new Error('produce() without appData.source'));
          return;
        }
        conn.request('produce', { transportId: transport.id, kind, rtpParameters, source }).then(({ producerId }) => done({ id: producerId }), fail);
      });
    }

    let disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
    transport.on('connectionstatechange', (s: ConnectionState) => {
      if (signal.aborted) return;
      if (disconnectedTimer) clearTimeout(disconnectedTimer);
      disconnectedTimer = null;
      if (s === 'failed') session.onLost(`ICE failed on the ${direction} transport`);
      // Often a blip (Wi-Fi roam); ask for an ICE restart if it does not come back by itself.
      else if (s === 'disconnected') disconnectedTimer = setTimeout(() => void restartIce(session, transport), ICE_DISCONNECTED_GRACE_MS);
    });
    return transport;
  }

  async function restartIce(session: SfuSession, transport: Transport): Promise<void> {
    if (session.signal.aborted || transport.closed || transport.connectionState !== 'disconnected') return;
    try {
      const { iceParameters } = await session.conn.request('restartIce', { transportId: transport.id });
      if (session.signal.aborted) return;
      await transport.restartIce({ iceParameters });
    } catch (err) {
      console.warn('[room] ICE restart failed', err);
      session.onLost('ICE restart failed');
    }
  }

  /** Creates the transports for a session that has authenticated: both for a participant, the receive one alone for a watcher of the preview. */
  async function connectTransports(session: SfuSession, dev: Device, iceServers: IceServer[], directions: ReadonlyArray<'send' | 'recv'> = ['send', 'recv']): Promise<void> {
    const options = await Promise.all(directions.map((direction) => session.conn.request('createTransport', { direction })));
    session.signal.throwIfAborted();
    directions.forEach((direction, i) => {
      const opts = options[i];
      if (!opts) return;
      (direction === 'send' ? sendTransport : recvTransport).value = buildTransport(session, dev, direction, opts, iceServers);
    });
  }

  /** The join answer: who is already here. */
  function applyJoin(joined: ResponseData['join'], myPeerId: string): void {
    peerInfos.clear();
    for (const peer of joined.peers) if (peer.id !== myPeerId) peerInfos.set(peer.id, peer);
    activeSpeakerId.value = joined.activeSpeakerId ?? null;
  }

  function setPeer(peer: PeerInfo, myPeerId: string | undefined): void {
    if (peer.id !== myPeerId) peerInfos.set(peer.id, peer);
  }

  /** Consumer and departure notifications, handled strictly in arrival order. */
  function enqueue(session: SfuSession, n: OrderedNotification): void {
    queue = queue.then(() => handleOrdered(session, n)).catch((err: unknown) => console.error(`[room] handling ${n.event} failed`, err));
  }

  async function handleOrdered(session: SfuSession, n: OrderedNotification): Promise<void> {
    if (session.signal.aborted) return;
    switch (n.event) {
      case 'newConsumer':
        await consume(session, n.data);
        break;
      case 'consumerClosed':
        consumers.get(n.data.consumerId)?.consumer.close();
        consumers.delete(n.data.consumerId);
        break;
      case 'consumerPaused':
      case 'consumerResumed': {
        const entry = consumers.get(n.data.consumerId);
        if (entry) consumers.set(n.data.consumerId, { ...entry, paused: n.event === 'consumerPaused' });
        break;
      }
      case 'peerLeft':
        peerInfos.delete(n.data.peerId);
        for (const [id, entry] of consumers) {
          if (entry.peerId !== n.data.peerId) continue;
          entry.consumer.close();
          consumers.delete(id);
        }
        if (activeSpeakerId.value === n.data.peerId) activeSpeakerId.value = null;
        break;
    }
  }

  async function consume(session: SfuSession, d: NotificationData['newConsumer']): Promise<void> {
    const transport = recvTransport.value;
    if (!transport) return;
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
    if (session.signal.aborted) {
      consumer.close();
      return;
    }
    consumers.set(d.consumerId, { consumer: markRaw(consumer), peerId: d.peerId, source: d.source, kind: d.kind, paused: d.producerPaused });
    consumer.on('transportclose', () => consumers.delete(d.consumerId));
    try {
      // The server creates consumers paused so no keyframe is lost before we are ready.
      await session.conn.request('resumeConsumer', { consumerId: d.consumerId });
    } catch (err) {
      if (!session.signal.aborted) console.warn(`[room] resumeConsumer ${d.consumerId} failed`, err);
    }
  }

  /** Closes the session's media (the remote peers are kept while reconnecting). */
  function teardown(): void {
    for (const entry of consumers.values()) entry.consumer.close();
    consumers.clear();
    sendTransport.value?.close();
    recvTransport.value?.close();
    sendTransport.value = null;
    recvTransport.value = null;
    device.value = null;
    queue = Promise.resolve();
  }

  /** The remote participants as the meeting view shows them. */
  const remotePeers = computed(() => {
    const all = [...consumers.values()];
    return [...peerInfos.values()].map((info) => {
      const mine = all.filter((e) => e.peerId === info.id);
      const entry = (s: SourceName) => mine.find((e) => e.source === s);
      const producer = (s: SourceName) => info.producers.find((p) => p.source === s);
      // Consumer pause/resume notifications are the freshest word; peer info fills in before the consumer exists.
      const off = (e: ConsumerEntry | undefined, p: PeerInfo['producers'][number] | undefined) => (e ? e.paused : p ? p.paused : true);
      const mic = entry('mic');
      const cam = entry('camera');
      const screen = entry('screen');
      return {
        id: info.id,
        displayName: info.displayName,
        role: info.role,
        isLocal: false,
        audioTrack: mic?.consumer.track ?? null,
        videoTrack: cam?.consumer.track ?? null,
        screenTrack: screen && !screen.paused ? screen.consumer.track : null,
        audioMuted: off(mic, producer('mic')),
        cameraOff: off(cam, producer('camera')) || !cam,
        speaking: activeSpeakerId.value === info.id,
        onAir: info.onAir,
        outside: info.outside ?? null,
      };
    });
  });

  return { device, sendTransport, recvTransport, peerInfos, consumers, remotePeers, loadDevice, connectTransports, applyJoin, setPeer, enqueue, teardown };
}

export type Sfu = ReturnType<typeof useSfu>;
