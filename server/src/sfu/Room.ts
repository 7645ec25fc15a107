import type { types } from 'mediasoup';
import type { BroadcastStatus, ErrorBody, MediaKind, MediaSource, OnAirSource, PeerInfo, ResponseData, TransportOptions } from '@onair/shared';
import { AppError } from '../errors.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import type { Logger } from '../logger.js';
import { MEDIA_CODECS } from './mediaCodecs.js';
import type { Peer } from './Peer.js';
import { StageSpeaker } from './StageSpeaker.js';
import type { WebRtcListen } from './WorkerPool.js';
import { toClientRtpParameters } from './wire.js';

/**
 * What the room needs of an attached broadcast (broadcast/ implements it). The broadcast follows
 * the room through the room's `stagechanged` event; the room never calls into the program.
 */
export interface RoomBroadcast {
  status(): BroadcastStatus;
  close(): Promise<void>;
  /** A host starts watching the program preview: its producer, null while there is none. Matched by one unwatchPreview(). */
  watchPreview(): Promise<types.Producer | null>;
  unwatchPreview(): void;
}

export type RoomEvents = {
  closed: [];
  peerjoined: [Peer];
  peerleft: [Peer];
  /**
   * What the program shows may have changed: someone joined or left, a producer was added, closed,
   * paused or resumed, someone went on air or backstage, or an outside source changed state. The one
   * fact a broadcast subscribes to (it re-reads the room). The speaker the program features
   * (stageSpeakerId) changing is such a change too; the raw active speaker is not: it may flip
   * several times a second, and is held first (StageSpeaker).
   */
  stagechanged: [];
  activespeaker: [string | null];
};

export interface RoomOptions {
  id: string;
  name: string;
  worker: types.Worker;
  /** Where the room's WebRTC transports listen (its worker's WebRtcServer, or a port range). */
  listen: WebRtcListen;
  /** How long the room stays open after its last peer leaves. */
  graceMs: number;
  logger: Logger;
}

/** A peer needs two transports (send, recv); a few more leave room for reconnects, and no client can pile them up. */
const MAX_TRANSPORTS_PER_PEER = 4;

/**
 * A meeting: one mediasoup router, its peers and (while live) its broadcast. close() closes the
 * peers, then the broadcast, then the router, then emits "closed".
 */
