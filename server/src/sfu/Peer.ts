import type { types } from 'mediasoup';
import type { MediaSource, NotificationData, NotificationEvent, OnAirState, OutsideInfo, PeerInfo, Role } from '@onair/shared';
import { AppError } from '../errors.js';

export interface PeerProducer {
  producer: types.Producer;
  source: MediaSource;
}

export interface PeerOptions {
  id: string;
  /** Stable identity from the token: a second session with the same key replaces this one. */
  userKey: string;
  displayName: string;
  role: Role;
  /** Whether the person and their screen share start in the program; default both on air. */
  onAir?: OnAirState;
  /** Set for an outside source (RTMP encoder, RTSP camera) that has no browser; default null. */
  outside?: OutsideInfo | null;
  /**
   * Set for someone who only watches the program preview (an admin on the dashboard): a receive
   * transport and the preview's consumer, never joined, never producing, in no participant list; default false.
   */
  watcher?: boolean;
  notify: <E extends NotificationEvent>(event: E, data: NotificationData[E]) => void;
}

/** One participant's media state inside a room. Owned by its Room; close() cascades to transports. */
export class Peer {
  readonly id: string;
  readonly userKey: string;
  readonly displayName: string;
  readonly role: Role;
  readonly notify: PeerOptions['notify'];
  rtpCapabilities: types.RtpCapabilities | null = null;
  readonly transports = new Map<string, types.WebRtcTransport>();
  readonly producers = new Map<string, PeerProducer>();
  readonly consumers = new Map<string, types.Consumer>();
  /** On air: in the program. Backstage: in the meeting only (the SFU forwards their media either way). */
  readonly onAir: OnAirState;
  /** An outside source's kind and state (its owner updates it, then calls room.peerChanged()); null for people. */
  outside: OutsideInfo | null;
  readonly watcher: boolean;
  closed = false;

  constructor(options: PeerOptions) {
    this.id = options.id;
    this.userKey = options.userKey;
    this.displayName = options.displayName;
    this.role = options.role;
    this.notify = options.notify;
    this.onAir = { ...(options.onAir ?? { camera: true, screen: true }) };
    this.outside = options.outside ?? null;
    this.watcher = options.watcher ?? false;
  }

  /** Whether this producer goes into the program: the microphone and camera follow the person, the screen its own switch. */
  isOnAir(source: MediaSource): boolean {
    return source === 'screen' ? this.onAir.screen : this.onAir.camera;
  }

  get joined(): boolean {
    return this.rtpCapabilities !== null;
  }


  transport(id: string): types.WebRtcTransport {
    const t = this.transports.get(id);
    if (!t) throw new AppError('TRANSPORT_NOT_FOUND', `No transport ${id} for this participant.`);
    return t;
  }

  /** The transport this peer receives on; consumers are created there. */
  recvTransport(): types.WebRtcTransport | undefined {
    for (const t of this.transports.values()) if (t.appData.direction === 'recv') return t;
    return undefined;
  }

  producer(id: string): PeerProducer {
    const p = this.producers.get(id);
    if (!p) throw new AppError('PRODUCER_NOT_FOUND', `No producer ${id} for this participant.`);
    return p;
  }

  consumer(id: string): types.Consumer {
    const c = this.consumers.get(id);
    if (!c) throw new AppError('CONSUMER_NOT_FOUND', `No consumer ${id} for this participant.`);
    return c;
  }

  info(): PeerInfo {
    return {
      id: this.id,
      displayName: this.displayName,
      role: this.role,
      producers: [...this.producers.values()].map(({ producer, source }) => ({
        id: producer.id,
        source,
        kind: producer.kind,
        paused: producer.paused,
      })),
      onAir: { ...this.onAir },
      ...(this.outside ? { outside: { ...this.outside } } : {}),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
  }
}
