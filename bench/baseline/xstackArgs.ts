/**
 * The plain ffmpeg baseline the compositor benchmark measures against: every input decoded in
 * full, scaled into its tile, xstack, the same x264 settings (this was OnAir's restart-and-splice
 * composer before the persistent Program). Benchmarks only: nothing in server/ runs it.
 */
import type { Resolution } from '@onair/shared';
import { join } from 'node:path';
import { encoderArgs, OUTPUT_FPS } from '../../server/src/compositor/profile.js';
import { DEFAULT_FONT_FILE } from '../../server/src/compositor/Stills.js';

export { DEFAULT_FONT_FILE };
import type { Composition, Tile } from './plan.js';

const TILE_BACKGROUND = '0x1f2937';
const SLATE_BACKGROUND = '0x111827';

export interface FilterGraphOptions {
  /** null: draw no text at all. */
  fontFile: string | null;
  /** Directory for the text files drawtext reads (names and titles never go into the graph itself). */
  textDir: string;
}

export interface FilterGraph {
  graph: string;
  /** Files the caller must write before starting ffmpeg. */
  texts: Array<{ path: string; text: string }>;
}

const SAFE_PATH = /^[\w/.+-]+$/;

/**
 * The -filter_complex graph for a composition: every video input scaled into its tile (aspect
 * kept, padded), name tiles for participants without camera, stacked with xstack, `fps` right
 * after stacking, title and lower third on top; all audio inputs mixed (silence when none).
 * Composition input i is ffmpeg input i (one SDP each, stream 0). Outputs are labelled [vout] and [aout].
 */
