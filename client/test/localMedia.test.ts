import { describe, expect, it } from 'vitest';
import { ref } from 'vue';
import type { Device, Transport } from 'mediasoup-client/types';
import { CAMERA_ENCODINGS, useLocalMedia } from '../src/composables/meeting/useLocalMedia';
import { FakeProducer, FakeTrack } from './fakes';

/** Local media over a fake device and transport (the real browser is exercised by the e2e tests). */
function harness(options: { joined?: boolean } = {}) {
  let joined = options.joined ?? true;
  const requests: string[] = [];
  const produced: Array<{ source: string; encodings?: unknown; paused: boolean }> = [];
  const notice = ref<string | null>(null);
  let nextId = 0;
  const device = {
    canProduce: () => true,
    sendRtpCapabilities: { codecs: [{ mimeType: 'audio/opus' }, { mimeType: 'video/VP8' }] },
  } as unknown as Device;
  const transport = {
    async produce(o: { appData: { source: string }; encodings?: unknown }) {
      const p = new FakeProducer(`p${++nextId}`, o.appData.source);
      produced.push({ source: o.appData.source, encodings: o.encodings, paused: false });
      return p;
    },
  } as unknown as Transport;
  const controller = new AbortController();
  const gum: string[] = [];
  const local = useLocalMedia({
    device: () => device,
    sendTransport: () => transport,
    joined: () => joined,
    inMeeting: () => true,
    sessionSignal: () => controller.signal,
    request: async (type, data) => {
      if (joined) requests.push(`${type}:${data.producerId}`);
    },
    deviceIds: () => ({}),
    notice,
    getUserMedia: async (c) => {
      gum.push(c.audio ? 'audio' : 'video');
      const track = new FakeTrack(c.audio ? 'audio' : 'video');
      return { getAudioTracks: () => (c.audio ? [track] : []), getVideoTracks: () => (c.video ? [track] : []) } as unknown as MediaStream;
    },
    getDisplayMedia: async () => {
      const track = new FakeTrack('video');
      return { getVideoTracks: () => [track] } as unknown as MediaStream;
    },
  });
  return { local, requests, produced, notice, gum, signal: controller.signal, setJoined: (v: boolean) => (joined = v) };
}

const track = (kind: 'audio' | 'video') => new FakeTrack(kind) as unknown as MediaStreamTrack;

describe('local media: produce(source) and toggle(source)', () => {
  it('produces the preview tracks on join: mic and camera, the camera with its three simulcast layers', async () => {
    const h = harness();
    h.local.adopt(track('audio'), track('video'));
    await h.local.produceAll(h.signal);
    expect(h.produced.map((p) => p.source)).toEqual(['mic', 'camera']);
    expect(h.produced[1]?.encodings).toEqual(CAMERA_ENCODINGS);
    expect(h.local.wanted.mic.value).toBe(true);
  });

  it('muting pauses the producer and tells the server; unmuting resumes it', async () => {
    const h = harness();
    h.local.adopt(track('audio'), null);
    await h.local.produceAll(h.signal);
    const mic = h.local.producers.mic.value as unknown as FakeProducer;
    await h.local.toggle('mic');
    expect(h.local.wanted.mic.value).toBe(false);
    expect(mic.paused).toBe(true);
    await h.local.toggle('mic');
    expect(mic.paused).toBe(false);
    expect(h.requests).toEqual([`pauseProducer:${mic.id}`, `resumeProducer:${mic.id}`]);
  });

  it('turning the camera on without a track asks for one, then sends it', async () => {
    const h = harness();
    h.local.adopt(null, null);
    await h.local.toggle('camera');
    expect(h.gum).toEqual(['video']);
    expect(h.produced.map((p) => p.source)).toEqual(['camera']);
    expect(h.local.wanted.camera.value).toBe(true);
  });

  it('while reconnecting a toggle only changes what is wanted; the next session applies it', async () => {
    const h = harness({ joined: false });
    h.local.adopt(track('audio'), null);
    await h.local.toggle('mic');
    await h.local.toggle('mic');
    expect(h.produced).toEqual([]);
    expect(h.requests).toEqual([]);
    h.setJoined(true);
    await h.local.produceAll(h.signal);
    expect(h.produced.map((p) => p.source)).toEqual(['mic']);
  });

  it('a mic that is off when produced is sent paused', async () => {
    const h = harness();
    h.local.adopt(track('audio'), null);
    h.local.wanted.mic.value = false;
    await h.local.produceAll(h.signal);
    expect((h.local.producers.mic.value as unknown as FakeProducer).paused).toBe(true);
  });

  it('screen share: on produces it, off closes the producer and stops the track; the browser ending the share stops it too', async () => {
    const h = harness();
    h.local.adopt(null, null);
    await h.local.toggle('screen');
    expect(h.local.wanted.screen.value).toBe(true);
    const screen = h.local.producers.screen.value as unknown as FakeProducer;
    const screenTrack = h.local.tracks.screen.value as unknown as FakeTrack;
    await h.local.toggle('screen');
    expect(screen.closed).toBe(true);
    expect(screenTrack.readyState).toBe('ended');
    expect(h.requests).toContain(`closeProducer:${screen.id}`);

    await h.local.toggle('screen');
    (h.local.tracks.screen.value as unknown as FakeTrack).end();
    await new Promise((r) => setTimeout(r, 0));
    expect(h.local.wanted.screen.value).toBe(false);
  });

  it('leaving stops every track and turns everything off', async () => {
    const h = harness();
    const mic = track('audio');
    h.local.adopt(mic, track('video'));
    h.local.stopTracks();
    expect((mic as unknown as FakeTrack).readyState).toBe('ended');
    expect(h.local.wanted.mic.value).toBe(false);
    expect(h.local.tracks.camera.value).toBeNull();
  });
});
