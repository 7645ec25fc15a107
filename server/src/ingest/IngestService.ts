import { PassThrough } from 'node:stream';
import type { IngestSource, IngestSourceState } from '@onair/shared';
import type { IngestConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { IngestSourceRecord, IngestSourcesRepo } from '../persistence/ingestSources.js';
import type { RoomsRepo } from '../persistence/rooms.js';
import type { RoomRegistry } from '../sfu/RoomRegistry.js';
import { OutsideParticipant, type IngestInput, type VideoHandling } from './OutsideParticipant.js';
import { FLV_AUDIO, FLV_VIDEO, flvHeader, RtmpIngestServer, type RtmpMediaPacket, type RtmpPublish } from './RtmpIngestServer.js';

export interface IngestServiceOptions {
  config: IngestConfig;
  sources: IngestSourcesRepo;
  rooms: RoomsRepo;
  registry: RoomRegistry;
  /** Whether guests of this room's webinar start backstage; an ingest source follows the same rule. */
  startsBackstage: (roomId: string) => boolean;
  /** Resolves ffmpeg (throws in plain words when there is none). */
  ffmpegPath: () => string;
  logger: Logger;
}

/** The RTMP application encoders publish to: rtmp://host/live/<stream key>. */
export const INGEST_APP = 'live';

/** FLV codec id of H.264 (AVC). */
const FLV_CODEC_H264 = 7;
/** AVCProfileIndication of Baseline (Constrained Baseline included): what every WebRTC browser decodes. */
const H264_BASELINE = 66;
/** How long to wait for both codec configurations before starting with what has arrived. */
const PROBE_MS = 1500;
/** A publish whose ffmpeg falls this far behind (bytes waiting for its stdin) is dropped. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/**
 * H.264 whose profile every browser decodes (Baseline/Constrained Baseline) is passed through;
 * anything else (Main, High, HEVC, …) is transcoded to VP8. Reads the AVC sequence header
 * (AVCDecoderConfigurationRecord after the 5-byte FLV video tag header).
 */
export function videoHandling(sequenceHeader: RtmpMediaPacket | null): VideoHandling {
  if (!sequenceHeader || sequenceHeader.codecId !== FLV_CODEC_H264) return 'transcode';
  return sequenceHeader.payload[6] === H264_BASELINE ? 'passthrough' : 'transcode';
}

/** One source with an encoder publishing now, or within its grace period after dropping. */
interface LiveSource {
  sourceId: string;
  roomId: string;
  publish: RtmpPublish | null;
  participant: OutsideParticipant | null;
  graceTimer: NodeJS.Timeout | null;
}

/**
 * RTMP/RTMPS ingest: encoders publish with a source's stream key and the source joins its room as
 * an outside participant. A wrong key is refused at publish, so is a second publisher on a key in
 * use; when the encoder drops, the participant shows "reconnecting" for INGEST_GRACE_MS and then
 * leaves, unless the same key publishes again meanwhile, which resumes the same participant.
 */
export class IngestService {
  readonly #options: IngestServiceOptions;
  readonly #live = new Map<string, LiveSource>();
  /** Why a source's last publish was refused or ended, in plain words, until it is next live. */
  readonly #lastError = new Map<string, string>();
  #server: RtmpIngestServer | null = null;
  #closed = false;

  private constructor(options: IngestServiceOptions) {
    this.#options = options;
  }

  static async start(options: IngestServiceOptions): Promise<IngestService> {
    const service = new IngestService(options);
    const { config } = options;
    if (config.rtmpPort !== null || config.rtmpsPort !== null) {
      service.#server = await RtmpIngestServer.start({
        host: config.host,
        rtmpPort: config.rtmpPort,
        rtmps: config.rtmpsPort !== null && config.tls ? { port: config.rtmpsPort, ...config.tls } : null,
        app: INGEST_APP,
        onPublish: (key, publish) => service.#onPublish(key, publish),
        logger: options.logger.child({ rtmpIngest: true }),
      });
    }
    return service;
  }

  /** The ports listened on (a configured 0 becomes the port taken). */
  get ports(): { rtmp: number | null; rtmps: number | null } {
    return this.#server?.ports ?? { rtmp: null, rtmps: null };
  }

  /** The server URLs encoders are given (the port is left out when it is the protocol's default). */
  urls(): { serverUrl: string | null; secureServerUrl: string | null } {
    const host = this.#options.config.publicHost;
    const { rtmp, rtmps } = this.ports;
    return {
      serverUrl: rtmp === null ? null : `rtmp://${host}${rtmp === 1935 ? '' : `:${rtmp}`}/${INGEST_APP}`,
      secureServerUrl: rtmps === null ? null : `rtmps://${host}${rtmps === 443 ? '' : `:${rtmps}`}/${INGEST_APP}`,
    };
  }

  state(sourceId: string): IngestSourceState {
    const live = this.#live.get(sourceId);
    if (!live) return 'idle';
    return live.participant?.state ?? 'connecting';
  }

  /** A stored source as the API shows it (key masked, server URLs, live state). */
  toApi(record: IngestSourceRecord): IngestSource {
    return { ...record, ...this.urls(), state: this.state(record.id), error: this.#lastError.get(record.id) ?? null };
  }

  /** ffmpeg's pid for a live source (tests scan its /proc entries). */
  ffmpegPid(sourceId: string): number | undefined {
    return this.#live.get(sourceId)?.participant?.ffmpegPid;
  }

  /** Ends a source's publish and takes it out of its room now (its key was rotated, or it was deleted). */
  async disconnect(sourceId: string): Promise<void> {
    this.#lastError.delete(sourceId);
    const live = this.#live.get(sourceId);
    if (!live) return;
    this.#live.delete(sourceId);
    if (live.graceTimer) clearTimeout(live.graceTimer);
    live.publish?.close();
    await live.participant?.close();
  }

  #onPublish(streamKey: string, publish: RtmpPublish): string | null {
    if (this.#closed) return 'The server is shutting down.';
    const source = this.#options.sources.findByKey(streamKey);
    if (!source) return 'No ingest source has this stream key.';
    const room = this.#options.rooms.find(source.roomId);
    if (!room) return 'The meeting of this ingest source was deleted.';
    let live = this.#live.get(source.id);
    if (live?.publish && !live.publish.ended) {
      this.#lastError.set(source.id, 'A second encoder tried to publish with this key and was refused.');
      return 'This stream key is already publishing.';
    }
    let ffmpegPath: string;
    try {
      ffmpegPath = this.#options.ffmpegPath();
    } catch (error) {
      return error instanceof Error ? error.message : 'ffmpeg is not available on the server.';
    }
    if (!live) {
      live = { sourceId: source.id, roomId: source.roomId, publish: null, participant: null, graceTimer: null };
      this.#live.set(source.id, live);
    }
    if (live.graceTimer) clearTimeout(live.graceTimer);
    live.graceTimer = null;
    live.publish = publish;
    const logger = this.#options.logger.child({ ingestSource: source.id });
    logger.info({ remote: publish.remoteAddress, secure: publish.secure }, 'encoder publishing');
    void this.#run(live, source, room.name, publish, ffmpegPath, logger).catch((error: unknown) => {
      logger.error({ err: error }, 'ingest failed; dropping the encoder');
      publish.close();
    });
    return null;
  }

  async #run(live: LiveSource, source: IngestSourceRecord, roomName: string, publish: RtmpPublish, ffmpegPath: string, logger: Logger): Promise<void> {
    const stdin = new PassThrough();
    const early: Buffer[] = [flvHeader()];
    let videoHeader: RtmpMediaPacket | null = null;
    let audioHeader: RtmpMediaPacket | null = null;
    let sawVideo = false;
    let sawAudio = false;
    let started = false;
    let decide: () => void = () => undefined;
    const decided = new Promise<void>((resolve) => (decide = resolve));
    let probeTimer: NodeJS.Timeout | null = null;

    publish.on('packet', (packet) => {
      if (packet.type === FLV_VIDEO) {
        sawVideo = true;
        if (packet.sequenceHeader) videoHeader = packet;
      } else if (packet.type === FLV_AUDIO) {
        sawAudio = true;
        if (packet.sequenceHeader) audioHeader = packet;
      }
      if (!started) {
        early.push(packet.tag);
        probeTimer ??= setTimeout(decide, PROBE_MS);
        if (videoHeader && audioHeader) decide();
        return;
      }
      if (stdin.writableLength + stdin.readableLength > MAX_QUEUED_BYTES) {
        logger.warn('ffmpeg fell behind the encoder; dropping the publish');
        publish.close();
        return;
      }
      stdin.write(packet.tag);
    });
    publish.on('ended', () => {
      decide();
      stdin.end();
      void this.#encoderGone(live, publish);
    });

    await decided;
    if (probeTimer) clearTimeout(probeTimer);
    if (publish.ended || this.#closed || this.#live.get(source.id) !== live) return;
    const fourCc = (videoHeader as RtmpMediaPacket | null)?.codecId ?? 0;
    if (fourCc > 0xff) {
      // Enhanced RTMP (HEVC, AV1, VP9 by FourCC): Debian's ffmpeg 5.1 cannot read it from FLV.
      const codec = Buffer.from(fourCc.toString(16).padStart(8, '0'), 'hex').toString('latin1');
      this.#lastError.set(source.id, `The encoder sends ${codec} video, which this server cannot read. Set the encoder to H.264.`);
      logger.warn({ codec }, 'the encoder sends a codec this server cannot read (enhanced RTMP); set it to H.264');
      publish.close();
      return;
    }
    started = true;
    for (const chunk of early) stdin.write(chunk);
    early.length = 0;

    const input: IngestInput = {
      args: ['-f', 'flv', '-i', 'pipe:0'],
      stdin,
      video: sawVideo ? videoHandling(videoHeader) : null,
      audio: sawAudio,
    };
    const room = await this.#options.registry.open(source.roomId, roomName);
    if (publish.ended || this.#closed || this.#live.get(source.id) !== live) return;
    let participant = live.participant;
    if (!participant || participant.closed || participant.room !== room) {
      participant = OutsideParticipant.join({
        room,
        sourceId: source.id,
        displayName: source.name,
        kind: 'rtmp',
        onAir: this.#options.startsBackstage(source.roomId) ? { camera: false, screen: false } : { camera: true, screen: true },
        ffmpegPath,
        logger: this.#options.logger,
      });
      live.participant = participant;
      const joined = participant;
      // An encoder keeps its room open (people may join later), until its participant leaves.
      const releaseRoom = room.keepOpen();
      joined.once('closed', () => {
        releaseRoom();
        // The room closed under it (the meeting was deleted): the encoder goes too.
        if (this.#live.get(source.id) !== live || live.participant !== joined) return;
        this.#live.delete(source.id);
        if (live.graceTimer) clearTimeout(live.graceTimer);
        live.publish?.close();
      });
      joined.on('state', (state) => {
        if (state === 'live') this.#lastError.delete(source.id);
      });
      joined.on('feedended', (error) => {
        this.#lastError.set(source.id, `The server could not read the encoder's stream (${error.message.slice(0, 200)}).`);
        // ffmpeg ended while the encoder still publishes (bad media): drop it, so the encoder reconnects.
        if (live.publish && !live.publish.ended) live.publish.close();
      });
    }
    logger.info({ video: input.video, audio: input.audio }, 'ingest source joining its room');
    await participant.feed(input);
  }

  /** The encoder stopped or dropped: "reconnecting" for the grace period, then the participant leaves. */
  async #encoderGone(live: LiveSource, publish: RtmpPublish): Promise<void> {
    if (live.publish !== publish || this.#live.get(live.sourceId) !== live) return;
    live.publish = null;
    await live.participant?.interrupt('The encoder disconnected.');
    if (live.publish !== null || this.#live.get(live.sourceId) !== live) return;
    live.graceTimer = setTimeout(() => {
      if (this.#live.get(live.sourceId) !== live || live.publish !== null) return;
      this.#live.delete(live.sourceId);
      void live.participant?.close();
    }, this.#options.config.graceMs);
  }

  /** Stops the listeners, drops every encoder and takes the sources out of their rooms. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#server?.close();
    await Promise.all([...this.#live.keys()].map((id) => this.disconnect(id)));
  }
}
