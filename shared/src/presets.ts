/** Streaming platforms a destination can be, with their default server URL and where to find the key. */
import type { Platform, ProgramKind, Resolution } from './broadcast.js';

export interface DestinationPreset {
  platform: Platform;
  label: string;
  /** Server URL to fill in, null when the platform gives one per stream. */
  defaultServerUrl: string | null;
  /** Where the person finds the server URL and stream key. */
  help: string;
  /** The program a new destination of this platform takes. */
  defaultProgram: ProgramKind;
  /** Whether the platform takes a vertical (9:16) live stream, and how; null when it does not. */
  vertical: string | null;
}

export const DESTINATION_PRESETS: readonly DestinationPreset[] = [
  {
    platform: 'youtube',
    label: 'YouTube (RTMP)',
    defaultServerUrl: 'rtmp://a.rtmp.youtube.com/live2',
    help: 'In YouTube Studio, open Go live → Stream, and copy the stream key. The server URL is filled in.',
    defaultProgram: 'landscape',
    vertical: 'YouTube takes a vertical live stream on the same ingest and shows it vertically on phones (Shorts feed): choose the vertical program.',
  },
  {
    platform: 'youtube_rtmps',
    label: 'YouTube (RTMPS, encrypted)',
    defaultServerUrl: 'rtmps://a.rtmps.youtube.com:443/live2',
    help: 'In YouTube Studio, open Go live → Stream, and copy the stream key. Same key as for RTMP; the connection is encrypted.',
    defaultProgram: 'landscape',
    vertical: 'YouTube takes a vertical live stream on the same ingest and shows it vertically on phones (Shorts feed): choose the vertical program.',
  },
  {
    platform: 'facebook',
    label: 'Facebook Live',
    defaultServerUrl: 'rtmps://live-api-s.facebook.com:443/rtmp/',
    help: 'In Facebook Live Producer, choose "Streaming software" and copy the stream key (it changes per live video unless you use a persistent key).',
    defaultProgram: 'landscape',
    vertical: null,
  },
  {
    platform: 'twitch',
    label: 'Twitch',
    defaultServerUrl: 'rtmp://live.twitch.tv/app',
    help: 'In the Twitch Creator Dashboard, open Settings → Stream and copy the primary stream key.',
    defaultProgram: 'landscape',
    vertical: null,
  },
  {
    platform: 'linkedin',
    label: 'LinkedIn Live',
    defaultServerUrl: null,
    help: 'In LinkedIn, create a live event with "External streaming tool", then paste the Stream URL and the Stream key it shows.',
    defaultProgram: 'landscape',
    vertical: null,
  },
  {
    platform: 'tiktok',
    label: 'TikTok LIVE (vertical)',
    defaultServerUrl: null,
    help: 'In TikTok LIVE Studio or LIVE Center, generate a stream key for "streaming software", then paste the Server URL and the Stream key it shows (both change per live).',
    defaultProgram: 'vertical',
    vertical: 'TikTok LIVE is watched on phones: it takes the vertical (9:16) program.',
  },
  {
    platform: 'instagram',
    label: 'Instagram Live (vertical)',
    defaultServerUrl: null,
    help: 'In Instagram (Live Producer on the web), start a live video with streaming software, then paste the Stream URL and the Stream key it shows (both change per live).',
    defaultProgram: 'vertical',
    vertical: 'Instagram Live is watched on phones: it takes the vertical (9:16) program.',
  },
  {
    platform: 'custom',
    label: 'Custom RTMP server',
    defaultServerUrl: null,
    help: 'Enter the rtmp:// or rtmps:// server URL and the stream key your server expects.',
    defaultProgram: 'landscape',
    vertical: 'Any server can take the vertical program instead of the 16:9 one.',
  },
];

export function presetFor(platform: Platform): DestinationPreset {
  const preset = DESTINATION_PRESETS.find((p) => p.platform === platform);
  if (!preset) throw new Error(`no preset for ${platform}`);
  return preset;
}

/** Video bitrate range (kb/s) a platform asks for at a resolution (30 fps). */
export interface BitrateRange {
  min: number;
  max: number;
}

/** What a platform's ingest is checked against by a destination's Test (preflight). */
export interface PlatformIngest {
  /** The platform's name in a rule, e.g. "YouTube". */
  name: string;
  /** Published video bitrate ranges per resolution at 30 fps; absent where the platform publishes none. */
  videoKbps?: Partial<Record<Resolution, BitrateRange>>;
}

/**
 * Sources: YouTube Help "Choose live encoder settings, bitrates, and resolutions" (720p and 1080p
 * at 30 fps: 3–8 Mbps); Meta's Live Video API reference (720p30 1,500–4,000 kb/s, 1080p30
 * 3,000–6,000 kb/s); Twitch's broadcast requirements (3–6 Mbps). LinkedIn publishes no range.
 */
export const PLATFORM_INGEST: Record<Platform, PlatformIngest> = {
  youtube: { name: 'YouTube', videoKbps: { '720p': { min: 3000, max: 8000 }, '1080p': { min: 3000, max: 8000 } } },
  youtube_rtmps: { name: 'YouTube', videoKbps: { '720p': { min: 3000, max: 8000 }, '1080p': { min: 3000, max: 8000 } } },
  facebook: { name: 'Facebook', videoKbps: { '720p': { min: 1500, max: 4000 }, '1080p': { min: 3000, max: 6000 } } },
  twitch: { name: 'Twitch', videoKbps: { '720p': { min: 3000, max: 6000 }, '1080p': { min: 3000, max: 6000 } } },
  linkedin: { name: 'LinkedIn' },
  tiktok: { name: 'TikTok' },
  instagram: { name: 'Instagram' },
  custom: { name: 'custom server' },
};