export function buildFilterGraph(c: Composition, options: FilterGraphOptions): FilterGraph {
  if (options.fontFile !== null && !SAFE_PATH.test(options.fontFile)) throw new Error('font path has characters drawtext cannot take');
  if (!SAFE_PATH.test(options.textDir)) throw new Error('text directory has characters drawtext cannot take');
  const texts: FilterGraph['texts'] = [];
  const chains: string[] = [];
  const { width: W, height: H } = c.frame;
  const realtime = c.inputs.length === 0;

  const drawtext = (text: string, style: string): string => {
    if (options.fontFile === null) return '';
    const path = join(options.textDir, `text-${texts.length}.txt`);
    texts.push({ path, text });
    return `,drawtext=fontfile=${options.fontFile}:textfile=${path}:expansion=none:fontcolor=white:${style}`;
  };
  const tileLabel = (tile: Tile, text: string): string => {
    const size = Math.max(14, Math.round(tile.rect.h / 14));
    return drawtext(text, `fontsize=${size}:x=${Math.round(size * 0.6)}:y=h-th-${Math.round(size * 0.6)}:box=1:boxcolor=black@0.55:boxborderw=${Math.round(size / 3)}`);
  };

  let stacked: string;
  if (c.tiles.length === 0) {
    const size = Math.round(H / 12);
    chains.push(
      `color=c=${SLATE_BACKGROUND}:s=${W}x${H}:r=${OUTPUT_FPS}${realtime ? ',realtime' : ''}` +
        `${c.slate ? drawtext(c.slate, `fontsize=${size}:x=(w-tw)/2:y=(h-th)/2`) : ''}[stacked]`,
    );
    stacked = '[stacked]';
  } else {
    c.tiles.forEach((tile, i) => {
      const { w, h } = tile.rect;
      if (tile.content.kind === 'video') {
        chains.push(
          `[${tile.content.input}:0]scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
            `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1` +
            `${tile.content.label ? tileLabel(tile, tile.content.label) : ''}[t${i}]`,
        );
      } else {
        const size = Math.max(16, Math.round(h / 9));
        chains.push(
          `color=c=${TILE_BACKGROUND}:s=${w}x${h}:r=${OUTPUT_FPS},setsar=1` +
            `${drawtext(tile.content.label, `fontsize=${size}:x=(w-tw)/2:y=(h-th)/2`)}[t${i}]`,
        );
      }
    });
    if (c.tiles.length === 1) {
      stacked = '[t0]';
    } else {
      const inputs = c.tiles.map((_, i) => `[t${i}]`).join('');
      const positions = c.tiles.map((t) => `${t.rect.x}_${t.rect.y}`).join('|');
      const right = Math.max(...c.tiles.map((t) => t.rect.x + t.rect.w));
      const bottom = Math.max(...c.tiles.map((t) => t.rect.y + t.rect.h));
      const pad = right < W || bottom < H ? `,pad=${W}:${H}:0:0:color=black` : '';
      chains.push(`${inputs}xstack=inputs=${c.tiles.length}:layout=${positions}:fill=black${pad}[stacked]`);
      stacked = '[stacked]';
    }
  }

  let overlay = '';
  if (c.title) {
    const size = Math.round(H / 20);
    overlay += drawtext(c.title, `fontsize=${size}:x=${size}:y=${Math.round(size * 0.8)}:box=1:boxcolor=black@0.5:boxborderw=${Math.round(size / 3)}`);
  }
  if (c.lowerThird) {
    const size = Math.round(H / 24);
    const bottom = c.layout === 'grid' || c.tiles.length <= 1 ? Math.round(H / 10) : Math.round(H / 4 + size);
    overlay += drawtext(c.lowerThird, `fontsize=${size}:x=${size}:y=h-${bottom}-th:box=1:boxcolor=0x1d4ed8@0.85:boxborderw=${Math.round(size / 2)}`);
  }
  chains.push(`${stacked}fps=${OUTPUT_FPS}${overlay},format=yuv420p[vout]`);

  const audioFormat = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo';
  if (c.audio.length === 0) {
    chains.push(`anullsrc=r=48000:cl=stereo${realtime ? ',arealtime' : ''},${audioFormat}[aout]`);
  } else if (c.audio.length === 1) {
    chains.push(`[${c.audio[0]}:0]aresample=48000:async=1000,${audioFormat}[aout]`);
  } else {
    c.audio.forEach((input, k) => chains.push(`[${input}:0]aresample=48000:async=1000,${audioFormat}[a${k}]`));
    const inputs = c.audio.map((_, k) => `[a${k}]`).join('');
    chains.push(`${inputs}amix=inputs=${c.audio.length}:normalize=0:dropout_transition=0,${audioFormat}[aout]`);
  }
  return { graph: chains.join(';'), texts };
}

export interface ComposerArgsOptions {
  /** One SDP file per RTP input (one m-line each), in the composition's input order; empty when it has none. */
  sdpPaths: string[];
  filterGraph: string;
  resolution: Resolution;
}

/**
 * Packets each input's demuxer thread may queue ahead of the main thread (ffmpeg's default is 8):
 * about 30 s of video frames, so a main thread that falls behind delays the picture instead of
 * making the kernel drop RTP.
 */
export const INPUT_THREAD_QUEUE = 1024;

/**
 * The composer's full command line: RTP in, composed FLV out on stdout.
 *
 * Every m-line is its own input: ffmpeg 5.1 reads a single input on its main thread, the one that
 * also runs the whole filter graph (nine swscale downscales of 1280x720) and the audio encoder.
 * With nine 720p cameras in one SDP that thread needs about a core; once it falls behind it stops
 * draining the RTP sockets, they overflow ("RTP: missed N packets", "jitter buffer full"), broken
 * VP8 pictures wait for the next keyframe and xstack waits for every tile: the output stalls.
 * Separate inputs each get a demuxer thread (with `-thread_queue_size`) that keeps reading.
 * `-analyzeduration 0 -probesize 32`, as the program's decoders: inputs are opened one after
 * another, and the first decoded picture gives the size.
 */
export function buildComposerArgs(options: ComposerArgsOptions): string[] {
  const inputs = options.sdpPaths.flatMap((sdpPath) => [
    '-protocol_whitelist', 'file,udp,rtp',
    '-use_wallclock_as_timestamps', '1',
    '-analyzeduration', '0', '-probesize', '32',
    '-reorder_queue_size', '64',
    // Larger socket buffers ride out short scheduling hiccups without losing RTP packets.
    '-buffer_size', '2097152',
    '-thread_queue_size', String(INPUT_THREAD_QUEUE),
    '-f', 'sdp', '-i', sdpPath,
  ]);
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats',
    ...inputs,
    '-filter_complex', options.filterGraph,
    '-map', '[vout]', '-map', '[aout]',
    ...encoderArgs(options.resolution),
    '-f', 'flv', '-flvflags', 'no_duration_filesize+no_sequence_end', 'pipe:1',
  ];
}
