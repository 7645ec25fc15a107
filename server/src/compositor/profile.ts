/**
 * The ingest profile every program is encoded to (what YouTube, Facebook, Twitch and LinkedIn
 * accept): 30 fps, H.264 High, a keyframe every 2 s, CBR, AAC-LC 48 kHz stereo.
 */
import type { ProgramKind, Resolution } from '@onair/shared';

export const OUTPUT_FPS = 30;
/** Keyframe every 2 s, as YouTube, Facebook and Twitch ask. */
export const KEYFRAME_SECONDS = 2;

/**
 * Video bitrate (kb/s) per output; the buffer is twice that (CBR-ish). 720p at 4000 kb/s sits inside every platform's published range for
 * 720p30 (YouTube 3000–8000, Facebook 1500–4000, Twitch 3000–6000; shared/src/presets.ts), so
 * the preflight passes for all of them (4500 failed Facebook's).
 */
export const VIDEO_KBPS: Record<Resolution, number> = { '720p': 4000, '1080p': 6000 };
export const AUDIO_KBPS = 128;

/**
 * The vertical program's x264 settings on top of `ultrafast`: the 8x8 transform and the deblocking
 * filter back on, so the stream is H.264 High like the 16:9 one (the 8x8 transform is what makes it
 * High; ffprobe reads High back). Its tiles are 9:16 cuts of the 16:9 pictures scaled up (about a
 * third of their pixels), which x264 codes well at the 720p bitrate with little analysis: in the
 * encoder study (bench/compositor.ts, vertical content) ultrafast with CABAC as well was 0.33–0.37×
 * the CPU of veryfast `me=dia` at +0.4 dB (heavy sensor noise) and +2.3 dB (light) PSNR, SSIM within
 * 0.005; leaving CABAC out (CAVLC, as plain ultrafast) takes 5–20 % less CPU again (four runs of
 * vertical content, -benchmark) for 0.09–0.26 dB and at most 0.0025 SSIM, inside the study's 0.3 dB
 * rule. On 16:9 camera content the same cheap presets lose 0.6–0.9 dB.
 */
export const VERTICAL_X264_PARAMS = '8x8dct=1:deblock=0,0';

/** Encoder settings: H.264 high@4.1 CBR-ish with a 2 s GOP, AAC-LC 48 kHz stereo 128k; the vertical program's x264 is cheaper (VERTICAL_X264_PARAMS). */
export function encoderArgs(resolution: Resolution, program: ProgramKind = 'landscape'): string[] {
  const kbps = VIDEO_KBPS[resolution];
  const gop = OUTPUT_FPS * KEYFRAME_SECONDS;
  // veryfast with diamond motion search: measured on a camera-like 2x2 720p program at 4.5 Mb/s,
  // 5–12 % less CPU than plain veryfast at the same PSNR (42.58 vs 42.56 dB); superfast or subme=1
  // were cheaper still but lost 0.6–0.8 dB.
  const x264 = program === 'vertical' ? ['-preset', 'ultrafast', '-x264-params', VERTICAL_X264_PARAMS] : ['-preset', 'veryfast', '-x264-params', 'me=dia'];
  return [
    '-c:v', 'libx264', ...x264, '-tune', 'zerolatency',
    '-profile:v', 'high', '-level:v', '4.1', '-pix_fmt', 'yuv420p',
    '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`,
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${KEYFRAME_SECONDS})`,
    '-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', `${AUDIO_KBPS}k`, '-ar', '48000', '-ac', '2',
  ];
}
