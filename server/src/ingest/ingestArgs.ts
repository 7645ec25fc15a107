/**
 * ffmpeg arguments of an outside source: whatever input the source gives (an FLV byte stream on
 * stdin for RTMP, an `rtsp://` pull for a camera) → H.264 passed through or VP8, and Opus, as RTP
 * to the room's PlainTransports on 127.0.0.1.
 */

/** How the source's video reaches the room: H.264 copied as it is, or re-encoded to VP8. */
export type VideoHandling = 'passthrough' | 'transcode';

/** Where one RTP stream goes: a PlainTransport's ports and the payload type and SSRC its producer was declared with. */
export interface RtpTarget {
  port: number;
  rtcpPort: number;
  payloadType: number;
  ssrc: number;
}

export interface IngestArgsInput {
  /** The input part (`-i …` and its options), free of secrets; it comes after the low-latency input flags. */
  inputArgs: readonly string[];
  video: { handling: VideoHandling; target: RtpTarget } | null;
  audio: { target: RtpTarget } | null;
  /** Transcoded frame rate and keyframe interval: one keyframe a second. Default 30. */
  fps?: number;
  /** Transcoded video bitrate in kb/s. Default 2500. */
  videoKbps?: number;
}

/** Below the smallest path MTU between two hosts; mediasoup forwards packets as they are. */
const RTP_PACKET_SIZE = 1200;

/**
 * Low-latency input flags: no demuxer buffering, a short probe (a 500 kB / 0.5 s look at an FLV
 * stream finds its video and audio), and timestamps generated where the source has holes.
 */
export const LOW_LATENCY_INPUT = ['-fflags', '+nobuffer+genpts', '-flags', 'low_delay', '-probesize', '500000', '-analyzeduration', '500000'];

function rtpOutput(target: RtpTarget): string[] {
  return [
    '-payload_type', String(target.payloadType),
    '-ssrc', String(target.ssrc),
    '-f', 'rtp',
    `rtp://127.0.0.1:${target.port}?rtcpport=${target.rtcpPort}&pkt_size=${RTP_PACKET_SIZE}`,
  ];
}

/** The whole ffmpeg command line (without the binary) for one outside source. */
export function buildIngestArgs(input: IngestArgsInput): string[] {
  const fps = input.fps ?? 30;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...LOW_LATENCY_INPUT, ...input.inputArgs];
  if (input.video) {
    args.push('-map', '0:v:0');
    if (input.video.handling === 'passthrough') {
      // SPS/PPS in front of every keyframe: a browser (or the compositor) that starts mid-stream can decode from the next keyframe.
      args.push('-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb');
    } else {
      const kbps = input.videoKbps ?? 2500;
      args.push(
        '-vf', `scale=w='min(1280,iw)':h=-2,fps=${fps}`,
        '-pix_fmt', 'yuv420p',
        '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-threads', '2',
        '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 2)}k`,
        '-g', String(fps), '-keyint_min', String(fps), '-auto-alt-ref', '0', '-lag-in-frames', '0', '-error-resilient', '1',
      );
    }
    args.push(...rtpOutput(input.video.target));
  }
  if (input.audio) {
    args.push(
      '-map', '0:a:0',
      '-c:a', 'libopus', '-application', 'lowdelay', '-frame_duration', '20', '-ar', '48000', '-ac', '2', '-b:a', '96k',
      ...rtpOutput(input.audio.target),
    );
  }
  return args;
}
