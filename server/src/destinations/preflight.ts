/**
 * What a destination's Test actually sent, read back from the FLV tags the publisher wrote (the
 * AVC and AAC sequence headers, the frames' timestamps and sizes), and the ingest rules a platform
 * applies, checked against those measurements rather than against the encoder's settings.
 */
import { PLATFORM_INGEST, type Platform, type PreflightRule, type Resolution } from '@onair/shared';
import { isAacSequenceHeader, isAvcSequenceHeader, isVideoKeyframe, TAG_AUDIO, TAG_VIDEO, type FlvTag } from '../flv/flv.js';
import { FRAME_SIZES } from '../compositor/layout.js';
import { KEYFRAME_SECONDS, OUTPUT_FPS } from '../compositor/profile.js';

export interface AvcConfig {
  profileIdc: number;
  /** e.g. 'High', 'Main', 'Constrained Baseline'. */
  profile: string;
  /** level_idc / 10, e.g. 4.1. */
  level: number;
  width: number;
  height: number;
}

export interface AacConfig {
  objectType: number;
  /** e.g. 'AAC-LC'. */
  profile: string;
  sampleRate: number;
  channels: number;
}

export interface StreamMeasurements {
  /** The AVC sequence header sent, null if none was (or the video is not H.264). */
  avc: AvcConfig | null;
  /** The AAC sequence header sent, null if none was (or the audio is not AAC). */
  aac: AacConfig | null;
  /** Video frames sent. */
  frames: number;
  /** Timestamps (ms) of the keyframes sent. */
  keyframeTimes: number[];
  /** Frames per second from the frames' timestamps; 0 with fewer than two frames. */
  fps: number;
  /**
   * Video bitrate (kb/s) from the frames' sizes and timestamps, from the second keyframe on when
   * there is one (the first GOP fills the encoder's buffer; platforms measure a running stream).
   */
  videoKbps: number;
  /** Media time sent, first to last video frame (ms). */
  durationMs: number;
}

// ---- H.264 -------------------------------------------------------------------------------------

const PROFILE_NAMES: Record<number, string> = { 66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High', 110: 'High 10', 122: 'High 4:2:2', 244: 'High 4:4:4' };
/** profile_idc values whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Reads bits and Exp-Golomb codes from an RBSP (emulation prevention bytes already removed). */
class BitReader {
  #offset = 0;
  constructor(private readonly buf: Buffer) {}
  bit(): number {
    const byte = this.buf[this.#offset >> 3];
    if (byte === undefined) throw new Error('SPS cut short');
    const value = (byte >> (7 - (this.#offset & 7))) & 1;
    this.#offset += 1;
    return value;
  }
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i += 1) value = value * 2 + this.bit();
    return value;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      zeros += 1;
      if (zeros > 31) throw new Error('bad Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

function unescapeRbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i += 1) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0 && out[out.length - 1] === 0 && out[out.length - 2] === 0) continue;
    out.push(nal[i] ?? 0);
  }
  return Buffer.from(out);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j += 1) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Profile, level and picture size from an H.264 sequence parameter set NAL unit (header byte included). */
export function parseSps(nal: Buffer): AvcConfig {
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.bits(8);
  const constraints = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.bit();
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {
      for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i += 1) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue();
  } else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i += 1) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit(); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.bit()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  const cropX = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
  const cropY = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const baseline = profileIdc === 66 && (constraints & 0x40) !== 0 ? 'Constrained Baseline' : null;
  return {
    profileIdc,
    profile: baseline ?? PROFILE_NAMES[profileIdc] ?? `profile ${profileIdc}`,
    level: levelIdc / 10,
    width: widthMbs * 16 - cropX * (crop.left + crop.right),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop.top + crop.bottom),
  };
}

/** The first SPS of an FLV AVC sequence header tag's data (AVCDecoderConfigurationRecord after 5 bytes). */
export function parseAvcSequenceHeader(data: Buffer): AvcConfig | null {
  if (data.length < 16 || ((data[0] ?? 0) & 0x0f) !== 7 || data[1] !== 0) return null;
  const spsCount = (data[10] ?? 0) & 0x1f;
  if (spsCount === 0) return null;
  const length = data.readUInt16BE(11);
  const sps = data.subarray(13, 13 + length);
  if (sps.length < length) return null;
  return parseSps(sps);
}

