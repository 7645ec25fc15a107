/** Streaming platforms a destination can be, with their default server URL and where to find the key. */
import type { Platform } from './broadcast.js';

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
