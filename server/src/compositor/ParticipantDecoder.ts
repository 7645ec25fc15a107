import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { FifoReader, makeFifo, type FifoReadOptions } from '../media/fifo.js';
import { writeFifo } from '../media/WarmPool.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { releasePortPair, reservePortPair, waitForUdpPort } from '../media/ports.js';
import { buildSdp, type SdpMedia } from '../media/sdp.js';
import { CHANNELS, SAMPLE_RATE } from './AudioMixer.js';
import { allocPicture, pictureBytes, type Picture } from './picture.js';
import { parseShowinfo, PictureTransit, Playout, SampleTimeline } from './playout.js';
import { newContentKey } from './Stills.js';

export type ParticipantDecoderEvents = {
  /** A whole decoded picture was queued (video). */
  frame: [];
  /** Decoded s16le 48 kHz stereo PCM (audio), in order, continuing the previous chunk; the buffer is reused after the listeners return. */
  pcm: [Buffer];
  /** A producer paused / resumed (camera off, mute). */
  paused: ['audio' | 'video', boolean];
  /** ffmpeg ended (before or after its first output); the owner restarts or drops the source. */
  ended: [Error];
};

export interface DecoderVideo {
  producer: ms.Producer;
  /** The tile size the decoder scales to. */
  width: number;
  height: number;
  /** Simulcast spatial layer to ask mediasoup for. */
  layer: number;
  /** 'fill' crops to the tile (cameras: the label sits on the picture), 'fit' letterboxes (screens). */
  fit: 'fill' | 'fit';
}

export interface ParticipantDecoderOptions {
  id: string;
  router: ms.Router;
  /** The participant's camera (or screen share), or null. */
  video: DecoderVideo | null;
  /** The participant's microphone, or null. */
  audio: ms.Producer | null;
  ffmpegPath: string;
  logger: Logger;
  /** A spare ffmpeg started ahead (WarmPool); asked for only when the decoder takes a camera and a microphone. Default none. */
  spare?: () => DecoderSpare | null;
}

/** A decoded picture waiting in the decoder's jitter queue. */
export interface QueuedPicture {
  picture: Picture;
  /** Frame index since the decoder started; -1 while being filled. */
  n: number;
  /** Media time (ms) on the participant's clock; NaN until ffmpeg's showinfo line for it is read. */
  ptsMs: number;
  /** Changes with every picture (the compositor copies a tile only when it changed). */
  key: number;
}

/** How often a keyframe is asked for until the first picture comes out. */
const KEYFRAME_REQUEST_MS = 400;
/** After a loss, a keyframe is asked for at most this often (ms). */
const KEYFRAME_AFTER_LOSS_MS = 500;
/** How long ffmpeg gets to open its RTP ports. */
const BIND_TIMEOUT_MS = 10_000;
/**
 * Pictures kept: 150 ms of jitter buffer at 30 fps, the one shown, the one being written, and the
 * backlog of a decoder that lagged and catches up (played at up to twice the speed, `pictureAfter`,
 * rather than skipped): about half a second in all.
 */
const PICTURE_QUEUE = 16;
/** Showinfo timestamps kept for pictures not yet read from the pipe. */
const PTS_RING = 64;
/** An audio frame whose timestamp is off the running timeline by more than this starts a new anchor. */
const AUDIO_JUMP_MS = 2;
/** PCM read at most per read (a packet is 3840 bytes): one buffer, reused for every read. */
const PCM_READ_BYTES = 65_536;

/** Codecs a decoder can take; rtx is left out (ffmpeg does not ask for retransmissions). */
function decoderRtpCapabilities(router: ms.Router): ms.RtpCapabilities {
  const codecs = (router.rtpCapabilities.codecs ?? []).filter((c) => ['audio/opus', 'video/vp8', 'video/h264'].includes(c.mimeType.toLowerCase()));
  return { codecs: codecs.map((c) => ({ ...c, rtcpFeedback: [] })), headerExtensions: [] };
}

interface Track {
  kind: 'audio' | 'video';
  transport: ms.PlainTransport;
  consumer: ms.Consumer;
  port: number;
}