// ---- AAC ---------------------------------------------------------------------------------------

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_OBJECTS: Record<number, string> = { 1: 'AAC Main', 2: 'AAC-LC', 3: 'AAC SSR', 4: 'AAC LTP', 5: 'HE-AAC', 29: 'HE-AAC v2' };

/** Object type, sample rate and channels from an FLV AAC sequence header tag's data (AudioSpecificConfig after 2 bytes). */
export function parseAacSequenceHeader(data: Buffer): AacConfig | null {
  if (data.length < 4 || (data[0] ?? 0) >> 4 !== 10 || data[1] !== 0) return null;
  const a = data[2] ?? 0;
  const b = data[3] ?? 0;
  const objectType = a >> 3;
  const rateIndex = ((a & 7) << 1) | (b >> 7);
  let sampleRate = AAC_RATES[rateIndex] ?? 0;
  let channels = (b >> 3) & 0x0f;
  if (rateIndex === 15 && data.length >= 7) {
    // An explicit 24-bit rate follows the index; the channel configuration comes after it.
    const bits = ((b & 0x7f) << 17) | ((data[4] ?? 0) << 9) | ((data[5] ?? 0) << 1) | ((data[6] ?? 0) >> 7);
    sampleRate = bits;
    channels = ((data[6] ?? 0) >> 3) & 0x0f;
  }
  return { objectType, profile: AAC_OBJECTS[objectType] ?? `AAC object type ${objectType}`, sampleRate, channels };
}

// ---- measuring a stream ------------------------------------------------------------------------

/** Collects the measurements of a stream tag by tag (what the publisher sent, with its timestamps). */
export class StreamInspector {
  #avc: AvcConfig | null = null;
  #aac: AacConfig | null = null;
  #frames: Array<{ timestamp: number; bytes: number; key: boolean }> = [];
  #avcError = false;

  add(tag: FlvTag): void {
    if (tag.type === TAG_VIDEO) {
      if (isAvcSequenceHeader(tag)) {
        try {
          this.#avc = parseAvcSequenceHeader(tag.data);
        } catch {
          this.#avcError = true;
        }
        return;
      }
      if (tag.data.length > 1 && ((tag.data[0] ?? 0) & 0x0f) === 7 && tag.data[1] !== 1) return; // end of sequence
      this.#frames.push({ timestamp: tag.timestamp, bytes: tag.data.length, key: isVideoKeyframe(tag) });
    } else if (tag.type === TAG_AUDIO && isAacSequenceHeader(tag)) {
      this.#aac = parseAacSequenceHeader(tag.data);
    }
  }

  /** Whether any media was sent at all. */
  get sentMedia(): boolean {
    return this.#frames.length > 0;
  }

  measurements(): StreamMeasurements {
    const frames = this.#frames;
    const first = frames[0];
    const last = frames[frames.length - 1];
    const spanMs = first && last ? last.timestamp - first.timestamp : 0;
    const fps = frames.length > 1 && spanMs > 0 ? (frames.length - 1) / (spanMs / 1000) : 0;
    const keyframeTimes = frames.filter((f) => f.key).map((f) => f.timestamp);
    const from = keyframeTimes.length > 1 ? (keyframeTimes[1] ?? 0) : (first?.timestamp ?? 0);
    const steady = frames.filter((f) => f.timestamp >= from);
    const steadyFrames = steady.length;
    const seconds = fps > 0 ? steadyFrames / fps : 0;
    const videoKbps = seconds > 0 ? (steady.reduce((sum, f) => sum + f.bytes, 0) * 8) / 1000 / seconds : 0;
    return {
      avc: this.#avcError ? null : this.#avc,
      aac: this.#aac,
      frames: frames.length,
      keyframeTimes,
      fps: Math.round(fps * 100) / 100,
      videoKbps: Math.round(videoKbps),
      durationMs: spanMs,
    };
  }
}

// ---- the rules ---------------------------------------------------------------------------------

/** x264's rate control lands within a few percent of its target over a few seconds; platforms average over longer. */
const BITRATE_TOLERANCE = 0.05;
const KEYFRAME_TOLERANCE_MS = 100;
const FPS_TOLERANCE = 1;

