import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AudioMixer, SAMPLE_RATE } from '../../src/compositor/AudioMixer.js';
import { diffParticipants, groupWants } from '../../src/compositor/participants.js';
import { audioCorrection, parseShowinfo, PictureTransit, Playout, SampleTimeline, timelineShift } from '../../src/compositor/playout.js';
import { pickPicture, pickPictureFrom, reportsLoss, type QueuedPicture } from '../../src/compositor/ParticipantDecoder.js';
import { HANDOVER_GUARD_MS, handoverFloor } from '../../src/compositor/Program.js';
import { buildScene, sourcesFor, type SceneParticipant } from '../../src/compositor/scene.js';
import { monotonicClock, type Clock } from '../../src/media/clock.js';

/** A clock the test moves by hand (only now() is used here). */
class FakeClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
  setTimeout = monotonicClock.setTimeout;
  setInterval = monotonicClock.setInterval;
}

describe('playout offset: where a source lands on the program clock (table)', () => {
  const cases: Array<{ name: string; transits: number[]; offset: number; buffer?: number }> = [
    { name: 'steady 40 ms transit: offset = transit + 15 ms margin', transits: [40, 40, 40, 40], offset: 55, buffer: 15 },
    { name: 'jitter 30-90 ms: covers the slowest arrival', transits: [30, 90, 45, 60, 30], offset: 105, buffer: 75 },
    { name: 'spread beyond 150 ms: bounded at the quickest + 150', transits: [20, 400, 30, 20], offset: 170, buffer: 150 },
    { name: 'a sender clock 4 s away: only differences matter', transits: [4000, 4010, 4005], offset: 4025 },
    { name: 'negative transit (sender clock ahead of ours)', transits: [-900, -880], offset: -865 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = new Playout();
      c.transits.forEach((transit, i) => {
        const now = 1000 + i * 20;
        p.observe(now - transit, now);
      });
      assert.equal(p.offsetMs, c.offset);
      if (c.buffer !== undefined) assert.equal(p.bufferMs, c.buffer);
      assert.equal(p.mediaTimeAt(5000), 5000 - c.offset);
    });
  }

  it('rises at once for a late arrival, falls back slowly (20 ms/s) once it has left the 2 s window', () => {
    const clock = new FakeClock();
    const p = new Playout();
    const arrive = (transit: number): void => p.observe(clock.t - transit, clock.t);
    for (; clock.t < 1000; clock.t += 20) arrive(40);
    assert.equal(p.offsetMs, 55);
    arrive(120);
    assert.equal(p.offsetMs, 135, 'one late picture raises the offset at once');
    for (let end = clock.t + 2000; clock.t < end; clock.t += 20) arrive(40);
    const afterWindow = p.offsetMs!;
    assert.ok(afterWindow <= 135 && afterWindow > 100, `still near the spike while it is remembered (${afterWindow})`);
    for (let end = clock.t + 1000; clock.t < end; clock.t += 20) arrive(40);
    assert.ok(Math.abs(afterWindow - p.offsetMs! - 20) < 1.5, `then falls by 20 ms in a second (${afterWindow} → ${p.offsetMs})`);
    for (let end = clock.t + 10_000; clock.t < end; clock.t += 20) arrive(40);
    assert.equal(p.offsetMs, 55, 'and settles at transit + margin');
  });
});

describe('playout after a jump of the media timeline', () => {
  it('a stream whose timestamps jump 900 ms forward (its first sender report) is followed at once: never more than 150 ms held back', () => {
    const p = new Playout();
    for (let t = 0; t < 1000; t += 20) p.observe(t - 4000, t + 4040);
    assert.equal(p.offsetMs, 8055);
    for (let t = 1000; t < 1200; t += 20) {
      p.observe(t - 4000 + 900, t + 4040);
      assert.ok(p.bufferMs! <= 150, `buffer ${p.bufferMs} ms`);
    }
  });
});