/**
 * One participant decoded by one ffmpeg: camera (or screen) and microphone come from mediasoup
 * PlainTransport consumers, RTP and RTCP on separate ports, described by one SDP with two m-lines,
 * so ffmpeg's RTP demuxer maps both streams through the sender reports onto one clock (lip sync).
 * Pictures come out scaled to the tile on stdout, PCM on fd 3; each picture's and audio frame's
 * media time comes from showinfo/ashowinfo lines on stderr. Pictures land in a queue allocated once
 * (no allocation per frame); the compositor takes the one due at its tick (`pictureFor`).
 */
export class ParticipantDecoder extends TypedEmitter<ParticipantDecoderEvents> {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly videoProducerId: string | null;
  readonly audioProducerId: string | null;
  /** Where this decoder's media lands on the program's clock. */
  readonly playout = new Playout();
  /** How the pictures arrive against their media time (video only): whether this decoder keeps up, and its timeline against another's. */
  readonly pictureTransit = new PictureTransit();
  /** Media time of each PCM sample index (counted from this decoder's first sample). */
  readonly audioTimeline = new SampleTimeline(SAMPLE_RATE);
  readonly #logger: Logger;
  readonly #tracks: Track[];
  readonly #workDir: string;
  readonly #clock: () => number;
  readonly #queue: QueuedPicture[];
  readonly #ptsN = new Float64Array(PTS_RING).fill(-1);
  readonly #ptsMs = new Float64Array(PTS_RING);
  #process: FfmpegProcess | null = null;
  #fifos: FifoReader[] = [];
  #pcmBuffer: Buffer | null = null;
  #filling = 0;
  #filled = 0;
  #keyframeTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #audioLineSamples = 0;
  #audioNextMs = NaN;
  #audioBytes = 0;
  /** Video showinfo lines read: the index of the picture the next one stamps. */
  #videoStamps = 0;
  readonly #videoProducer: ms.Producer | null;
  /** Pictures decoded. */
  pictures = 0;
  /** PCM sample frames decoded (per channel). */
  samples = 0;
  /** Pictures (video) plus PCM chunks (audio) received. */
  outputs = 0;
  /** performance.now() of the consumers' resume and of the first output. */
  resumedAt: number | null = null;
  /** Keyframes asked for after ffmpeg reported a loss. */
  lossKeyframes = 0;
  #lossKeyframeAt = -Infinity;
  firstOutputAt: number | null = null;
  /** performance.now() of the first picture (video), null before it. */
  firstPictureAt: number | null = null;

  private constructor(options: ParticipantDecoderOptions, tracks: Track[], workDir: string, logger: Logger, clock: () => number) {
    super(logger);
    this.id = options.id;
    this.width = options.video?.width ?? 0;
    this.height = options.video?.height ?? 0;
    this.videoProducerId = options.video?.producer.id ?? null;
    this.#videoProducer = options.video?.producer ?? null;
    this.audioProducerId = options.audio?.id ?? null;
    this.#logger = logger;
    this.#tracks = tracks;
    this.#workDir = workDir;
    this.#clock = clock;
    this.#queue = options.video
      ? // Unset bytes: a slot is read only once a whole picture has landed in it (n ≥ 0).
        Array.from({ length: PICTURE_QUEUE }, () => ({ picture: allocPicture(this.width, this.height, null), n: -1, ptsMs: NaN, key: 0 }))
      : [];
    for (const track of tracks) {
      track.consumer.on('producerpause', () => this.emit('paused', track.kind, true));
      track.consumer.on('producerresume', () => {
        this.emit('paused', track.kind, false);
        if (track.kind === 'video') this.#requestKeyFrames();
      });
    }
  }

