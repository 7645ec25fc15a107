import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Platform, Resolution } from '@onair/shared';
import { parseAacSequenceHeader, parseAvcSequenceHeader, parseSps, preflightRules, StreamInspector, type StreamMeasurements } from '../../src/destinations/preflight.js';
import { SendMeter } from '../../src/destinations/rtmp/SendMeter.js';
import { TAG_AUDIO, TAG_VIDEO } from '../../src/flv/flv.js';

describe('H.264 SPS (from x264 streams made with ffmpeg)', () => {
  const cases: Array<[string, string, string, number, number, number]> = [
    ['High@4.1 1280x720', '67640029acd9405005bb0110000003001000000303c0f1831960', 'High', 4.1, 1280, 720],
    ['Constrained Baseline@3.0 640x360', '6742c01ed900a02ff970110000030001000003003c0f162e48', 'Constrained Baseline', 3, 640, 360],
    ['Main@4.0 1920x1080 (cropped from 1088)', '674d4028eca03c0113f2e022000003000200000300781e30632c', 'Main', 4, 1920, 1080],
  ];
  for (const [what, hex, profile, level, width, height] of cases) {
    it(`${what}: profile, level and size`, () => {
      const sps = parseSps(Buffer.from(hex, 'hex'));
      assert.deepEqual([sps.profile, sps.level, sps.width, sps.height], [profile, level, width, height]);
    });
  }

  it('reads the SPS out of an FLV AVC sequence header (AVCDecoderConfigurationRecord)', () => {
    const sps = Buffer.from(cases[0]![1], 'hex');
    const record = Buffer.concat([Buffer.from([1, 0x64, 0x00, 0x29, 0xff, 0xe1]), Buffer.from([0, sps.length]), sps, Buffer.from([1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb])]);
    const tag = Buffer.concat([Buffer.from([0x17, 0x00, 0, 0, 0]), record]);
    assert.deepEqual(parseAvcSequenceHeader(tag), { profileIdc: 100, profile: 'High', level: 4.1, width: 1280, height: 720 });
    assert.equal(parseAvcSequenceHeader(Buffer.from([0x17, 0x01, 0, 0, 0])), null, 'a frame is not a sequence header');
  });
});

describe('AAC AudioSpecificConfig', () => {
  const cases: Array<[string, number[], string, number, number]> = [
    ['AAC-LC 48 kHz stereo', [0x11, 0x90], 'AAC-LC', 48000, 2],
    ['AAC-LC 48 kHz mono', [0x11, 0x88], 'AAC-LC', 48000, 1],
    ['AAC-LC 44.1 kHz stereo', [0x12, 0x10], 'AAC-LC', 44100, 2],
    ['HE-AAC 24 kHz stereo', [0x2b, 0x10], 'HE-AAC', 24000, 2],
  ];
  for (const [what, asc, profile, sampleRate, channels] of cases) {
    it(what, () => {
      const config = parseAacSequenceHeader(Buffer.from([0xaf, 0x00, ...asc]));
      assert.deepEqual([config?.profile, config?.sampleRate, config?.channels], [profile, sampleRate, channels]);
    });
  }
});

describe('StreamInspector: measured from the tags sent', () => {
  it('frame rate, keyframe times and the steady-state video bitrate (from the second keyframe on)', () => {
    const inspector = new StreamInspector();
    for (let i = 0; i < 180; i += 1) {
      const timestamp = Math.round((i * 1000) / 30);
      const key = i % 60 === 0;
      // The first GOP is twice as heavy (the encoder filling its buffer): it must not count.
      const size = (i < 60 ? 2 : 1) * 18_750;
      inspector.add({ type: TAG_VIDEO, timestamp, data: Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 0x01, 0, 0, 0]), Buffer.alloc(size - 5)]) });
      if (i % 2 === 0) inspector.add({ type: TAG_AUDIO, timestamp, data: Buffer.from([0xaf, 0x01, 1, 2, 3]) });
    }
    const m = inspector.measurements();
    assert.equal(m.frames, 180);
    assert.deepEqual(m.keyframeTimes, [0, 2000, 4000]);
    assert.equal(Math.round(m.fps), 30);
    assert.equal(m.videoKbps, 4500);
  });
});

const good: StreamMeasurements = {
  avc: { profileIdc: 100, profile: 'High', level: 4.1, width: 1280, height: 720 },
  aac: { objectType: 2, profile: 'AAC-LC', sampleRate: 48000, channels: 2 },
  frames: 180,
  keyframeTimes: [0, 2000, 4000],
  fps: 30,
  videoKbps: 4600,
  durationMs: 5967,
};
/** What the old Test sent: 640x360 Constrained Baseline, mono, keyframes every 2 s. */
const oldTest: StreamMeasurements = {
  ...good,
  avc: { profileIdc: 66, profile: 'Constrained Baseline', level: 3, width: 640, height: 360 },
  aac: { objectType: 2, profile: 'AAC-LC', sampleRate: 48000, channels: 1 },
  videoKbps: 900,
};

