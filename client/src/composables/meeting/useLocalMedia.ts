/**
 * This person's camera, microphone and screen share: the tracks, what they want on or off (applied
 * again after a reconnect), and their producers. One table describes the three sources, so
 * producing and toggling are one `produce(source)` and one `toggle(source)`.
 */
import { markRaw, ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import type { Device, Producer, RtpCodecCapability, Transport } from 'mediasoup-client/types';
import type { MediaSource as SourceName, RequestData } from '@onair/shared';
import { isCodedError, mediaErrorWords } from '../../services/errors';
import { audioConstraints, videoConstraints } from '../useDevices';

/** Simulcast layers for the camera: 320x180, 640x360, 1280x720 from a 720p capture. */
export const CAMERA_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];
/** Screen share is one VP8 layer; text needs resolution more than frame rate. */
export const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];

interface SourceSpec {
  kind: 'audio' | 'video';
  codec: string;
  /** Words for "your … couldn't be sent". */
  label: string;
  /** Mic and camera are paused when off (the producer stays); a screen share is closed. */
  pausable: boolean;
  produceOptions: () => { encodings?: RTCRtpEncodingParameters[]; codecOptions?: Record<string, unknown> };
}

export const SOURCES: Readonly<Record<SourceName, SourceSpec>> = {
  mic: { kind: 'audio', codec: 'audio/opus', label: 'microphone', pausable: true, produceOptions: () => ({ codecOptions: { opusDtx: true, opusFec: true } }) },
  camera: {
    kind: 'video',
    codec: 'video/vp8',
    label: 'camera',
    pausable: true,
    produceOptions: () => ({ encodings: CAMERA_ENCODINGS.map((e) => ({ ...e })), codecOptions: { videoGoogleStartBitrate: 1000 } }),
  },
  screen: { kind: 'video', codec: 'video/vp8', label: 'screen', pausable: false, produceOptions: () => ({ encodings: SCREEN_ENCODINGS.map((e) => ({ ...e })) }) },
};
const ALL_SOURCES = Object.keys(SOURCES) as SourceName[];

export type ProducerRequest = 'pauseProducer' | 'resumeProducer' | 'closeProducer';

/** What local media needs from the meeting around it. */
export interface LocalMediaDeps {
  device: () => Device | null;
  sendTransport: () => Transport | null;
  /** True while a session is set up and media can be sent now. */
  joined: () => boolean;
  /** True while joined or reconnecting: toggles are accepted (and applied on reconnect). */
  inMeeting: () => boolean;
  /** The current session's abort signal (null between sessions). */
  sessionSignal: () => AbortSignal | null;
  /**
   * Tells the server while joined; failures are logged, not shown (the wanted state is applied
   * again on reconnect). `duringSetup` sends on the session being set up too (a producer created
   * paused while joining).
   */
  request: <T extends ProducerRequest>(type: T, data: RequestData<T>, duringSetup?: boolean) => Promise<void>;
  /** Device ids chosen on the join page. */
  deviceIds: () => { cameraId?: string; microphoneId?: string };
  notice: Ref<string | null>;
  /** getDisplayMedia, replaceable by tests. */
  getDisplayMedia?: (constraints: DisplayMediaStreamOptions) => Promise<MediaStream>;
  getUserMedia?: (constraints: MediaStreamConstraints) => Promise<MediaStream>;
}

function usable(t: MediaStreamTrack | null): t is MediaStreamTrack {
  return t !== null && t.readyState === 'live';
}

function findCodec(device: Device, mimeType: string): RtpCodecCapability | undefined {
  return device.sendRtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === mimeType);
}