describe('audio timeline anchors: sample index → media time (table)', () => {
  const cases: Array<{ name: string; anchors: Array<[number, number]>; at: number; ms: number | null }> = [
    { name: 'nothing anchored yet', anchors: [], at: 0, ms: null },
    { name: 'first sample', anchors: [[0, 120]], at: 0, ms: 120 },
    { name: 'continuous at 48 kHz from the anchor', anchors: [[0, 120]], at: 48_000, ms: 1120 },
    { name: 'after a jump (a mute, the first sender report) the newer anchor rules', anchors: [[0, 0], [9600, 1200]], at: 14_400, ms: 1300 },
    { name: 'before the newer anchor the older one still rules', anchors: [[0, 0], [9600, 1200]], at: 4800, ms: 100 },
    { name: 'a backwards jump (sender report pulls the stream earlier)', anchors: [[0, 940], [48_000, 1000]], at: 48_960, ms: 1020 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = new SampleTimeline(SAMPLE_RATE);
      for (const [index, ms] of c.anchors) t.anchor(index, ms);
      assert.equal(t.mediaMs(c.at), c.ms);
    });
  }

  it('keeps the newest anchors in a fixed ring', () => {
    const t = new SampleTimeline(SAMPLE_RATE, 4);
    for (let i = 0; i < 10; i += 1) t.anchor(i * 4800, i * 1000);
    assert.equal(t.mediaMs(9 * 4800 + 48), 9001);
    assert.equal(t.mediaMs(6 * 4800), 6000);
  });
});

describe('audio correction onto the timeline (table)', () => {
  const cases: Array<[string, number, number, { skipMs: number; silenceMs: number }]> = [
    ['on time', 1000, 1000, { skipMs: 0, silenceMs: 0 }],
    ['within the tolerance: left alone', 1015, 1000, { skipMs: 0, silenceMs: 0 }],
    ['behind: skip', 900, 1000, { skipMs: 100, silenceMs: 0 }],
    ['ahead: silence first', 1060, 1000, { skipMs: 0, silenceMs: 60 }],
  ];
  for (const [name, read, target, want] of cases) it(name, () => assert.deepEqual(audioCorrection(read, target, 20), want));
});

