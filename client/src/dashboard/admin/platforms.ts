/** Streaming platforms offered when adding a destination; mirrors the server's presets. */
import type { Platform } from '@onair/shared';

export interface PlatformChoice {
  platform: Platform;
  label: string;
  /** Server URL filled in when the platform is chosen; null when the platform gives one per stream. */
  defaultServerUrl: string | null;
  /** Where the person finds the URL and the key. */
  help: string;
}

export const PLATFORMS: readonly PlatformChoice[] = [
  {
    platform: 'youtube',
    label: 'YouTube (RTMP)',
    defaultServerUrl: 'rtmp://a.rtmp.youtube.com/live2',
    help: 'In YouTube Studio, open Go live → Stream and copy the stream key. The server URL is filled in.',
  },
  {
    platform: 'youtube_rtmps',
    label: 'YouTube (RTMPS, encrypted)',
    defaultServerUrl: 'rtmps://a.rtmps.youtube.com:443/live2',
    help: 'In YouTube Studio, open Go live → Stream and copy the stream key. Same key as for RTMP; the connection is encrypted.',
  },
  {
    platform: 'facebook',
    label: 'Facebook Live',
    defaultServerUrl: 'rtmps://live-api-s.facebook.com:443/rtmp/',
    help: 'In Facebook Live Producer choose "Streaming software" and copy the stream key (it changes per live video unless you use a persistent key).',
  },
  {
    platform: 'twitch',
    label: 'Twitch',
    defaultServerUrl: 'rtmp://live.twitch.tv/app',
    help: 'In the Twitch Creator Dashboard open Settings → Stream and copy the primary stream key.',
  },
  {
    platform: 'linkedin',
    label: 'LinkedIn Live',
    defaultServerUrl: null,
    help: 'In LinkedIn create a live event with "External streaming tool", then paste the Stream URL and the Stream key it shows.',
  },
  {
    platform: 'custom',
    label: 'Custom RTMP server',
    defaultServerUrl: null,
    help: 'Enter the rtmp:// or rtmps:// server URL and the stream key your server expects.',
  },
];

export function platformChoice(platform: Platform): PlatformChoice {
  const found = PLATFORMS.find((p) => p.platform === platform);
  if (!found) throw new Error(`no platform choice for ${platform}`);
  return found;
}

export function platformLabel(platform: Platform): string {
  return platformChoice(platform).label;
}

/** True for URLs that came from a preset (so switching platform may replace them). */
export function isPresetUrl(url: string): boolean {
  return PLATFORMS.some((p) => p.defaultServerUrl !== null && p.defaultServerUrl === url.trim());
}
