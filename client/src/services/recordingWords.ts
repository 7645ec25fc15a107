import type { BroadcastStatus } from '@onair/shared';

/** What a live broadcast records, for its status line: '', ', recording', ', recording 16:9 and 9:16', ', recording 9:16'. */
export function recordingWords(b: BroadcastStatus): string {
  if (!b.vertical.recording) return b.recording ? ', recording' : '';
  return b.recording ? ', recording 16:9 and 9:16' : ', recording 9:16';
}