describe('the picture due from a decoder queue (table)', () => {
  const picture = { width: 2, height: 2, data: Buffer.alloc(6) };
  /** Queued pictures `[n, ptsMs]` (NaN: its showinfo line not read yet), in 16 slots as in ParticipantDecoder. */
  const queue = (...pictures: Array<[number, number]>): QueuedPicture[] => [
    ...pictures.map(([n, ptsMs]) => ({ picture, n, ptsMs, key: n })),
    ...Array.from({ length: 16 - pictures.length }, () => ({ picture, n: -1, ptsMs: NaN, key: 0 })),
  ];
  const step = { maxMs: 66.7, maxPictures: 2 };
  const cases: Array<{ name: string; queue: QueuedPicture[]; mediaMs: number | null; prev?: [number, number]; want: number | null }> = [
    { name: 'the newest stamped at or before the media time', queue: queue([1, 33], [2, 67], [3, 100]), mediaMs: 80, want: 2 },
    { name: 'every picture later: the oldest', queue: queue([1, 33], [2, 67]), mediaMs: 10, want: 1 },
    { name: 'no media time yet: the newest', queue: queue([1, 33], [2, NaN]), mediaMs: null, want: 2 },
    { name: 'after the one shown: one frame on, as usual', queue: queue([1, 33], [2, 67], [3, 100]), mediaMs: 80, prev: [1, 33], want: 2 },
    { name: 'a backlog delivered at once: two frames on, not to the picture due', queue: queue([10, 333], [11, 366], [12, 399], [13, 432], [14, 465], [15, 498]), mediaMs: 490, prev: [10, 333], want: 12 },
    { name: 'the pictures within the step are gone: the next one after the one shown', queue: queue([14, 467], [15, 500], [16, 533]), mediaMs: 520, prev: [10, 333], want: 14 },
    { name: 'a timeline jumped ahead (a first sender report): the next one after the one shown', queue: queue([10, 333], [11, 1267], [12, 1300]), mediaMs: 1290, prev: [10, 333], want: 11 },
    { name: 'a stamped picture waits for nothing newer: keep it', queue: queue([10, 333], [11, NaN], [12, NaN]), mediaMs: 500, prev: [10, 333], want: null },
    { name: 'no stamps read yet: at most two pictures on', queue: queue([11, NaN], [12, NaN], [13, NaN]), mediaMs: 500, prev: [10, 333], want: 12 },
    { name: 'the offset rose (the media time went back): keep the one shown, never an older one', queue: queue([9, 300], [10, 333], [11, 367]), mediaMs: 310, prev: [10, 333], want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const prev = c.prev ? { n: c.prev[0], ptsMs: c.prev[1] } : undefined;
      assert.equal(pickPicture(c.queue, c.mediaMs, prev, prev ? step : undefined)?.n ?? null, c.want);
    });
  }

  it('a decoder that lagged 400 ms and delivers its backlog at once: the picture catches up two frames per output frame, never jumping', () => {
    // 16 slots as in ParticipantDecoder; pictures every 33.3 ms of media; the program shows media time t - 150 ms.
    const slots: QueuedPicture[] = Array.from({ length: 16 }, () => ({ picture, n: -1, ptsMs: NaN, key: 0 }));
    let written = 0;
    const deliver = (upTo: number): void => {
      for (; written <= upTo; written += 1) Object.assign(slots[written % slots.length]!, { n: written, ptsMs: written * 33.3, key: written });
    };
    let shown: { n: number; ptsMs: number } | undefined;
    const steps: number[] = [];
    for (let tick = 0; tick < 120; tick += 1) {
      const t = tick * 33.3 + 200;
      // Until tick 40 the decoder keeps up (each picture 20 ms after its media time); it then stalls for 400 ms and delivers everything at once.
      if (tick < 40 || tick >= 52) deliver(Math.floor((t - 20) / 33.3));
      const q = pickPicture(slots, t - 150, shown, shown ? step : undefined);
      if (q && (!shown || q.n !== shown.n)) {
        if (shown) steps.push(q.n - shown.n);
        shown = { n: q.n, ptsMs: q.ptsMs };
      }
    }
    assert.ok(Math.max(...steps) <= 2, `at most two pictures per output frame (steps ${steps.join(' ')})`);
    assert.ok(shown && shown.n >= Math.floor((119 * 33.3 + 200 - 150) / 33.3) - 1, `caught up with the picture due by the end (${shown?.n})`);
  });
});