export interface PreflightTarget {
  platform: Platform;
  resolution: Resolution;
  /** Null when the server took the stream to the end, else why not (plain words). */
  failure: string | null;
  /** host[:port] of the server, for the words. */
  host: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * The checks a platform's ingest applies, each measured from what was sent: profile and level,
 * picture size and frame rate, keyframe interval, video bitrate for the resolution (where the
 * platform publishes a range), audio format, and whether the server took the stream. A rule that
 * could not be measured because nothing was sent has ok = null.
 */
export function preflightRules(m: StreamMeasurements, target: PreflightTarget): PreflightRule[] {
  const rules: PreflightRule[] = [];
  const nothingSent = m.frames === 0;
  const notChecked = (rule: string): PreflightRule => ({ rule, ok: null, detail: 'Not checked: no media was sent.' });
  const ingest = PLATFORM_INGEST[target.platform];
  const { width, height } = FRAME_SIZES[target.resolution];

  const profileRule = 'H.264 High profile, level 4.1 or lower';
  if (nothingSent) rules.push(notChecked(profileRule));
  else if (!m.avc) rules.push({ rule: profileRule, ok: false, detail: 'No H.264 sequence header was sent.' });
  else {
    const ok = m.avc.profileIdc === 100 && m.avc.level <= 4.1;
    rules.push({ rule: profileRule, ok, detail: `Sent H.264 ${m.avc.profile}, level ${m.avc.level.toFixed(1)}.` });
  }

  const sizeRule = `${width}x${height} at ${OUTPUT_FPS} fps`;
  if (nothingSent) rules.push(notChecked(sizeRule));
  else {
    const size = m.avc ? `${m.avc.width}x${m.avc.height}` : 'an unknown size';
    const ok = m.avc !== null && m.avc.width === width && m.avc.height === height && Math.abs(m.fps - OUTPUT_FPS) <= FPS_TOLERANCE;
    rules.push({ rule: sizeRule, ok, detail: `Sent ${size} at ${m.fps.toFixed(1)} fps (${m.frames} frames).` });
  }

  const gopRule = `keyframe every ${KEYFRAME_SECONDS} s`;
  if (nothingSent) rules.push(notChecked(gopRule));
  else if (m.keyframeTimes.length < 2) {
    rules.push({ rule: gopRule, ok: false, detail: `Only ${m.keyframeTimes.length} keyframe in ${seconds(m.durationMs)}; a keyframe interval needs two.` });
  } else {
    const gaps = m.keyframeTimes.slice(1).map((t, i) => t - (m.keyframeTimes[i] ?? t));
    const ok = gaps.every((g) => Math.abs(g - KEYFRAME_SECONDS * 1000) <= KEYFRAME_TOLERANCE_MS);
    rules.push({ rule: gopRule, ok, detail: `Keyframes ${gaps.map((g) => seconds(g)).join(', ')} apart.` });
  }

  const range = ingest.videoKbps?.[target.resolution];
  if (range) {
    const rule = `video bitrate ${range.min}–${range.max} kb/s for ${target.resolution}${OUTPUT_FPS} (${ingest.name})`;
    if (nothingSent) rules.push(notChecked(rule));
    else {
      const ok = m.videoKbps >= range.min * (1 - BITRATE_TOLERANCE) && m.videoKbps <= range.max * (1 + BITRATE_TOLERANCE);
      rules.push({ rule, ok, detail: `Sent ${m.videoKbps} kb/s.` });
    }
  }

  const audioRule = 'AAC-LC, 48 kHz, stereo';
  if (nothingSent) rules.push(notChecked(audioRule));
  else if (!m.aac) rules.push({ rule: audioRule, ok: false, detail: 'No AAC sequence header was sent.' });
  else {
    const ok = m.aac.objectType === 2 && m.aac.sampleRate === 48000 && m.aac.channels === 2;
    const layout = m.aac.channels === 1 ? 'mono' : m.aac.channels === 2 ? 'stereo' : `${m.aac.channels} channels`;
    rules.push({ rule: audioRule, ok, detail: `Sent ${m.aac.profile}, ${m.aac.sampleRate / 1000} kHz, ${layout}.` });
  }

  rules.push(
    target.failure === null
      ? { rule: 'server accepted the stream', ok: true, detail: `${target.host} took the whole ${seconds(m.durationMs)} test stream.` }
      : { rule: 'server accepted the stream', ok: false, detail: target.failure },
  );
  return rules;
}