export function useLocalMedia(deps: LocalMediaDeps) {
  /** What the person wants on. */
  const wanted: Record<SourceName, Ref<boolean>> = { mic: ref(false), camera: ref(false), screen: ref(false) };
  const tracks: Record<SourceName, ShallowRef<MediaStreamTrack | null>> = { mic: shallowRef(null), camera: shallowRef(null), screen: shallowRef(null) };
  const producers: Record<SourceName, ShallowRef<Producer | null>> = { mic: shallowRef(null), camera: shallowRef(null), screen: shallowRef(null) };

  /** Starts from the join page's preview tracks (the meeting owns and stops them from now on). */
  function adopt(audio: MediaStreamTrack | null, video: MediaStreamTrack | null): void {
    tracks.mic.value = audio;
    tracks.camera.value = video;
    wanted.mic.value = usable(audio);
    wanted.camera.value = usable(video);
    wanted.screen.value = false;
  }

  async function pause(producer: Producer): Promise<void> {
    if (!producer.paused) producer.pause();
    await deps.request('pauseProducer', { producerId: producer.id }, true);
  }

  /** Sends one source's track if there is one and it is not sent yet. */
  async function produce(source: SourceName, signal: AbortSignal): Promise<void> {
    const spec = SOURCES[source];
    const transport = deps.sendTransport();
    const device = deps.device();
    const track = tracks[source].value;
    if (!transport || !device || !usable(track) || producers[source].value || !device.canProduce(spec.kind)) return;
    if (spec.pausable) track.enabled = wanted[source].value;
    const producer = await transport.produce({ track, stopTracks: false, codec: findCodec(device, spec.codec), ...spec.produceOptions(), appData: { source } });
    if (signal.aborted) {
      producer.close();
      return;
    }
    producers[source].value = markRaw(producer);
    if (spec.pausable && !wanted[source].value) await pause(producer);
  }

  /** Sends every local track (again, after a reconnect); a failure is a notice, not the end. */
  async function produceAll(signal: AbortSignal): Promise<void> {
    for (const source of ALL_SOURCES) {
      try {
        await produce(source, signal);
      } catch (err) {
        signal.throwIfAborted();
        if (isCodedError(err) && err.code === 'CONNECTION_LOST') throw err;
        console.error(`[room] could not send ${SOURCES[source].label}`, err);
        deps.notice.value = `Your ${SOURCES[source].label} couldn't be sent to the meeting.`;
      }
    }
  }

  /** Produces now when joined (a toggle); a failure becomes a notice. */
  async function produceNow(source: SourceName): Promise<boolean> {
    const signal = deps.sessionSignal();
    if (!deps.joined() || !signal) return true;
    try {
      await produce(source, signal);
      return true;
    } catch (err) {
      console.error(`[room] could not send ${SOURCES[source].label}`, err);
      deps.notice.value = source === 'screen' ? "Your screen couldn't be shared with the meeting." : `Your ${SOURCES[source].label} couldn't be sent to the meeting.`;
      return false;
    }
  }

  async function acquire(source: 'mic' | 'camera'): Promise<MediaStreamTrack | null> {
    const ids = deps.deviceIds();
    const getUserMedia = deps.getUserMedia ?? ((c: MediaStreamConstraints) => navigator.mediaDevices.getUserMedia(c));
    try {
      const stream = await getUserMedia(source === 'mic' ? { audio: audioConstraints(ids.microphoneId) } : { video: videoConstraints(ids.cameraId) });
      return (source === 'mic' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0]) ?? null;
    } catch (err) {
      deps.notice.value = mediaErrorWords(err);
      return null;
    }
  }

  /** Microphone or camera: off pauses the producer; on gets a track if needed and resumes (or sends). */
  async function togglePausable(source: 'mic' | 'camera'): Promise<void> {
    const producer = producers[source].value;
    if (wanted[source].value) {
      wanted[source].value = false;
      if (producer && !producer.paused) {
        producer.pause();
        await deps.request('pauseProducer', { producerId: producer.id });
      }
      return;
    }
    if (!usable(tracks[source].value)) {
      const track = await acquire(source);
      if (!track) return;
      tracks[source].value = track;
    }
    wanted[source].value = true;
    if (producer) {
      producer.resume();
      await deps.request('resumeProducer', { producerId: producer.id });
    } else {
      await produceNow(source);
    }
  }

  async function startScreenShare(): Promise<void> {
    const getDisplayMedia = deps.getDisplayMedia ?? (navigator.mediaDevices?.getDisplayMedia ? (c: DisplayMediaStreamOptions) => navigator.mediaDevices.getDisplayMedia(c) : null);
    if (!getDisplayMedia) {
      deps.notice.value = mediaErrorWords(new TypeError('no getDisplayMedia'), 'screen');
      return;
    }
    let stream: MediaStream;
    try {
      stream = await getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (err) {
      deps.notice.value = mediaErrorWords(err, 'screen');
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    if (!deps.inMeeting()) {
      track.stop();
      return;
    }
    track.contentHint = 'detail';
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener('ended', () => {
      if (tracks.screen.value === track) void stopScreenShare();
    });
    tracks.screen.value = track;
    wanted.screen.value = true;
    if (!(await produceNow('screen'))) await stopScreenShare();
  }

  async function stopScreenShare(): Promise<void> {
    const track = tracks.screen.value;
    const producer = producers.screen.value;
    tracks.screen.value = null;
    producers.screen.value = null;
    wanted.screen.value = false;
    track?.stop();
    if (producer) {
      producer.close();
      await deps.request('closeProducer', { producerId: producer.id });
    }
  }

  /** Turns a source on or off (while joined or reconnecting). */
  async function toggle(source: SourceName): Promise<void> {
    if (!deps.inMeeting()) return;
    deps.notice.value = null;
    if (source === 'screen') {
      if (wanted.screen.value) await stopScreenShare();
      else await startScreenShare();
    } else {
      await togglePausable(source);
    }
  }

  /** The session ended: producers go, the tracks stay for the next session. */
  function closeProducers(): void {
    for (const source of ALL_SOURCES) {
      producers[source].value?.close(); // stopTracks: false, so the local tracks survive
      producers[source].value = null;
    }
  }

  /** Leaving: every track stopped, everything off. */
  function stopTracks(): void {
    for (const source of ALL_SOURCES) {
      tracks[source].value?.stop();
      tracks[source].value = null;
      wanted[source].value = false;
    }
  }

  return { wanted, tracks, producers, adopt, produceAll, toggle, closeProducers, stopTracks };
}

export type LocalMedia = ReturnType<typeof useLocalMedia>;