describe('a decoder taking a tile over: its first picture (table)', () => {
  const picture = { width: 2, height: 2, data: Buffer.alloc(6) };
  const queue = (...pictures: Array<[number, number]>): QueuedPicture[] => [
    ...pictures.map(([n, ptsMs]) => ({ picture, n, ptsMs, key: n })),
    ...Array.from({ length: 16 - pictures.length }, () => ({ picture, n: -1, ptsMs: NaN, key: 0 })),
  ];
  const cases: Array<{ name: string; queue: QueuedPicture[]; mediaMs: number; floorMs: number; want: number | null }> = [
    { name: 'the picture due is not older than the one on air: it', queue: queue([1, 33], [2, 67], [3, 100]), mediaMs: 80, floorMs: 50, want: 2 },
    { name: 'the picture due is older: the oldest one that is not', queue: queue([1, 33], [2, 67], [3, 100]), mediaMs: 40, floorMs: 60, want: 2 },
    { name: 'nothing as new as the one on air yet: none (it stays)', queue: queue([1, 33], [2, 67]), mediaMs: 80, floorMs: 90, want: null },
    { name: 'unstamped pictures never pass the floor', queue: queue([1, 33], [2, NaN]), mediaMs: 80, floorMs: 50, want: null },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(pickPictureFrom(c.queue, c.mediaMs, c.floorMs)?.n ?? null, c.want));
  }

  it('a new decoder that delivers each picture 4 frames later than the old one: its first picture is not older than the one on air (the guard), and it comes within the hold', () => {
    const FRAME = 1000 / 30;
    const OLD_LAG = 20;
    const NEW_LAG = OLD_LAG + 4 * FRAME;
    // Frame c is captured at c * FRAME; the old decoder stamps it c * FRAME, the new one (another session) 10 s less.
    const old = new PictureTransit();
    const fresh = new PictureTransit();
    for (let c = 300; c * FRAME < 11_000; c += 1) {
      old.observe(c * FRAME, c * FRAME + OLD_LAG);
      if (c * FRAME >= 10_300) fresh.observe(c * FRAME - 10_000, c * FRAME + NEW_LAG);
    }
    const shift = timelineShift(old, fresh)!;
    assert.ok(Math.abs(shift - (-10_000 - 4 * FRAME)) < 1, `the arrivals put the new timeline 4 frames low (${shift.toFixed(1)})`);
    // On air at 11 s: the old decoder's frame due 35 ms before (its playout).
    const shown = Math.floor((11_000 - 35) / FRAME);
    const queueAt = (now: number): QueuedPicture[] => {
      const newest = Math.floor((now - NEW_LAG) / FRAME);
      return queue(...Array.from({ length: 16 }, (_, i): [number, number] => [newest - 15 + i, (newest - 15 + i) * FRAME - 10_000]));
    };
    const pick = (now: number, floorMs: number): QueuedPicture | null => pickPictureFrom(queueAt(now), (now - 35) - 10_000 - 4 * FRAME, floorMs);
    const unguarded = pick(11_000, shown * FRAME + shift - 500 / 30);
    assert.ok(unguarded && unguarded.n < shown, `without the guard it steps back (${unguarded?.n} after ${shown})`);
    let first: { n: number; at: number } | null = null;
    for (let now = 11_000; now < 11_700 && !first; now += FRAME) {
      const q = pick(now, handoverFloor(shown * FRAME, shift, HANDOVER_GUARD_MS));
      if (q) first = { n: q.n, at: now - 11_000 };
    }
    assert.ok(first, 'a picture passes the guard within the hold (700 ms)');
    assert.ok(first.n >= shown, `its first picture is frame ${first.n}, not before ${shown} (after ${first.at.toFixed(0)} ms)`);
    assert.ok(first.n - shown <= Math.ceil(HANDOVER_GUARD_MS / FRAME), `and no more than the guard ahead (${first.n - shown} frames)`);
  });
});

describe('picture transit: does a decoder keep up, and its timeline against another decoder\'s', () => {
  it('a decoder that starts 1.4 s behind and plays its backlog at three times real time is steady only once it caught up; then media time + quickest transit matches an old decoder\'s for the same picture', () => {
    const FRAME = 1000 / 30;
    const decodeMs = 12;
    // The old decoder counts media time from capture time 0 and has kept up all along.
    const old = new PictureTransit();
    for (let p = 0; p * FRAME + decodeMs < 13_000; p += 1) old.observe(p * FRAME, p * FRAME + decodeMs);
    // The new one counts from its first packet (captured at 10 s) and delivers its first picture at
    // 11.4 s, then one every third of a frame interval until it is level, then in real time.
    const fresh = new PictureTransit();
    let caughtUpAt = NaN;
    let steadyAt = NaN;
    for (let p = Math.ceil(10_000 / FRAME), now = 11_400; now < 13_000; p += 1) {
      const arrival = Math.max(now, p * FRAME + decodeMs);
      if (Number.isNaN(caughtUpAt) && arrival === p * FRAME + decodeMs) caughtUpAt = arrival;
      fresh.observe(p * FRAME - 10_000, arrival);
      if (Number.isNaN(steadyAt) && fresh.steadyFor(arrival) >= 200) steadyAt = arrival;
      now = arrival + FRAME / 3;
    }
    // Picture 330 (captured at 11 s): 11000 ms on the old timeline, 1000 ms on the new one.
    const onOld = 330 * FRAME + old.quickestMs!;
    const onNew = 330 * FRAME - 10_000 + fresh.quickestMs!;
    assert.ok(Math.abs(onOld - onNew) < 2, `the same picture lines up across the decoders (${onOld.toFixed(1)} vs ${onNew.toFixed(1)})`);
    const shifted = 330 * FRAME + timelineShift(old, fresh)!;
    assert.ok(Math.abs(shifted - (330 * FRAME - 10_000)) < 2, `timelineShift puts the old decoder's media time on the new one's (${shifted.toFixed(1)})`);
  });

  it('the two decoders are compared over the same period: calm moments only the old decoder saw do not shift the new one\'s timeline (a step back at the handover)', () => {
    const FRAME = 1000 / 30;
    // Until 10 s the machine is calm (pictures out 12 ms after their media time); from then on busy (52 ms).
    const transit = (now: number): number => (now < 10_000 ? 12 : 52);
    const old = new PictureTransit();
    for (let p = 0; p * FRAME < 11_000; p += 1) old.observe(p * FRAME, p * FRAME + transit(p * FRAME));
    // The new decoder starts in the busy moment (a layout switch) and counts from its first packet, captured at 10.3 s.
    const fresh = new PictureTransit();
    for (let p = Math.ceil(10_300 / FRAME); p * FRAME < 11_000; p += 1) fresh.observe(p * FRAME - 10_300, p * FRAME + 52);
    assert.equal(old.quickestMs, 12, 'the old decoder\'s whole window reaches back to the calm moment');
    const shift = timelineShift(old, fresh)!;
    assert.ok(Math.abs(shift - -10_300) < 1, `a media time on the old timeline lands on the same picture on the new one (shift ${shift.toFixed(1)} ms, want −10300; comparing the whole windows gives ${(old.quickestMs! - fresh.quickestMs!).toFixed(1)})`);
  });
});