describe('preflight rules (table)', () => {
  const target = (platform: Platform, resolution: Resolution = '720p', failure: string | null = null) => ({ platform, resolution, failure, host: 'a.rtmp.youtube.com' });
  const verdicts = (m: StreamMeasurements, t: ReturnType<typeof target>) => preflightRules(m, t).map((r) => [r.rule, r.ok]);
  const cases: Array<[string, StreamMeasurements, ReturnType<typeof target>, Array<[string, boolean | null]>]> = [
    ['the broadcast profile at 720p to YouTube passes everything', good, target('youtube'), [
      ['H.264 High profile, level 4.1 or lower', true],
      ['1280x720 at 30 fps', true],
      ['keyframe every 2 s', true],
      ['video bitrate 3000–8000 kb/s for 720p30 (YouTube)', true],
      ['AAC-LC, 48 kHz, stereo', true],
      ['server accepted the stream', true],
    ]],
    ['the old 640x360 Baseline mono Test fails profile, size, bitrate and audio', oldTest, target('youtube'), [
      ['H.264 High profile, level 4.1 or lower', false],
      ['1280x720 at 30 fps', false],
      ['keyframe every 2 s', true],
      ['video bitrate 3000–8000 kb/s for 720p30 (YouTube)', false],
      ['AAC-LC, 48 kHz, stereo', false],
      ['server accepted the stream', true],
    ]],
    ['4600 kb/s at 720p is over Facebook\'s range', good, target('facebook'), [
      ['H.264 High profile, level 4.1 or lower', true],
      ['1280x720 at 30 fps', true],
      ['keyframe every 2 s', true],
      ['video bitrate 1500–4000 kb/s for 720p30 (Facebook)', false],
      ['AAC-LC, 48 kHz, stereo', true],
      ['server accepted the stream', true],
    ]],
    ['a custom server has no bitrate rule; 1280x720 sent for 1080p fails the size', good, target('custom', '1080p'), [
      ['H.264 High profile, level 4.1 or lower', true],
      ['1920x1080 at 30 fps', false],
      ['keyframe every 2 s', true],
      ['AAC-LC, 48 kHz, stereo', true],
      ['server accepted the stream', true],
    ]],
    ['a 4 s keyframe interval fails', { ...good, keyframeTimes: [0, 4000] }, target('twitch'), [
      ['H.264 High profile, level 4.1 or lower', true],
      ['1280x720 at 30 fps', true],
      ['keyframe every 2 s', false],
      ['video bitrate 3000–6000 kb/s for 720p30 (Twitch)', true],
      ['AAC-LC, 48 kHz, stereo', true],
      ['server accepted the stream', true],
    ]],
    ['refused before any media: the stream rules are not checked (null), the server rule fails', { ...good, avc: null, aac: null, frames: 0, keyframeTimes: [], fps: 0, videoKbps: 0, durationMs: 0 }, target('youtube', '720p', 'The platform refused the stream key.'), [
      ['H.264 High profile, level 4.1 or lower', null],
      ['1280x720 at 30 fps', null],
      ['keyframe every 2 s', null],
      ['video bitrate 3000–8000 kb/s for 720p30 (YouTube)', null],
      ['AAC-LC, 48 kHz, stereo', null],
      ['server accepted the stream', false],
    ]],
  ];
  for (const [what, m, t, expected] of cases) {
    it(what, () => assert.deepEqual(verdicts(m, t), expected));
  }

  it('each rule says what was measured, in words', () => {
    const details = preflightRules(oldTest, target('youtube')).map((r) => r.detail);
    assert.deepEqual(details.slice(0, 5), [
      'Sent H.264 Constrained Baseline, level 3.0.',
      'Sent 640x360 at 30.0 fps (180 frames).',
      'Keyframes 2.0 s, 2.0 s apart.',
      'Sent 900 kb/s.',
      'Sent AAC-LC, 48 kHz, mono.',
    ]);
  });
});

describe('SendMeter: rates from what left the socket, by the frames\' timestamps', () => {
  /** 30 fps of 20 kB frames: `seconds` of media sent, flushed `flushEveryMs` of wall time apart (all at once when 0). */
  function run(seconds: number, options: { wallPerMediaMs?: number; burstFirstMs?: number } = {}) {
    const meter = new SendMeter();
    let end = 0;
    const frames = seconds * 30;
    const rates: Array<{ fps: number; bitrateKbps: number }> = [];
    for (let i = 0; i < frames; i += 1) {
      const timestamp = Math.round((i * 1000) / 30);
      end += 20_000;
      meter.sent({ timestamp, bytes: 20_000, video: true, end });
      // Wall clock: a burst delivers the first `burstFirstMs` of media at t=0, then real time (or slower).
      const burst = options.burstFirstMs ?? 0;
      const wall = timestamp <= burst ? 0 : (timestamp - burst) * (options.wallPerMediaMs ?? 1);
      if (i % 30 === 29 || timestamp <= burst) {
        meter.flushed(end, wall);
        rates.push(meter.rates());
      }
    }
    return { meter, rates };
  }

  it('steady 30 fps → 30 fps and 4800 kb/s', () => {
    const { rates } = run(8);
    assert.deepEqual(rates.at(-1), { fps: 30, bitrateKbps: 4800 });
  });

  it('a 2 s GOP flushed at once when the server accepts the stream never reads as more than 30 fps', () => {
    const { rates } = run(8, { burstFirstMs: 2000 });
    assert.ok(rates.every((r) => r.fps <= 30), JSON.stringify(rates));
    assert.ok(rates.some((r) => r.fps === 30));
  });

  it('a network at half real time reads 15 fps, not 30', () => {
    const { rates } = run(10, { wallPerMediaMs: 2 });
    assert.equal(Math.round(rates.at(-1)!.fps), 15);
  });

  it('one frame is no rate; media time taken is counted', () => {
    const meter = new SendMeter();
    meter.sent({ timestamp: 0, bytes: 100, video: true, end: 100 });
    meter.sent({ timestamp: 33, bytes: 100, video: true, end: 200 });
    meter.flushed(150, 0);
    assert.deepEqual(meter.rates(), { fps: 0, bitrateKbps: 0 });
    assert.equal(meter.frames, 1, 'the second frame is still in the socket buffer');
    meter.flushed(200, 10);
    assert.equal(meter.mediaMs, 33);
  });
});