  /** `clock` gives the program's time (ms) for arrivals; default performance.now. */
  static async create(options: ParticipantDecoderOptions, clock: () => number = () => performance.now()): Promise<ParticipantDecoder> {
    const logger = options.logger.child({ decoder: options.id });
    const tracks: Track[] = [];
    let decoder: ParticipantDecoder | null = null;
    const wanted: Array<['video' | 'audio', ms.Producer]> = [];
    if (options.video) wanted.push(['video', options.video.producer]);
    if (options.audio) wanted.push(['audio', options.audio]);
    if (wanted.length === 0) throw new Error('a participant decoder needs a video or an audio producer');
    try {
      const media: SdpMedia[] = [];
      for (const [kind, producer] of wanted) {
        const port = await reservePortPair();
        let transport: ms.PlainTransport;
        try {
          // RTCP on its own port (port + 1): the sender reports reach ffmpeg's RTP demuxer.
          transport = await options.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
        } catch (error) {
          releasePortPair(port);
          throw error;
        }
        const consumer = await transport
          .connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 })
          .then(() => transport.consume({ producerId: producer.id, rtpCapabilities: decoderRtpCapabilities(options.router), paused: true }))
          .catch((error: unknown) => {
            transport.close();
            releasePortPair(port);
            throw error;
          });
        tracks.push({ kind, transport, consumer, port });
        if (kind === 'video' && options.video && consumer.type === 'simulcast') {
          // mediasoup switches layers within the consumer when the sender drops or restores one (a browser short of CPU does).
          consumer.on('layerschange', (layers) => logger.debug({ layers: layers ?? null }, 'decoder consumer layers changed'));
          await setLayer(consumer, producer, options.video.layer);
        }
        const codec = consumer.rtpParameters.codecs[0];
        if (!codec) throw new Error('consumer has no codec');
        media.push({
          kind,
          port,
          payloadType: codec.payloadType,
          mimeType: codec.mimeType,
          clockRate: codec.clockRate,
          ...(codec.channels ? { channels: codec.channels } : {}),
          parameters: Object.fromEntries(
            Object.entries(codec.parameters ?? {}).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'),
          ),
        });
      }
      const video = options.video;
      const spare = video && options.audio ? (options.spare?.() ?? null) : null;
      if (spare) {
        // The spare reads its filter graph once its SDP is in: the script first, then the SDP into its FIFO.
        await writeFile(spare.scriptPath, decoderVideoFilter(video!));
        if (writeFifo(spare.sdpPath, buildSdp(media))) {
          decoder = new ParticipantDecoder(options, tracks, spare.workDir, logger, clock);
          await decoder.#adopt(spare);
          return decoder;
        }
        spare.close();
      }
      const workDir = await mkdtemp(join(tmpdir(), 'onair-decoder-'));
      decoder = new ParticipantDecoder(options, tracks, workDir, logger, clock);
      const sdpPath = join(workDir, 'in.sdp');
      await writeFile(sdpPath, buildSdp(media));
      await decoder.#start(options.ffmpegPath, participantDecoderArgs(sdpPath, video ? { width: video.width, height: video.height, fit: video.fit } : null, options.audio !== null));
      return decoder;
    } catch (error) {
      if (decoder) await decoder.close();
      else
        for (const t of tracks) {
          t.transport.close();
          releasePortPair(t.port);
        }
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** PCM sample frames whose media time is known (their ashowinfo line has been read). */
  get timedSamples(): number {
    return this.#audioLineSamples;
  }

  get videoPaused(): boolean {
    return this.#track('video')?.consumer.producerPaused ?? true;
  }

  get audioPaused(): boolean {
    return this.#track('audio')?.consumer.producerPaused ?? true;
  }

  /** Asks mediasoup for another simulcast layer of the camera, in place (same decoder, same size). */
  async setLayer(layer: number): Promise<void> {
    const track = this.#track('video');
    if (track && track.consumer.type === 'simulcast' && !track.consumer.closed) {
      await setLayer(track.consumer, this.#videoProducer, layer).catch(() => undefined);
    }
  }

  /** The picture to show for media time `mediaMs` (see `pickPicture`); null before the first picture. */
  pictureFor(mediaMs: number | null): QueuedPicture | null {
    return pickPicture(this.#queue, mediaMs);
  }

  /** As `pictureFor`, but none stamped before `floorMs` (see `pickPictureFrom`). */
  pictureFrom(mediaMs: number | null, floorMs: number): QueuedPicture | null {
    return pickPictureFrom(this.#queue, mediaMs, floorMs);
  }

  /** As `pictureFor`, but moving on from `prev` (the picture this decoder showed last) by at most a step (see `pickPicture`). */
  pictureAfter(mediaMs: number | null, prev: { n: number; ptsMs: number }, step: PictureStep): QueuedPicture | null {
    return pickPicture(this.#queue, mediaMs, prev, step);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = null;
    for (const t of this.#tracks) t.transport.close();
    const proc = this.#process;
    this.#process = null;
    await proc?.close({ graceMs: 500 });
    for (const fifo of this.#fifos) fifo.close();
    for (const t of this.#tracks) releasePortPair(t.port);
    await rm(this.#workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Asks the sender for a keyframe now (a resume, a new size). */
  requestKeyFrame(): void {
    this.#requestKeyFrames();
  }

  #track(kind: 'audio' | 'video'): Track | undefined {
    return this.#tracks.find((t) => t.kind === kind);
  }

  async #start(ffmpegPath: string, args: string[]): Promise<void> {
    const hasAudio = this.#track('audio') !== undefined;
    const hasVideo = this.#queue.length > 0;
    // Pictures are read straight into the queue and PCM into one reused buffer (no chunk per read).
    const video = hasVideo ? await this.#fifo('video', { target: () => this.#pictureTarget(), read: (n) => this.#onPictureBytes(n), logger: this.#logger }) : null;
    const audio = hasAudio ? await this.#fifo('audio', { target: () => this.#pcmTarget(), read: (n) => this.#onPcmBytes(n), logger: this.#logger }) : null;
    const proc = FfmpegProcess.spawn({
      ffmpegPath,
      args,
      logger: this.#logger,
      stdout: hasVideo && !video,
      ...(video?.writeFd != null ? { stdoutFd: video.writeFd } : {}),
      outputPipes: hasAudio ? 1 : 0,
      ...(audio?.writeFd != null ? { outputFds: [audio.writeFd] } : {}),
      onStderrLine: (line) => this.#onStderr(line),
    });
    video?.releaseWriteEnd();
    audio?.releaseWriteEnd();
    await this.#run(proc);
  }

  /** Takes over a spare's ffmpeg (its SDP is written): its outputs and stderr now come here. */
  async #adopt(spare: DecoderSpare): Promise<void> {
    this.#fifos.push(...spare.fifos);
    spare.sink = {
      pictureTarget: () => this.#pictureTarget(),
      pictureBytes: (n) => this.#onPictureBytes(n),
      pcmTarget: () => this.#pcmTarget(),
      pcmBytes: (n) => this.#onPcmBytes(n),
      stderr: (line) => this.#onStderr(line),
    };
    await this.#run(spare.proc);
  }

  async #run(proc: FfmpegProcess): Promise<void> {
    this.#process = proc;
    let exitError: Error | null = null;
    const ended = (error: Error): void => {
      exitError = error;
      if (!this.#closed) this.emit('ended', error);
    };
    proc.on('failed', ended);
    proc.on('died', ended);
    proc.stdout?.on('data', (chunk: Buffer) => this.#onVideo(chunk));
    proc.outputPipe(0)?.on('data', (chunk: Buffer) => this.#onAudio(chunk));
    // ffmpeg must be listening before RTP flows, or the first keyframe is lost.
    await waitForUdpPort(this.#tracks[this.#tracks.length - 1]?.port ?? 0, {
      timeoutMs: BIND_TIMEOUT_MS,
      fallbackMs: 300,
      stopped: () => exitError ?? (this.#closed ? new Error('decoder closed while starting') : null),
    });
    await Promise.all(this.#tracks.map((t) => t.consumer.resume()));
    this.resumedAt = performance.now();
    if (this.#queue.length > 0) {
      this.#requestKeyFrames();
      this.#keyframeTimer = setInterval(() => this.#requestKeyFrames(), KEYFRAME_REQUEST_MS);
    }
  }

  /**
   * ffmpeg lost packets (its socket overflowed while it was short of CPU, or the network dropped
   * them): the VP8 decoder then discards every picture until the next keyframe, which a browser sends
   * only when asked. Without asking, the tile held its last picture for seconds and then jumped
   * ahead by as much (3 s in the compositor e2e).
   */
  #afterLoss(): void {
    const now = this.#clock();
    if (now - this.#lossKeyframeAt < KEYFRAME_AFTER_LOSS_MS) return;
    this.#lossKeyframeAt = now;
    this.lossKeyframes += 1;
    this.#logger.debug({ lossKeyframes: this.lossKeyframes }, 'ffmpeg lost packets; asking for a keyframe');
    this.#requestKeyFrames();
  }

  #requestKeyFrames(): void {
    const video = this.#track('video');
    if (video && !video.consumer.closed) video.consumer.requestKeyFrame().catch(() => undefined);
  }

  /** A picture in the queue gets its media time (its showinfo line and its bytes have both come, in either order). */
  #stamp(q: QueuedPicture, ptsMs: number, now: number): void {
    q.ptsMs = ptsMs;
    this.playout.observe(ptsMs, now);
    this.pictureTransit.observe(ptsMs, now);
  }

  #onStderr(line: string): boolean {
    const info = parseShowinfo(line);
    if (!info) {
      if (this.#videoStamps > 0 && reportsLoss(line)) this.#afterLoss();
      return line.includes('showinfo_');
    }
    if (this.#closed) return true;
    const now = this.#clock();
    if (info.kind === 'video') {
      // The picture's index is counted here, not taken from showinfo's n: ffmpeg rebuilds its filter
      // graph when the camera's size changes (a simulcast layer switch, the browser scaling down under
      // load), and showinfo then counts from 0 again, which left every later picture unstamped.
      const index = this.#videoStamps;
      this.#videoStamps += 1;
      const i = index % PTS_RING;
      this.#ptsN[i] = index;
      this.#ptsMs[i] = info.ptsMs;
      const q = this.#queue.find((p) => p.n === index);
      if (q) {
        this.#stamp(q, info.ptsMs, now);
      }
      return true;
    }
    if (Number.isNaN(this.#audioNextMs) || Math.abs(info.ptsMs - this.#audioNextMs) > AUDIO_JUMP_MS) {
      this.audioTimeline.anchor(this.#audioLineSamples, info.ptsMs);
    }
    this.#audioLineSamples += info.samples;
    this.#audioNextMs = info.ptsMs + (info.samples * 1000) / SAMPLE_RATE;
    // Only what has come out of the pipe too is here; the other half is seen in #onAudio.
    if (this.#audioLineSamples <= this.samples) this.playout.observe(this.#audioNextMs, now);
    return true;
  }

  /** A FIFO for one of ffmpeg's outputs; null (read from an ordinary pipe) when none can be made. */
  async #fifo(name: string, options: FifoReadOptions): Promise<FifoReader | null> {
    try {
      const fifo = await FifoReader.open(join(this.#workDir, `${name}.fifo`), options);
      this.#fifos.push(fifo);
      return fifo;
    } catch (error) {
      this.#logger.debug({ err: error }, 'no FIFO; reading a pipe');
      return null;
    }
  }

  /** Where the next bytes of pictures go: the rest of the picture being filled. */
  #pictureTarget(): Buffer {
    const q = this.#queue[this.#filling]!;
    if (this.#filled === 0) {
      q.n = -1;
      q.ptsMs = NaN;
    }
    return q.picture.data.subarray(this.#filled);
  }

  #pcmTarget(): Buffer {
    this.#pcmBuffer ??= Buffer.allocUnsafe(PCM_READ_BYTES);
    return this.#pcmBuffer;
  }

  #onPcmBytes(n: number): void {
    if (this.#pcmBuffer) this.#onAudio(this.#pcmBuffer.subarray(0, n));
  }

  /** Pictures from an ordinary pipe (no FIFO): copied from each chunk. */
  #onVideo(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#closed) {
      const target = this.#pictureTarget();
      const n = Math.min(target.length, chunk.length - offset);
      chunk.copy(target, 0, offset, offset + n);
      offset += n;
      this.#onPictureBytes(n);
    }
  }

  /** `n` more bytes of the picture being filled have landed. */
  #onPictureBytes(n: number): void {
    if (this.#closed || this.#queue.length === 0) return;
    const q = this.#queue[this.#filling]!;
    this.#filled += n;
    if (this.#filled < pictureBytes(this.width, this.height)) return;
    this.#filled = 0;
    const index = this.pictures;
    this.pictures += 1;
    q.n = index;
    q.key = newContentKey();
    const i = index % PTS_RING;
    if (this.#ptsN[i] === index) {
      this.#stamp(q, this.#ptsMs[i]!, this.#clock());
    }
    this.#filling = (this.#filling + 1) % this.#queue.length;
    this.#markOutput();
    this.firstPictureAt ??= performance.now();
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = null;
    this.emit('frame');
  }

  #onAudio(chunk: Buffer): void {
    if (this.#closed) return;
    // Whole sample frames (4 bytes) counted; a split one is counted with the chunk that completes it.
    const before = this.samples;
    this.#audioBytes += chunk.length;
    this.samples = Math.floor(this.#audioBytes / (2 * CHANNELS));
    this.#markOutput();
    if (this.samples > before && this.samples <= this.#audioLineSamples) {
      const endMs = this.audioTimeline.mediaMs(this.samples);
      if (endMs !== null) this.playout.observe(endMs, this.#clock());
    }
    this.emit('pcm', chunk);
  }

  #markOutput(): void {
    this.outputs += 1;
    if (this.firstOutputAt !== null) return;
    this.firstOutputAt = performance.now();
    this.#process?.markReady();
  }

}

/** How far a tile's picture may move on per output frame: media time, and pictures while their stamps are not read yet. */
export interface PictureStep {
  maxMs: number;
  maxPictures: number;
}

/**
 * The picture to show for media time `mediaMs`: the newest one stamped at or before it (or, when
 * every queued picture is later, the oldest); pictures whose stamp is not known yet are taken only
 * when nothing else is queued; the newest when `mediaMs` is null.
 *
 * With `prev` (the picture shown last, from this queue) the choice never goes back to an older
 * picture (null: keep showing `prev`) and moves at most `step` past it: a decoder that lagged
 * (starved of CPU) and then delivers its backlog at once plays that backlog at up to `step` per
 * output frame (the newest picture within the step, else the next one after `prev`) instead of
 * jumping to the picture due, which was a jump cut of up to the lag.
 */
export function pickPicture(queue: readonly QueuedPicture[], mediaMs: number | null, prev?: { n: number; ptsMs: number }, step?: PictureStep): QueuedPicture | null {
  let due: QueuedPicture | null = null;
  let earliest: QueuedPicture | null = null;
  let newest: QueuedPicture | null = null;
  for (const q of queue) {
    if (q.n < 0) continue;
    if (!newest || q.n > newest.n) newest = q;
    if (Number.isNaN(q.ptsMs)) continue;
    if (mediaMs !== null && q.ptsMs <= mediaMs && (!due || q.ptsMs > due.ptsMs)) due = q;
    if (!earliest || q.ptsMs < earliest.ptsMs) earliest = q;
  }
  const pick = mediaMs === null ? newest : (due ?? earliest ?? newest);
  if (!pick || !prev || !step || prev.n < 0) return pick;
  if (pick.n <= prev.n) return null;
  const stamped = !Number.isNaN(prev.ptsMs) && !Number.isNaN(pick.ptsMs);
  if (stamped ? pick.ptsMs <= prev.ptsMs + step.maxMs : pick.n <= prev.n + step.maxPictures) return pick;
  // Never so far behind the newest that the decoder refills the slot on air before the next tick.
  const floor = (newest?.n ?? 0) - (queue.length - 3);
  let within: QueuedPicture | null = null;
  let next: QueuedPicture | null = null;
  for (const q of queue) {
    if (q.n <= prev.n || q.n < floor) continue;
    const inStep = stamped ? !Number.isNaN(q.ptsMs) && q.ptsMs <= prev.ptsMs + step.maxMs : q.n <= prev.n + step.maxPictures;
    if (inStep && (!within || q.n > within.n)) within = q;
    if (!next || q.n < next.n) next = q;
  }
  return within ?? next ?? pick;
}

/**
 * Whether an ffmpeg stderr line reports lost RTP or a picture it cannot decode for want of the
 * packets before it (rtpdec's reorder queue, the VP8 depacketizer and decoder, the H.264 decoder).
 */
export function reportsLoss(line: string): boolean {
  return (
    line.includes('RTP: missed') ||
    line.includes('jitter buffer full') ||
    line.includes('sequence broken') ||
    line.includes('without a prior keyframe') ||
    line.includes('error while decoding MB') ||
    line.includes('non-existing PPS')
  );
}

/**
 * The first picture of a decoder taking over a tile: the one due for `mediaMs` (see `pickPicture`)
 * unless it is stamped before `floorMs` (the picture on air, on this decoder's timeline), then the
 * oldest stamped at or after it; null when there is none yet (the picture on air stays).
 */
export function pickPictureFrom(queue: readonly QueuedPicture[], mediaMs: number | null, floorMs: number): QueuedPicture | null {
  const pick = pickPicture(queue, mediaMs);
  if (pick && pick.n >= 0 && pick.ptsMs >= floorMs) return pick;
  let first: QueuedPicture | null = null;
  for (const q of queue) {
    if (q.n >= 0 && q.ptsMs >= floorMs && (!first || q.ptsMs < first.ptsMs)) first = q;
  }
  return first;
}

async function setLayer(consumer: ms.Consumer, producer: ms.Producer | null, layer: number): Promise<void> {
  const layers = producer?.rtpParameters.encodings?.length ?? 1;
  const spatialLayer = Math.max(0, Math.min(layers - 1, layer));
  await consumer.setPreferredLayers({ spatialLayer, temporalLayer: 2 });
}

/** The decoder's video filter: scaled (cropped or letterboxed) to the tile, then showinfo for each picture's media time. */
export function decoderVideoFilter(video: { width: number; height: number; fit: 'fill' | 'fit' }): string {
  const size = `${video.width}:${video.height}`;
  const scale =
    video.fit === 'fill'
      ? `scale=${size}:force_original_aspect_ratio=increase:flags=bilinear,crop=${size}`
      : `scale=${size}:force_original_aspect_ratio=decrease:flags=bilinear,pad=${size}:(ow-iw)/2:(oh-ih)/2:color=black`;
  return `${scale},setsar=1,format=yuv420p,showinfo=checksum=0`;
}

/**
 * RTP in (one SDP: the video m-line, the audio m-line); raw yuv420p at the tile size on stdout and
 * s16le 48 kHz stereo on fd 3, flushed per packet; showinfo / ashowinfo print each picture's and
 * audio frame's media time (RTP timestamps through the sender reports) to stderr.
 * With `video.filterScript` the video filter is read from that file (a spare: ffmpeg reads it
 * once the SDP has come in, so it is written just before the SDP).
 */
export function participantDecoderArgs(sdpPath: string, video: { width: number; height: number; fit: 'fill' | 'fit' } | { filterScript: string } | null, audio: boolean): string[] {
  const input = [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats',
    '-protocol_whitelist', 'file,udp,rtp',
    // The SDP names the codecs; waiting to probe the size only delays the first picture (the scaler takes any size).
    '-analyzeduration', '0', '-probesize', '32', '-fflags', 'nobuffer',
    '-reorder_queue_size', '32', '-max_delay', '100000',
    '-buffer_size', '1048576',
    // One decoding thread: no frame-threading delay, and several small decoders share the cores better.
    '-threads', '1',
    '-f', 'sdp', '-i', sdpPath,
  ];
  const outputs: string[] = [];
  if (video) {
    outputs.push(
      '-map', '0:v:0', '-filter_threads', '1',
      ...('filterScript' in video ? ['-filter_script:v', video.filterScript] : ['-vf', decoderVideoFilter(video)]),
      '-fps_mode', 'passthrough', '-f', 'rawvideo', '-flush_packets', '1', 'pipe:1',
    );
  }
  if (audio) {
    outputs.push(
      '-map', '0:a:0',
      '-af', `aresample=${SAMPLE_RATE},aformat=sample_fmts=s16:channel_layouts=stereo,ashowinfo`,
      '-c:a', 'pcm_s16le', '-f', 's16le', '-flush_packets', '1', 'pipe:3',
    );
  }
  return [...input, ...outputs];
}

/** Where a spare's outputs go: nowhere until a decoder adopts it. */
interface SpareSink {
  pictureTarget: () => Buffer;
  pictureBytes: (n: number) => void;
  pcmTarget: () => Buffer;
  pcmBytes: (n: number) => void;
  stderr: (line: string) => boolean;
}

/**
 * A camera-and-microphone decoder's ffmpeg started ahead of need (a WarmPool's spare): linked,
 * initialised and blocked opening its SDP, which is a FIFO, with its picture and PCM FIFOs open.
 * A decoder adopts it by writing the filter script and then the SDP (ParticipantDecoder.create).
 */
export class DecoderSpare {
  readonly workDir: string;
  readonly sdpPath: string;
  readonly scriptPath: string;
  readonly proc: FfmpegProcess;
  readonly fifos: FifoReader[];
  sink: SpareSink | null = null;
  #closed = false;

  private constructor(workDir: string, proc: FfmpegProcess, fifos: FifoReader[]) {
    this.workDir = workDir;
    this.sdpPath = join(workDir, 'in.sdp');
    this.scriptPath = join(workDir, 'video.filter');
    this.proc = proc;
    this.fifos = fifos;
  }

  static async start(ffmpegPath: string, logger: Logger): Promise<DecoderSpare> {
    const workDir = await mkdtemp(join(tmpdir(), 'onair-decoder-'));
    const sdpPath = join(workDir, 'in.sdp');
    let spare: DecoderSpare | null = null;
    const fifos: FifoReader[] = [];
    try {
      // The SDP is a FIFO too: ffmpeg blocks opening it, after its start-up, until a decoder writes it.
      await makeFifo(sdpPath);
      const route = (): SpareSink | null => spare?.sink ?? null;
      const scratch = Buffer.allocUnsafe(4096);
      fifos.push(await FifoReader.open(join(workDir, 'video.fifo'), { target: () => route()?.pictureTarget() ?? scratch, read: (n) => route()?.pictureBytes(n), logger }));
      fifos.push(await FifoReader.open(join(workDir, 'audio.fifo'), { target: () => route()?.pcmTarget() ?? scratch, read: (n) => route()?.pcmBytes(n), logger }));
      const [video, audio] = fifos;
      const proc = FfmpegProcess.spawn({
        ffmpegPath,
        args: participantDecoderArgs(sdpPath, { filterScript: join(workDir, 'video.filter') }, true),
        logger,
        stdoutFd: video!.writeFd!,
        outputPipes: 1,
        outputFds: [audio!.writeFd!],
        onStderrLine: (line) => route()?.stderr(line) ?? false,
      });
      video!.releaseWriteEnd();
      audio!.releaseWriteEnd();
      spare = new DecoderSpare(workDir, proc, fifos);
      return spare;
    } catch (error) {
      for (const f of fifos) f.close();
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Still waiting for its SDP (not ended, not adopted). */
  get usable(): boolean {
    return !this.#closed && !this.proc.exited && this.sink === null;
  }

  /** Ends a spare nobody adopted. */
  close(): void {
    if (this.#closed || this.sink) return;
    this.#closed = true;
    void this.proc.close({ graceMs: 500 }).then(() => {
      for (const f of this.fifos) f.close();
      return rm(this.workDir, { recursive: true, force: true });
    }).catch(() => undefined);
  }
}
