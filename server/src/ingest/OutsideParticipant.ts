import type { OnAirState, OutsideKind, OutsideState } from '@onair/shared';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { Peer } from '../sfu/Peer.js';
import type { Room } from '../sfu/Room.js';
import { IngestFeed, type IngestInput } from './IngestFeed.js';

export type { IngestInput } from './IngestFeed.js';
export type { VideoHandling } from './ingestArgs.js';

export type OutsideParticipantEvents = {
  /** connecting → live → reconnecting → connecting …; every change is also announced to the room. */
  state: [OutsideState];
  /** The current feed ended (the encoder dropped, the camera went away), with ffmpeg's reason. The owner decides: feed() again, or close(). */
  feedended: [Error];
  closed: [];
};

export interface OutsideParticipantOptions {
  room: Room;
  /** The stable id of the source (e.g. the ingest source's row id); the peer's identity is `outside:<sourceId>`. */
  sourceId: string;
  /** Shown to everyone, e.g. "Stage camera". */
  displayName: string;
  kind: OutsideKind;
  /** Whether it starts in the program: on air in a meeting; in a webinar the caller applies the backstage rule. */
  onAir: OnAirState;
  ffmpegPath: string;
  logger: Logger;
}

/**
 * A participant with no browser: an outside source (an OBS encoder over RTMP, an IP camera over
 * RTSP) that sits in a room's participant list under a name, with a state everyone sees
 * (connecting / live / reconnecting), and a camera and microphone producer fed into mediasoup by
 * an ffmpeg through PlainTransports. Everything else treats it as a participant: browsers consume
 * it, the broadcast composes it when it is on air, hosts move it backstage.
 *
 * How ffmpeg gets its input is the caller's (see IngestInput): RTMP pipes the published FLV into
 * stdin, RTSP passes `-rtsp_transport tcp -i rtsp://…`. The participant never retries on its own:
 * on `feedended` it shows "reconnecting" and the owner calls feed() again (with a backoff, or when
 * the encoder reconnects) or close() after its grace period.
 *
 * ```ts
 * const p = OutsideParticipant.join({ room, sourceId, displayName: 'Stage camera', kind: 'rtmp', onAir, ffmpegPath, logger });
 * await p.feed({ args: ['-f', 'flv', '-i', 'pipe:0'], stdin: flv, video: 'passthrough', audio: true });
 * p.on('feedended', () => setTimeout(() => p.close(), graceMs));
 * ```
 * close() stops the feed and removes the peer from the room; the room closing closes it too.
 */
export class OutsideParticipant extends TypedEmitter<OutsideParticipantEvents> {
  readonly peer: Peer;
  readonly room: Room;
  readonly sourceId: string;
  readonly #options: OutsideParticipantOptions;
  readonly #logger: Logger;
  #feed: IngestFeed | null = null;
  /** Counts feeds, so a feed that finishes starting after a newer one began is dropped. */
  #generation = 0;
  #closed = false;
  readonly #onRoomClosed = (): void => void this.close();

  private constructor(options: OutsideParticipantOptions) {
    const logger = options.logger.child({ outside: options.sourceId, kind: options.kind });
    super(logger);
    this.#logger = logger;
    this.#options = options;
    this.room = options.room;
    this.sourceId = options.sourceId;
    this.peer = new Peer({
      id: `outside-${options.sourceId}`,
      userKey: `outside:${options.sourceId}`,
      displayName: options.displayName,
      role: 'guest',
      onAir: options.onAir,
      outside: { kind: options.kind, state: 'connecting' },
      // Nobody listens on the other end: the room's notifications to this peer have nowhere to go.
      notify: () => undefined,
    });
  }

  /** Puts the source into the room at once, as "connecting" with no media yet. Throws ROOM_CLOSED when the room has ended. */
  static join(options: OutsideParticipantOptions): OutsideParticipant {
    const participant = new OutsideParticipant(options);
    const { room, peer } = participant;
    room.addPeer(peer);
    room.join(peer, room.router.rtpCapabilities);
    room.on('closed', participant.#onRoomClosed);
    return participant;
  }

  get state(): OutsideState {
    return this.peer.outside?.state ?? 'connecting';
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** ffmpeg's pid while a feed runs. */
  get ffmpegPid(): number | undefined {
    return this.#feed?.pid;
  }

  /**
   * Starts (or replaces) the media: the old feed's producers close, new ones are published once
   * ffmpeg runs, and the state goes to "connecting", then "live" when media reaches the room.
   */
  async feed(input: IngestInput): Promise<void> {
    if (this.#closed) throw new Error('This outside source has left the meeting.');
    const generation = ++this.#generation;
    await this.#stopFeed();
    this.#setState('connecting');
    const feed = await IngestFeed.create({ router: this.room.router, input, ffmpegPath: this.#options.ffmpegPath, logger: this.#logger });
    if (this.#closed || generation !== this.#generation) {
      await feed.close();
      return;
    }
    this.#feed = feed;
    feed.on('live', () => this.#setState('live'));
    feed.on('ended', (error) => {
      if (this.#feed !== feed) return;
      this.#logger.info({ err: error }, 'outside source feed ended');
      void this.#stopFeed().then(() => {
        if (this.#closed || this.#feed !== null) return;
        this.#setState('reconnecting', plainReason(error));
        this.emit('feedended', error);
      });
    });
    for (const { producer, source } of feed.producers) this.room.publishProducer(this.peer, producer, source);
  }

  /** Stops the media and shows "reconnecting" (the encoder dropped): the participant stays until feed() or close(). */
  async interrupt(reason?: string): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    await this.#stopFeed();
    // A feed() that began meanwhile (the encoder is already back) owns the state now.
    if (generation === this.#generation) this.#setState('reconnecting', reason);
  }

  async #stopFeed(): Promise<void> {
    const feed = this.#feed;
    this.#feed = null;
    await feed?.close();
  }

  #setState(state: OutsideState, error?: string): void {
    const current = this.peer.outside;
    if (this.#closed || !current) return;
    if (current.state === state && current.error === error) return;
    this.peer.outside = { kind: current.kind, state, ...(error ? { error } : {}) };
    if (!this.room.closed) this.room.peerChanged(this.peer);
    this.emit('state', state);
  }

  /** Stops ffmpeg, removes the participant from the room (everyone is told), emits "closed". Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    this.room.off('closed', this.#onRoomClosed);
    await this.#stopFeed();
    this.room.removePeer(this.peer);
    this.emit('closed');
    this.removeAllListeners();
  }
}

/** ffmpeg's exit message, cut to what a person reads on a tile. */
function plainReason(error: Error): string {
  return error.message.length > 200 ? `${error.message.slice(0, 197)}…` : error.message;
}
