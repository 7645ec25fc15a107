/** Streaming platforms a destination can be, with their default server URL and where to find the key. */
import type { Platform, Resolution } from './broadcast.js';

export interface DestinationPreset {
  platform: Platform;
  label: string;
  /** Server URL to fill in, null when the platform gives one per stream. */
  defaultServerUrl: string | null;
  /** Where the person finds the server URL and stream key. */
  help: string;
}

export const DESTINATION_PRESETS: readonly DestinationPreset[] = [
  {
    platform: 'youtube',
    label: 'YouTube (RTMP)',
    defaultServerUrl: 'rtmp://a.rtmp.youtube.com/live2',
    help: 'In YouTube Studio, open Go live → Stream, and copy the stream key. The server URL is filled in.',
  },
  {
    platform: 'youtube_rtmps',
    label: 'YouTube (RTMPS, encrypted)',
    defaultServerUrl: 'rtmps://a.rtmps.youtube.com:443/live2',
    help: 'In YouTube Studio, open Go live → Stream, and copy the stream key. Same key as for RTMP; the connection is encrypted.',
  },
  {
    platform: 'facebook',
    label: 'Facebook Live',
    defaultServerUrl: 'rtmps://live-api-s.facebook.com:443/rtmp/',
    help: 'In Facebook Live Producer, choose "Streaming software" and copy the stream key (it changes per live video unless you use a persistent key).',
  },
  {
    platform: 'twitch',
    label: 'Twitch',
    defaultServerUrl: 'rtmp://live.twitch.tv/app',
    help: 'In the Twitch Creator Dashboard, open Settings → Stream and copy the primary stream key.',
  },
  {
    platform: 'linkedin',
    label: 'LinkedIn Live',
    defaultServerUrl: null,
    help: 'In LinkedIn, create a live event with "External streaming tool", then paste the Stream URL and the Stream key it shows.',
  },
  {
    platform: 'custom',
    label: 'Custom RTMP server',
    defaultServerUrl: null,
    help: 'Enter the rtmp:// or rtmps:// server URL and the stream key your server expects.',
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
  custom: { name: 'custom server' },
};
