import type { BroadcastLayout } from '@onair/shared';

/** The broadcast layouts people can choose, in the go-live panel and the webinar form. */
export const BROADCAST_LAYOUTS: ReadonlyArray<{ value: BroadcastLayout; label: string; description: string }> = [
  { value: 'auto', label: 'Automatic', description: 'a shared screen large when there is one, otherwise a grid' },
  { value: 'grid', label: 'Grid', description: 'everyone the same size' },
  { value: 'speaker', label: 'Active speaker', description: 'whoever speaks large, the others in a strip' },
  { value: 'screen', label: 'Screen share', description: 'the shared screen large, cameras in a strip' },
];
