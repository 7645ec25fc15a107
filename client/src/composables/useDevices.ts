/**
 * Camera and microphone before joining: lists devices, runs a preview stream with the chosen
 * ones, and says in plain words why it could not (blocked, none found, in use).
 *
 * The preview tracks are handed to the meeting with `takeTracks()`; after that this composable
 * no longer stops them.
 */
import { onScopeDispose, ref, shallowRef, watch } from 'vue';
import { mediaErrorWords } from '../services/errors';

/** Camera constraints used for the preview and the meeting: 1280x720 is the top simulcast layer. */
export const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

export const AUDIO_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

export function videoConstraints(deviceId?: string | null): MediaTrackConstraints {
  return deviceId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: deviceId } } : { ...VIDEO_CONSTRAINTS };
}

export function audioConstraints(deviceId?: string | null): MediaTrackConstraints {
  return deviceId ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: deviceId } } : { ...AUDIO_CONSTRAINTS };
}

export function mediaDevicesAvailable(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
}

export function useDevices() {
  const cameras = ref<MediaDeviceInfo[]>([]);
  const microphones = ref<MediaDeviceInfo[]>([]);
  /** Chosen device ids; '' means the browser default. */
  const cameraId = ref('');
  const microphoneId = ref('');
  /** Whether to join with the camera / microphone on. */
  const cameraEnabled = ref(true);
  const microphoneEnabled = ref(true);
  const stream = shallowRef<MediaStream | null>(null);
  const error = ref<string | null>(null);
  const starting = ref(false);

  let generation = 0;
  let owned = true;
  /** The preview start in progress, so joining can wait for the tracks instead of racing them. */
  let pending: Promise<void> = Promise.resolve();

  async function refreshDevices(): Promise<void> {
    if (!mediaDevicesAvailable()) return;
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      cameras.value = all.filter((d) => d.kind === 'videoinput' && d.deviceId !== '');
      microphones.value = all.filter((d) => d.kind === 'audioinput' && d.deviceId !== '');
    } catch {
      // Listing is a nicety; the preview still works with the defaults.
    }
  }

  function stopStream(): void {
    if (stream.value && owned) for (const t of stream.value.getTracks()) t.stop();
    stream.value = null;
    owned = true;
  }

  async function getStream(audio: boolean, video: boolean): Promise<MediaStream> {
    return navigator.mediaDevices.getUserMedia({
      audio: audio ? audioConstraints(microphoneId.value) : false,
      video: video ? videoConstraints(cameraId.value) : false,
    });
  }

  /** (Re)starts the preview with the current choices. */
  function start(): Promise<void> {
    pending = startPreview();
    return pending;
  }

  /** Resolves once the latest preview start has finished (with or without tracks). */
  async function settled(): Promise<void> {
    let current: Promise<void>;
    do {
      current = pending;
      await current;
    } while (current !== pending); // a device change restarted it meanwhile
  }

  async function startPreview(): Promise<void> {
    const gen = ++generation;
    stopStream();
    error.value = null;
    if (!mediaDevicesAvailable()) {
      error.value = mediaErrorWords(new TypeError('no mediaDevices'));
      return;
    }
    const wantAudio = microphoneEnabled.value;
    const wantVideo = cameraEnabled.value;
    if (!wantAudio && !wantVideo) return;
    starting.value = true;
    try {
      let next: MediaStream;
      try {
        next = await getStream(wantAudio, wantVideo);
      } catch (err) {
        // Asking for both fails when only one exists or one is busy: try each alone so the person
        // can still join with what works, and say what did not.
        if (!(wantAudio && wantVideo) || (err instanceof DOMException && err.name === 'NotAllowedError')) throw err;
        const [audioOnly, videoOnly] = await Promise.allSettled([getStream(true, false), getStream(false, true)]);
        const parts: MediaStreamTrack[] = [];
        if (audioOnly.status === 'fulfilled') parts.push(...audioOnly.value.getTracks());
        if (videoOnly.status === 'fulfilled') parts.push(...videoOnly.value.getTracks());
        if (parts.length === 0) throw err;
        next = new MediaStream(parts);
        error.value =
          audioOnly.status === 'rejected'
            ? `Microphone: ${mediaErrorWords(audioOnly.reason)}`
            : videoOnly.status === 'rejected'
              ? `Camera: ${mediaErrorWords(videoOnly.reason)}`
              : null;
      }
      if (gen !== generation) {
        for (const t of next.getTracks()) t.stop();
        return;
      }
      stream.value = next;
      owned = true;
      // Labels and ids are only listed once permission is granted.
      await refreshDevices();
      const v = next.getVideoTracks()[0]?.getSettings().deviceId;
      const a = next.getAudioTracks()[0]?.getSettings().deviceId;
      if (v && !cameraId.value) cameraId.value = v;
      if (a && !microphoneId.value) microphoneId.value = a;
    } catch (err) {
      if (gen === generation) error.value = mediaErrorWords(err);
    } finally {
      if (gen === generation) starting.value = false;
    }
  }

  /** Hands the preview tracks to the caller (the meeting), which now owns and stops them. */
  function takeTracks(): { audio: MediaStreamTrack | null; video: MediaStreamTrack | null } {
    const s = stream.value;
    const tracks = {
      audio: microphoneEnabled.value ? (s?.getAudioTracks()[0] ?? null) : null,
      video: cameraEnabled.value ? (s?.getVideoTracks()[0] ?? null) : null,
    };
    owned = false;
    generation++;
    return tracks;
  }

  /** Whether the running preview already uses exactly what is chosen. */
  function matchesChoice(current: MediaStream): boolean {
    const v = current.getVideoTracks()[0];
    const a = current.getAudioTracks()[0];
    const videoOk = cameraEnabled.value
      ? !!v && (!cameraId.value || v.getSettings().deviceId === cameraId.value)
      : !v;
    const audioOk = microphoneEnabled.value
      ? !!a && (!microphoneId.value || a.getSettings().deviceId === microphoneId.value)
      : !a;
    return videoOk && audioOk;
  }

  watch([cameraId, microphoneId, cameraEnabled, microphoneEnabled], () => {
    if (!owned) return;
    if (stream.value && matchesChoice(stream.value)) return;
    void start();
  });

  const onDeviceChange = () => void refreshDevices();
  if (mediaDevicesAvailable()) navigator.mediaDevices.addEventListener('devicechange', onDeviceChange);

  onScopeDispose(() => {
    generation++;
    if (mediaDevicesAvailable()) navigator.mediaDevices.removeEventListener('devicechange', onDeviceChange);
    stopStream();
  });

  return {
    cameras,
    microphones,
    cameraId,
    microphoneId,
    cameraEnabled,
    microphoneEnabled,
    stream,
    error,
    starting,
    start,
    settled,
    stop: stopStream,
    takeTracks,
    refreshDevices,
  };
}
