import type { SceneParticipant, SourceWant } from './scene.js';

/** What one participant decoder delivers: a camera (or a screen share) and/or a microphone. */
export interface ParticipantWant {
  /** `peerId` for a camera and microphone, `peerId/screen` for a screen share. */
  key: string;
  video: SourceWant | null;
  audio: SourceWant | null;
}

/**
 * Groups the scene's decoders by participant: a person's camera and microphone go to one decoder
 * (one SDP session, so ffmpeg lines them up through their sender reports); a screen share has its
 * own. A producer no participant claims is decoded alone.
 */
export function groupWants(wants: Map<string, SourceWant>, participants: SceneParticipant[]): Map<string, ParticipantWant> {
  const groups = new Map<string, ParticipantWant>();
  const claimed = new Set<string>();
  const take = (id: string | undefined): SourceWant | null => {
    const want = id ? wants.get(id) : undefined;
    if (!want || claimed.has(want.producerId)) return null;
    claimed.add(want.producerId);
    return want;
  };
  for (const p of participants) {
    const video = take(p.camera?.producerId);
    const audio = take(p.mic?.producerId);
    if (video || audio) groups.set(p.peerId, { key: p.peerId, video, audio });
    const screen = take(p.screen?.producerId);
    if (screen) groups.set(`${p.peerId}/screen`, { key: `${p.peerId}/screen`, video: screen, audio: null });
  }
  for (const want of wants.values()) {
    if (claimed.has(want.producerId)) continue;
    groups.set(want.producerId, { key: want.producerId, video: want.kind === 'video' ? want : null, audio: want.kind === 'audio' ? want : null });
  }
  return groups;
}

export interface ParticipantDiff {
  add: ParticipantWant[];
  remove: string[];
  /** Another producer or another picture size: a new decoder takes over once it has a picture. */
  restart: ParticipantWant[];
  /** Only the simulcast layer changed: asked of the running decoder, in place. */
  relayer: ParticipantWant[];
}

const sameProducers = (a: ParticipantWant, b: ParticipantWant): boolean =>
  a.video?.producerId === b.video?.producerId && a.audio?.producerId === b.audio?.producerId && a.video?.fit === b.video?.fit;

/** What changes between two scenes' participant decoders; the ones that keep producers and size are not touched. */
export function diffParticipants(before: Map<string, ParticipantWant>, after: Map<string, ParticipantWant>): ParticipantDiff {
  const diff: ParticipantDiff = { add: [], remove: [], restart: [], relayer: [] };
  for (const [key, want] of after) {
    const prev = before.get(key);
    if (!prev) diff.add.push(want);
    else if (!sameProducers(prev, want) || prev.video?.width !== want.video?.width || prev.video?.height !== want.video?.height) diff.restart.push(want);
    else if (prev.video?.layer !== want.video?.layer) diff.relayer.push(want);
  }
  for (const key of before.keys()) if (!after.has(key)) diff.remove.push(key);
  return diff;
}