describe('playout adopted from the decoder a new one replaces', () => {
  it('takes the offset given, forgets its slow start-up arrivals, and follows later arrivals as usual', () => {
    const p = new Playout();
    // Start-up: a burst of pictures 600 ms late, then steady 30 ms transits.
    for (let t = 0; t < 200; t += 10) p.observe(t - 600, t);
    for (let t = 200; t < 600; t += 33) p.observe(t - 30, t);
    assert.ok(p.offsetMs! >= 150, `the burst holds the offset up (${p.offsetMs})`);
    p.adopt(70, 600);
    assert.equal(p.offsetMs, 70);
    for (let t = 633; t < 1000; t += 33) p.observe(t - 30, t);
    assert.ok(p.offsetMs! <= 70 && p.offsetMs! >= 45, `no longer held up by the burst (${p.offsetMs})`);
    p.observe(1000 - 120, 1000);
    assert.equal(p.offsetMs, 135, 'a late arrival still raises it at once');
  });
});

describe('showinfo lines (table)', () => {
  const cases: Array<[string, string, ReturnType<typeof parseShowinfo>]> = [
    ['a picture', '[Parsed_showinfo_3 @ 0x55] n:  12 pts:  36000 pts_time:0.4     pos: -1 fmt:yuv420p sar:1/1 s:640x360 i:P iskey:0 type:P', { kind: 'video', n: 12, ptsMs: 400, samples: 0 }],
    ['an audio frame', '[Parsed_ashowinfo_2 @ 0x56] n:7 pts:6720 pts_time:0.14 pos:-1 fmt:s16 channels:2 chlayout:stereo rate:48000 nb_samples:960 checksum:0D', { kind: 'audio', n: 7, ptsMs: 140, samples: 960 }],
    ['its config line', '[Parsed_showinfo_3 @ 0x55] config in time_base: 1/90000, frame_rate: 30/1', null],
    ['another line', '[sdp @ 0x1] max delay reached. need to consume packet', null],
  ];
  for (const [name, line, want] of cases) it(name, () => assert.deepEqual(parseShowinfo(line), want));
});

describe('ffmpeg lines that report lost packets (a keyframe is asked for; table, lines from a compositor e2e run)', () => {
  const cases: Array<[string, boolean]> = [
    ['[sdp @ 0x56298ab47d40] jitter buffer full', true],
    ['[sdp @ 0x56298ab47d40] RTP: missed 1 packets', true],
    ['[sdp @ 0x56298ab47d40] Missed a picture, sequence broken', true],
    ['[vp8 @ 0x56298ab9d380] Discarding interframe without a prior keyframe!', true],
    ['[h264 @ 0x55d0c8f1e2c0] error while decoding MB 12 7, bytestream -5', true],
    ['[Parsed_showinfo_5 @ 0x55d0c8f1e2c0] n:  41 pts:3690000 pts_time:41      duration:3000', false],
    ['Stream #0:0: Video: vp8, yuv420p, 90k tbr, 90k tbn', false],
  ];
  for (const [line, loss] of cases) it(line, () => assert.equal(reportsLoss(line), loss));
});