export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly name: string;
  readonly router: types.Router;
  private readonly speakerObserver: types.ActiveSpeakerObserver;
  readonly peers = new Map<string, Peer>();
  /** Watchers of the program preview (admins on the dashboard): kept apart from the peers, so nobody in the meeting sees them and they do not keep the room open. */
  readonly watchers = new Map<string, Peer>();
  /** The meeting's active speaker, as mediasoup detects it (the meeting highlights them at once). */
  activeSpeakerId: string | null = null;
  /** The on-air speaker the program features: the active speaker once they have held the floor (see StageSpeaker). */
  private readonly stageSpeaker = new StageSpeaker({ onChange: () => this.emit('stagechanged') });
  broadcast: RoomBroadcast | null = null;
  closed = false;
  private emptyTimer: NodeJS.Timeout | null = null;
  private held = false;
  /** Open keepOpen() claims (an encoder publishing into the room). */
  private keepers = 0;
  private readonly logger: Logger;

  private constructor(
    private readonly options: RoomOptions,
    router: types.Router,
    speakerObserver: types.ActiveSpeakerObserver,
    logger: Logger,
  ) {
    super(logger);
    this.logger = logger;
    this.id = options.id;
    this.name = options.name;
    this.router = router;
    this.speakerObserver = speakerObserver;
    router.observer.once('close', () => void this.close());
    speakerObserver.on('dominantspeaker', ({ producer }) => {
      // By the peer that published it: an outside source's producers carry no peer id of their own.
      const peer = [...this.peers.values()].find((p) => p.producers.has(producer.id));
      this.setActiveSpeaker(peer?.id ?? null);
    });
  }

  static async create(options: RoomOptions): Promise<Room> {
    const router = await options.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    try {
      const observer = await router.createActiveSpeakerObserver({ interval: 300 });
      const logger = options.logger.child({ room: options.id });
      const room = new Room(options, router, observer, logger);
      room.scheduleCloseIfEmpty();
      return room;
    } catch (error) {
      router.close();
      throw error;
    }
  }

  get joinedPeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.joined && !p.closed);
  }

  /** The speaker the speaker-led layouts feature (null: none yet; the scene then features its first person). */
  get stageSpeakerId(): string | null {
    return this.stageSpeaker.peerId;
  }

  private setActiveSpeaker(peerId: string | null): void {
    if (peerId === this.activeSpeakerId) return;
    this.activeSpeakerId = peerId;
    for (const p of this.joinedPeers) p.notify('activeSpeaker', { peerId });
    // Someone backstage talking is heard in the meeting, not in the program: the floor stays.
    const peer = peerId === null ? undefined : this.peers.get(peerId);
    this.stageSpeaker.heard(peer?.joined && peer.onAir.camera ? peer.id : null);
    this.emit('activespeaker', peerId);
  }

  /** Adds a connected (not yet joined) peer; another session of the same person is replaced. */
  addPeer(peer: Peer): void {
    if (this.closed) throw new AppError('ROOM_CLOSED', 'This meeting has ended.');
    for (const other of this.peers.values()) {
      if (other.userKey === peer.userKey) {
        other.notify('closing', { code: 'REPLACED', message: 'You joined this meeting from another tab or device.' });
        this.removePeer(other);
      }
    }
    this.peers.set(peer.id, peer);
    if (peer.outside === null) this.cancelEmptyTimer();
  }

  /** Adds a watcher of the program preview (receive-only; another watching tab of the same person is kept). */
  addWatcher(watcher: Peer): void {
    if (this.closed) throw new AppError('ROOM_CLOSED', 'This meeting has ended.');
    if (!watcher.watcher) throw new Error('addWatcher() takes a watcher');
    this.watchers.set(watcher.id, watcher);
  }

  /**
   * Whether a person is in the room. Outside sources (an IP camera, an encoder) do not keep a room
   * open: a camera is pulled while people are in its room (or it is live), not the other way round.
   */
  private get hasPeople(): boolean {
    for (const peer of this.peers.values()) if (peer.outside === null) return true;
    return false;
  }

  async createTransport(peer: Peer, direction: 'send' | 'recv'): Promise<TransportOptions> {
    this.assertMember(peer);
    if (peer.watcher && direction !== 'recv') throw new AppError('FORBIDDEN', 'A preview connection only receives the program: it cannot send media.');
    if (peer.transports.size >= MAX_TRANSPORTS_PER_PEER) {
      throw new AppError('BAD_REQUEST', 'Too many transports for one participant.');
    }
    // A peer has one transport per direction; asking again (e.g. after a network change) replaces it.
    for (const t of peer.transports.values()) {
      if (t.appData.direction === direction) {
        t.close();
        peer.transports.delete(t.id);
      }
    }
    const transport = await this.router.createWebRtcTransport({
      ...this.options.listen,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { direction, peerId: peer.id },
    });
    if (peer.closed) {
      transport.close();
      throw new AppError('NOT_JOINED', 'You have left the meeting.');
    }
    peer.transports.set(transport.id, transport);
    transport.observer.once('close', () => peer.transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peer: Peer, transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    this.assertMember(peer);
    await mediaCall(() => peer.transport(transportId).connect({ dtlsParameters }));
  }

  async restartIce(peer: Peer, transportId: string): Promise<{ iceParameters: unknown }> {
    this.assertMember(peer);
    const iceParameters = await mediaCall(() => peer.transport(transportId).restartIce());
    return { iceParameters };
  }

  /** Marks the peer joined, tells the others, and starts consuming everyone's media. */
  join(peer: Peer, rtpCapabilities: types.RtpCapabilities): ResponseData['join'] {
    this.assertMember(peer);
    if (peer.watcher) throw new AppError('FORBIDDEN', 'A preview connection only watches the program: it cannot join the meeting.');
    if (peer.joined) throw new AppError('ALREADY_JOINED', 'You are already in this meeting.');
    peer.rtpCapabilities = rtpCapabilities;
    const others = this.joinedPeers.filter((p) => p !== peer);
    for (const other of others) other.notify('peerJoined', { peer: peer.info() });
    // Consumers are created after the response has gone out, so the client knows the peers first.
    setImmediate(() => {
      for (const other of others) {
        for (const { producer, source } of other.producers.values()) this.detached(peer, () => this.createConsumer(peer, other, producer, source));
      }
    });
    this.emit('peerjoined', peer);
    // On stage at once (a name tile until their media arrives): this also ends an idle countdown.
    this.emit('stagechanged');
    return {
      peers: others.map((p) => p.info()),
      activeSpeakerId: this.activeSpeakerId,
      broadcast: this.broadcast?.status() ?? null,
      onAir: { ...peer.onAir },
    };
  }

  /**
   * Puts a participant (their camera and microphone, their screen share, or both) on air or
   * backstage: everyone is told, and the program changes on its next frame. What the SFU forwards
   * does not change, so backstage people still meet with the room.
   */
  setOnAir(by: Peer, peerId: string, source: OnAirSource, onAir: boolean): void {
    this.assertJoined(by);
    const target = this.peers.get(peerId);
    if (!target || target.closed || !target.joined) throw new AppError('PEER_NOT_FOUND', 'That participant is not in this meeting.');
    const next = { camera: source === 'screen' ? target.onAir.camera : onAir, screen: source === 'camera' ? target.onAir.screen : onAir };
    if (next.camera === target.onAir.camera && next.screen === target.onAir.screen) return;
    Object.assign(target.onAir, next);
    if (!next.camera) this.stageSpeaker.left(target.id);
    else if (this.activeSpeakerId === target.id) this.stageSpeaker.heard(target.id);
    target.notify('onAir', { onAir: { ...target.onAir } });
    this.peerChanged(target);
  }

  async produce(peer: Peer, transportId: string, kind: MediaKind, rtpParameters: types.RtpParameters, source: MediaSource): Promise<string> {
    this.assertJoined(peer);
    if ((source === 'mic') !== (kind === 'audio')) {
      throw new AppError('BAD_MESSAGE', `A ${source} producer must be ${source === 'mic' ? 'audio' : 'video'}.`);
    }
    const transport = peer.transport(transportId);
    if (transport.appData.direction !== 'send') throw new AppError('BAD_MESSAGE', 'Produce on the send transport.');
    // One producer per source: a new camera replaces the old one.
    for (const { producer, source: s } of peer.producers.values()) {
      if (s === source) this.closeProducer(peer, producer.id);
    }
    const producer = await mediaCall(() => transport.produce({ kind, rtpParameters, appData: { peerId: peer.id, source } }));
    this.publishProducer(peer, producer, source);
    return producer.id;
  }

  /**
   * Makes a producer that was created on one of this router's transports part of the peer's
   * media: everyone else consumes it and the program may show it. A browser's produce() and an
   * outside source's PlainTransport producers both come through here. Closes the producer and
   * throws NOT_JOINED when the peer has left meanwhile.
   */
  publishProducer(peer: Peer, producer: types.Producer, source: MediaSource): void {
    if (peer.closed || this.closed) {
      producer.close();
      throw new AppError('NOT_JOINED', 'You have left the meeting.');
    }
    peer.producers.set(producer.id, { producer, source });
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      if (!peer.closed) this.peerChanged(peer);
    });
    if (producer.kind === 'audio') {
      this.speakerObserver.addProducer({ producerId: producer.id }).catch(() => undefined);
    }
    for (const other of this.joinedPeers) {
      if (other !== peer) this.detached(other, () => this.createConsumer(other, peer, producer, source));
    }
    this.peerChanged(peer);
  }

  closeProducer(peer: Peer, producerId: string): void {
    this.assertMember(peer);
    peer.producer(producerId).producer.close();
  }

  async setProducerPaused(peer: Peer, producerId: string, paused: boolean): Promise<void> {
    this.assertMember(peer);
    const { producer } = peer.producer(producerId);
    await mediaCall(() => (paused ? producer.pause() : producer.resume()));
    this.peerChanged(peer);
  }

  async resumeConsumer(peer: Peer, consumerId: string): Promise<void> {
    this.assertMember(peer);
    const consumer = peer.consumer(consumerId);
    await mediaCall(() => consumer.resume());
  }

  async setPreferredLayers(peer: Peer, consumerId: string, spatialLayer: number): Promise<void> {
    this.assertMember(peer);
    const consumer = peer.consumer(consumerId);
    if (consumer.type === 'simulcast') await mediaCall(() => consumer.setPreferredLayers({ spatialLayer }));
  }

  /** Tells the others what changed about this peer (its media, on-air state, outside state); the program follows. */
  peerChanged(peer: Peer): void {
    const info: PeerInfo = peer.info();
    for (const other of this.joinedPeers) if (other !== peer) other.notify('peerUpdated', { peer: info });
    this.emit('stagechanged');
  }

  /**
   * Safety net for work that runs outside a request (consumers created for a joiner, a new
   * producer fanned out to the others): an unexpected failure closes the peer it concerns, tells
   * it why and is logged; the room, its other peers and the process go on.
   */
  private detached(peer: Peer, work: () => Promise<void>): void {
    work().catch((error: unknown) => {
      this.logger.error({ err: error, peer: peer.id }, 'unexpected failure; closing this participant');
      if (peer.closed) return;
      peer.notify('closing', { code: 'INTERNAL', message: 'Something went wrong with your connection to this meeting. Join again to continue.' });
      this.removePeer(peer);
    });
  }

  private async createConsumer(consumerPeer: Peer, producerPeer: Peer, producer: types.Producer, source: MediaSource): Promise<void> {
    const transport = consumerPeer.recvTransport();
    const caps = consumerPeer.rtpCapabilities;
    if (!transport || !caps || consumerPeer.closed || producer.closed) return;
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) {
      this.logger.warn({ peer: consumerPeer.id, producer: producer.id }, 'peer cannot consume producer');
      return;
    }
    let consumer: types.Consumer;
    try {
      consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: caps,
        paused: true,
        appData: { peerId: producerPeer.id, source },
      });
    } catch (error) {
      this.logger.warn({ err: error, peer: consumerPeer.id }, 'consume failed');
      return;
    }
    if (consumerPeer.closed) {
      consumer.close();
      return;
    }
    consumerPeer.consumers.set(consumer.id, consumer);
    const notifyClosed = () => {
      consumerPeer.consumers.delete(consumer.id);
      if (!consumerPeer.closed) consumerPeer.notify('consumerClosed', { consumerId: consumer.id });
    };
    consumer.on('transportclose', () => consumerPeer.consumers.delete(consumer.id));
    consumer.on('producerclose', notifyClosed);
    consumer.on('producerpause', () => consumerPeer.notify('consumerPaused', { consumerId: consumer.id }));
    consumer.on('producerresume', () => consumerPeer.notify('consumerResumed', { consumerId: consumer.id }));
    consumerPeer.notify('newConsumer', {
      consumerId: consumer.id,
      producerId: producer.id,
      peerId: producerPeer.id,
      kind: consumer.kind,
      source,
      rtpParameters: toClientRtpParameters(consumer.rtpParameters),
      producerPaused: consumer.producerPaused,
    });
  }

  /**
   * A consumer of the program preview on the peer's receive transport, created paused (the client
   * resumes it when ready). The caller checks that the peer hosts the room or is backstage. Closed with the preview.
   * A watcher, which never joins, says what its device can receive here (`rtpCapabilities`).
   */
  async consumePreview(
    peer: Peer,
    rtpCapabilities?: types.RtpCapabilities,
  ): Promise<{ consumerId: string; producerId: string; kind: 'video'; rtpParameters: ReturnType<typeof toClientRtpParameters> }> {
    this.assertMember(peer);
    const transport = peer.recvTransport();
    const caps = peer.rtpCapabilities ?? (peer.watcher ? rtpCapabilities : undefined);
    if (!transport || !caps) {
      throw new AppError('NOT_JOINED', peer.watcher ? 'Create the receive transport and send rtpCapabilities to watch the preview.' : 'Join the meeting before opening the preview.');
    }
    // One preview consumer per peer: asking again replaces it (no client can pile them up).
    for (const c of [...peer.consumers.values()]) {
      if (c.appData.source !== 'program') continue;
      c.close();
      peer.consumers.delete(c.id);
    }
    const broadcast = this.broadcast;
    const producer = (await broadcast?.watchPreview()) ?? null;
    if (!broadcast || !producer) throw new AppError('NOT_LIVE', 'There is no program preview: open the preview or go live first.');
    let consumer: types.Consumer;
    try {
      if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) {
        throw new AppError('CANNOT_CONSUME', 'This browser cannot play the program preview (VP8).');
      }
      consumer = await mediaCall(() => transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true, appData: { source: 'program' } }));
    } catch (error) {
      broadcast.unwatchPreview();
      throw error;
    }
    // However it ends (the host leaves, the preview stops), the broadcast counts one watcher less.
    consumer.observer.once('close', () => broadcast.unwatchPreview());
    peer.consumers.set(consumer.id, consumer);
    const forget = (): void => {
      peer.consumers.delete(consumer.id);
    };
    consumer.on('transportclose', forget);
    consumer.on('producerclose', () => {
      forget();
      if (!peer.closed) peer.notify('consumerClosed', { consumerId: consumer.id });
    });
    return { consumerId: consumer.id, producerId: producer.id, kind: 'video', rtpParameters: toClientRtpParameters(consumer.rtpParameters) };
  }

  /** Closes the peer and tells the others; the room closes after the grace period once empty. */
  removePeer(peer: Peer): void {
    if (this.watchers.delete(peer.id)) {
      peer.close();
      return;
    }
    if (!this.peers.has(peer.id)) return;
    const wasJoined = peer.joined;
    this.peers.delete(peer.id);
    peer.close();
    if (wasJoined) {
      for (const other of this.joinedPeers) other.notify('peerLeft', { peerId: peer.id });
      if (this.activeSpeakerId === peer.id) this.setActiveSpeaker(null);
      this.stageSpeaker.left(peer.id);
      this.emit('peerleft', peer);
      this.emit('stagechanged');
    }
    this.scheduleCloseIfEmpty();
  }

  /** Tells the matching peers why, then removes them (their sessions close with that reason). */
  dismiss(which: (peer: Peer) => boolean, reason: ErrorBody): void {
    for (const peer of [...this.peers.values(), ...this.watchers.values()]) {
      if (!which(peer)) continue;
      peer.notify('closing', reason);
      this.removePeer(peer);
    }
  }

  private scheduleCloseIfEmpty(): void {
    if (this.closed || this.held || this.keepers > 0 || this.hasPeople || this.emptyTimer) return;
    this.emptyTimer = setTimeout(() => {
      this.emptyTimer = null;
      if (!this.hasPeople && !this.held && this.keepers === 0) void this.close();
    }, this.options.graceMs);
  }

  /** Keeps the room open while empty (a scheduled webinar showing its "Starting soon" slate). */
  hold(): void {
    this.held = true;
    this.cancelEmptyTimer();
  }

  /**
   * Keeps the room open while empty until the returned function is called (once): an RTMP encoder
   * publishing into the room (its operator started it on purpose, people may join later), unlike
   * a camera, which is pulled only while people are there. Independent of hold().
   */
  keepOpen(): () => void {
    this.keepers++;
    this.cancelEmptyTimer();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.keepers--;
      this.scheduleCloseIfEmpty();
    };
  }

  /** Whether hold() keeps the room open while empty. */
  get isHeld(): boolean {
    return this.held;
  }

  /** Undoes hold(); the room then closes after the grace period if nobody is in it. */
  release(): void {
    this.held = false;
    this.scheduleCloseIfEmpty();
  }

  private cancelEmptyTimer(): void {
    if (this.emptyTimer) clearTimeout(this.emptyTimer);
    this.emptyTimer = null;
  }

  private assertMember(peer: Peer): void {
    if (this.closed) throw new AppError('ROOM_CLOSED', 'This meeting has ended.');
    if (peer.closed || !(this.peers.has(peer.id) || this.watchers.has(peer.id))) throw new AppError('NOT_JOINED', 'You are not in this meeting.');
  }

  private assertJoined(peer: Peer): void {
    this.assertMember(peer);
    if (!peer.joined) throw new AppError('NOT_JOINED', 'Join the meeting first.');
  }

  async close(reason: ErrorBody = { code: 'ROOM_CLOSED', message: 'This meeting has ended.' }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelEmptyTimer();
    this.stageSpeaker.close();
    for (const peer of [...this.peers.values(), ...this.watchers.values()]) {
      peer.notify('closing', reason);
      peer.close();
    }
    this.peers.clear();
    this.watchers.clear();
    const broadcast = this.broadcast;
    this.broadcast = null;
    if (broadcast) {
      await broadcast.close().catch((err: unknown) => this.logger.error({ err }, 'closing the broadcast failed'));
    }
    this.router.close();
    this.logger.info('room closed');
    this.emit('closed');
    this.removeAllListeners();
  }
}

/**
 * mediasoup rejects bad parameters with TypeError/Error, and calls on an object that closed a
 * moment ago with InvalidStateError; both concern this client's request only, so they are
 * answered as its error (never INTERNAL, which would end the session).
 */
async function mediaCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new AppError('BAD_MESSAGE', `The media parameters were refused: ${message}`);
  }
}
