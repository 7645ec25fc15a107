/** Streaming platform presets for the destination form; the list itself lives in shared/. */
import { DESTINATION_PRESETS, presetFor, type DestinationPreset, type Platform, type ProgramKind } from '@onair/shared';

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

/** The programs a destination can take, as the form offers them. */
export const PROGRAM_KINDS: ReadonlyArray<{ value: ProgramKind; label: string }> = [
  { value: 'landscape', label: '16:9 (landscape)' },
  { value: 'vertical', label: '9:16 (vertical, for phones)' },
];

export function programLabel(program: ProgramKind): string {
  return program === 'vertical' ? '9:16 vertical' : '16:9';
}