describe('one decoder per participant', () => {
  const people: SceneParticipant[] = [
    { peerId: 'a', displayName: 'A', camera: { producerId: 'camA', paused: false }, screen: null, mic: { producerId: 'micA', paused: false } },
    { peerId: 'b', displayName: 'B', camera: null, screen: { producerId: 'scrB', paused: false }, mic: { producerId: 'micB', paused: false } },
  ];
  const wantsOf = (participants: SceneParticipant[], layout: 'grid' | 'speaker' = 'grid') =>
    groupWants(sourcesFor(buildScene({ participants, layout, speakerId: 'a', frame: { width: 1280, height: 720 }, title: null, lowerThird: null, slateText: '' })), participants);

  it('a camera and its microphone share a decoder; a screen share has its own', () => {
    const groups = wantsOf(people);
    assert.deepEqual([...groups.keys()].sort(), ['a', 'b', 'b/screen']);
    assert.equal(groups.get('a')?.video?.producerId, 'camA');
    assert.equal(groups.get('a')?.audio?.producerId, 'micA');
    assert.equal(groups.get('b')?.video, null);
    assert.equal(groups.get('b/screen')?.audio, null);
  });

  it('diff: a leave removes one decoder, a join adds one, a new size restarts only that participant', () => {
    const before = wantsOf(people.slice(0, 1));
    const after = wantsOf(people);
    const diff = diffParticipants(before, after);
    assert.deepEqual(diff.add.map((w) => w.key).sort(), ['b', 'b/screen']);
    assert.deepEqual(diff.restart.map((w) => w.key), ['a'], 'a screen share shrinks the camera tile');
    assert.deepEqual(diffParticipants(after, wantsOf(people.slice(0, 1))).remove.sort(), ['b', 'b/screen']);
    assert.deepEqual(diffParticipants(after, after), { add: [], remove: [], restart: [], relayer: [] });
  });
});

describe('jitter buffer on a fake clock: a participant with a drifting clock and jittery arrivals', () => {
  it('audio plays on the media time the video shows (|A/V| within a frame), the buffer stays ≤ 150 ms', () => {
    const clock = new FakeClock();
    const mixer = new AudioMixer({ samplesPerTick: 1600 });
    mixer.addSource('p', { timed: true });
    const playout = new Playout();
    const timeline = new SampleTimeline(SAMPLE_RATE);
    // The sender's clock runs 0.1 % fast and starts 3 s away from ours; arrivals jitter by 0-60 ms.
    const senderMs = (ourMs: number): number => 3000 + ourMs * 1.001;
    let random = 1;
    const jitter = (): number => ((random = (random * 16807) % 2147483647) % 61);
    const pending: Array<{ at: number; video: boolean; mediaMs: number }> = [];
    // Each stream comes out of its decoder in order: a late packet holds back the ones after it.
    const last = { video: 0, audio: 0 };
    const arrival = (video: boolean, t: number): number => {
      const at = Math.max(t + 40 + jitter(), video ? last.video : last.audio);
      if (video) last.video = at;
      else last.audio = at;
      return at;
    };
    let samplesOut = 0;
    let videoMs: number | null = null;
    const out = new Int16Array(3200);
    const errors: number[] = [];
    for (let t = 0; t < 60_000; t += 5) {
      clock.t = t;
      // The sender makes a picture every 33.3 ms and 20 ms of audio every 20 ms of its clock.
      if (t % 100 < 5 || t % 100 === 35 || t % 100 === 65) pending.push({ at: arrival(true, t), video: true, mediaMs: senderMs(t) });
      if (t % 20 === 0) pending.push({ at: arrival(false, t), video: false, mediaMs: senderMs(t) });
      pending.sort((a, b) => a.at - b.at);
      while (pending[0] && pending[0].at <= t) {
        const m = pending.shift()!;
        if (m.video) {
          videoMs = Math.max(videoMs ?? -Infinity, m.mediaMs);
          playout.observe(m.mediaMs, t);
        } else {
          timeline.anchor(samplesOut, m.mediaMs);
          mixer.push('p', Buffer.alloc(960 * 4));
          samplesOut += 960;
          playout.observe(m.mediaMs + 20, t);
        }
      }
      if (t % 35 !== 0) continue; // ~30 program ticks a second
      const target = playout.mediaTimeAt(t);
      if (target === null || videoMs === null) continue;
      if (mixer.buffered('p') === 0) {
        mixer.mix(out);
        continue;
      }
      const readIndex = samplesOut - mixer.buffered('p');
      const readMs = timeline.mediaMs(readIndex)!;
      const fix = audioCorrection(readMs, target, 20);
      if (fix.silenceMs > 0) mixer.delay('p', (fix.silenceMs * SAMPLE_RATE) / 1000);
      const dropped = mixer.skip('p', (fix.skipMs * SAMPLE_RATE) / 1000);
      if (t > 5000 && fix.silenceMs === 0) errors.push((timeline.mediaMs(readIndex + dropped) ?? readMs) - target);
      mixer.mix(out);
      assert.ok(playout.bufferMs! <= 150, `buffer ${playout.bufferMs} ms at ${t}`);
    }
    const worst = Math.max(...errors.map(Math.abs));
    assert.ok(worst <= 20, `audio within 20 ms of the timeline the video is shown on (worst ${worst.toFixed(1)} ms)`);
  });
});

