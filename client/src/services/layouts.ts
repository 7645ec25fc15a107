import type { BroadcastLayout, ProgramKind, Resolution, VerticalLayout } from '@onair/shared';

/** The broadcast layouts people can choose, in the go-live panel and the webinar form. */
export const BROADCAST_LAYOUTS: ReadonlyArray<{ value: BroadcastLayout; label: string; description: string }> = [
  { value: 'auto', label: 'Automatic', description: 'a shared screen large when there is one, otherwise a grid' },
  { value: 'grid', label: 'Grid', description: 'everyone the same size' },
  { value: 'speaker', label: 'Active speaker', description: 'whoever speaks large, the others in a strip' },
  { value: 'screen', label: 'Screen share', description: 'the shared screen large, cameras in a strip' },
];

/** The vertical (9:16) program's layouts, for destinations that take it. */
export const VERTICAL_LAYOUTS: ReadonlyArray<{ value: VerticalLayout; label: string; description: string }> = [
  { value: 'auto', label: 'Automatic', description: 'speaker and screen stacked while a screen is shared, otherwise the speaker alone or everyone stacked' },
  { value: 'split', label: 'Speaker on top, screen below', description: 'the speaker in the top half, the shared screen (or the next person) below' },
  { value: 'stack', label: 'Stacked', description: 'everyone stacked, two columns from four people' },
  { value: 'single', label: 'Speaker only', description: 'whoever speaks, full frame' },
];

/** The vertical program's sizes, by the resolution name the API takes. */
export const VERTICAL_SIZES: ReadonlyArray<{ value: Resolution; label: string }> = [
  { value: '720p', label: '720x1280' },
  { value: '1080p', label: '1080x1920' },
];

/** Whether a broadcast (or a webinar) uses the vertical program: it is recorded, or a chosen destination takes it. */
export function usesVerticalProgram(recordVertical: boolean, chosenIds: readonly string[], destinations: ReadonlyArray<{ id: string; program: ProgramKind }>): boolean {
  return recordVertical || destinations.some((d) => d.program === 'vertical' && chosenIds.includes(d.id));
}
