/** Streaming platform presets for the destination form; the list itself lives in shared/. */
import { DESTINATION_PRESETS, presetFor, type DestinationPreset, type Platform } from '@onair/shared';

export type PlatformChoice = DestinationPreset;

export const PLATFORMS = DESTINATION_PRESETS;

export function platformChoice(platform: Platform): PlatformChoice {
  return presetFor(platform);
}

export function platformLabel(platform: Platform): string {
  return presetFor(platform).label;
}

/** True for URLs that came from a preset (so switching platform may replace them). */
export function isPresetUrl(url: string): boolean {
  return DESTINATION_PRESETS.some((p) => p.defaultServerUrl !== null && p.defaultServerUrl === url.trim());
}