describe('a shrunk tile scales the decoder picture (no second decoder)', () => {
  it('nearest-sample scaling halves a picture plane by plane', async () => {
    const { allocPicture } = await import('../../src/compositor/picture.js');
    const { scaleMap, scalePicture } = await import('../../src/compositor/scalePicture.js');
    const src = allocPicture(8, 4);
    for (let i = 0; i < 32; i += 1) src.data[i] = i; // luma: value = row * 8 + column
    src.data.fill(100, 32, 40); // U
    src.data.fill(200, 40, 48); // V
    const dst = allocPicture(4, 2);
    scalePicture(dst, src, scaleMap(src, dst));
    assert.deepEqual([...dst.data.subarray(0, 8)], [9, 11, 13, 15, 25, 27, 29, 31]);
    assert.deepEqual([...dst.data.subarray(8, 10)], [100, 100]);
    assert.deepEqual([...dst.data.subarray(10, 12)], [200, 200]);
  });

  it('an exact 2× or ½ scale (a 32-bit word at a time) gives the same picture as sampling pixel by pixel', async () => {
    const { allocPicture } = await import('../../src/compositor/picture.js');
    const { scaleMap, scalePicture } = await import('../../src/compositor/scalePicture.js');
    const src = allocPicture(64, 36);
    for (let i = 0; i < src.data.length; i += 1) src.data[i] = (i * 37) & 255;
    const cases = [
      { size: { width: 128, height: 72 }, ratio: 2, x0: 0 },
      { size: { width: 32, height: 18 }, ratio: 0.5, x0: 1 },
      // A window of the source (a filled tile's crop) scales from its own first column.
      { size: { width: 64, height: 36 }, from: { x: 16, y: 8, w: 32, h: 18 }, ratio: 2, x0: 16 },
    ];
    for (const { size, from, ratio, x0 } of cases) {
      const map = scaleMap(src, size, from);
      assert.deepEqual(map.wordX, { ratio, x0 }, `${size.width}x${size.height} is scaled word by word`);
      const fast = allocPicture(size.width, size.height);
      const slow = allocPicture(size.width, size.height);
      scalePicture(fast, src, map);
      scalePicture(slow, src, { ...map, wordX: null, wordCx: null });
      assert.deepEqual(fast.data, slow.data, `${size.width}x${size.height}`);
    }
    assert.equal(scaleMap(src, { width: 96, height: 54 }).wordX, null, 'a 1.5× map samples pixel by pixel');
  });
});
