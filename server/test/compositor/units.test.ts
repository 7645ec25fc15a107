import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AudioMixer } from '../../src/compositor/AudioMixer.js';
import { FrameClock } from '../../src/compositor/FrameClock.js';
import { allocPicture, blendOverlay, copyInto, fillRect, rgbToYuv, type Rect } from '../../src/compositor/picture.js';
import { buildScene, decodeSize, diffSources, sourcesFor, type SceneInput, type SceneParticipant } from '../../src/compositor/scene.js';
import { MAX_FREEZE_MS, STALL_MS } from '../../src/compositor/ProgramOutput.js';
import type { Clock } from '../../src/destinations/Destination.js';

const FRAME = { width: 1280, height: 720 };

function people(n: number, opts: { cameraOff?: number[]; screenAt?: number } = {}): SceneParticipant[] {
  return Array.from({ length: n }, (_, i) => ({
    peerId: `p${i}`,
    displayName: `Person ${i}`,
    camera: { producerId: `cam${i}`, paused: opts.cameraOff?.includes(i) ?? false },
    screen: opts.screenAt === i ? { producerId: `scr${i}`, paused: false } : null,
    mic: { producerId: `mic${i}`, paused: false },
  }));
}

function scene(participants: SceneParticipant[], extra: Partial<SceneInput> = {}) {
  return buildScene({ participants, layout: 'auto', speakerId: null, frame: FRAME, title: null, lowerThird: null, slateText: 'Starting soon', ...extra });
}

const overlap = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (r: Rect, o: Rect): boolean => r.x >= o.x && r.y >= o.y && r.x + r.w <= o.x + o.w && r.y + r.h <= o.y + o.h;

describe('scene geometry (table)', () => {
  const cases: Array<{ name: string; input: SceneParticipant[]; extra?: Partial<SceneInput>; tiles: number; layout: string; first?: Rect }> = [
    { name: 'nobody: the slate', input: [], tiles: 0, layout: 'grid' },
    { name: 'one person fills the frame', input: people(1), tiles: 1, layout: 'grid', first: { x: 0, y: 0, w: 1280, h: 720 } },
    { name: 'two side by side', input: people(2), tiles: 2, layout: 'grid', first: { x: 0, y: 0, w: 640, h: 720 } },
    { name: 'four in a 2x2', input: people(4), tiles: 4, layout: 'grid', first: { x: 0, y: 0, w: 640, h: 360 } },
    { name: 'nine in a 3x3', input: people(9), tiles: 9, layout: 'grid' },
    { name: 'twelve: nine tiles, all heard', input: people(12), tiles: 9, layout: 'grid' },
    { name: 'a screen share takes the main tile', input: people(3, { screenAt: 1 }), tiles: 4, layout: 'screen', first: { x: 0, y: 0, w: 1280, h: 540 } },
    { name: 'speaker layout features the speaker', input: people(3), extra: { layout: 'speaker', speakerId: 'p2' }, tiles: 3, layout: 'speaker' },
    { name: 'a title takes a band above the stage', input: people(1), extra: { title: 'Show' }, tiles: 1, layout: 'grid', first: { x: 0, y: 60, w: 1280, h: 660 } },
    { name: 'title and lower third: the stage is between the bands', input: people(4), extra: { title: 'Show', lowerThird: 'Guest' }, tiles: 4, layout: 'grid', first: { x: 0, y: 60, w: 640, h: 300 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = scene(c.input, c.extra);
      assert.equal(s.tiles.length, c.tiles);
      assert.equal(s.layout, c.layout);
      if (c.first) assert.deepEqual(s.tiles[0]?.rect, c.first);
      for (const [i, t] of s.tiles.entries()) {
        assert.ok(inside(t.rect, s.stage), `tile ${i} inside the stage`);
        for (const [j, u] of s.tiles.entries()) if (i < j) assert.ok(!overlap(t.rect, u.rect), `tiles ${i} and ${j} do not overlap`);
        for (const v of [t.rect.x, t.rect.y, t.rect.w, t.rect.h]) assert.equal(v % 2, 0, 'even geometry');
        if (s.title) assert.ok(!overlap(t.rect, s.title.band), 'the title never covers a tile');
        if (s.lowerThird) assert.ok(!overlap(t.rect, s.lowerThird.band), 'the lower third never covers a tile');
      }
      assert.equal(s.audio.length, c.input.length, 'every microphone is mixed');
      assert.equal(s.slate, c.input.length === 0 ? 'Starting soon' : null);
    });
  }

  it('speaker layout: the featured speaker gets the big tile', () => {
    const s = scene(people(3), { layout: 'speaker', speakerId: 'p2' });
    assert.equal(s.tiles[0]?.peerId, 'p2');
    assert.equal(s.tiles[0]?.layer, 2);
    assert.equal(s.tiles[1]?.layer, 0);
  });

  it('a camera that is off keeps its tile (drawn as a name tile)', () => {
    const s = scene(people(2, { cameraOff: [1] }));
    assert.equal(s.tiles.length, 2);
    assert.equal(s.tiles[1]?.video?.paused, true);
  });

  it('names are cleaned and cut', () => {
    const [p] = people(1);
    const s = scene([{ ...p!, displayName: `  ${'x'.repeat(50)}\n` }]);
    assert.equal(s.tiles[0]?.label?.length, 32);
  });
});

describe('scene diff', () => {
  it('a join adds only the newcomer; 2 → 3 → 4 people keep every decoder (same size class)', () => {
    for (const [from, to] of [[2, 3], [3, 4]] as const) {
      const diff = diffSources(sourcesFor(scene(people(from))), sourcesFor(scene(people(to))));
      assert.deepEqual(diff.add.map((w) => w.producerId).sort(), [`cam${to - 1}`, `mic${to - 1}`]);
      assert.deepEqual(diff, { add: diff.add, remove: [], resize: [] });
    }
  });

  it('a title band appearing resizes nothing', () => {
    assert.deepEqual(diffSources(sourcesFor(scene(people(4))), sourcesFor(scene(people(4), { title: 'Show' }))), { add: [], remove: [], resize: [] });
  });

  it('a leave from 2 to 1 (full frame) asks the one left for the full-size picture and top layer', () => {
    const diff = diffSources(sourcesFor(scene(people(2))), sourcesFor(scene(people(1))));
    assert.deepEqual(diff.remove.sort(), ['cam1', 'mic1']);
    assert.deepEqual(diff.resize.map((w) => [w.producerId, w.width, w.height, w.layer]), [['cam0', 1280, 720, 2]]);
  });

  it('decode sizes are 16:9 classes of the frame', () => {
    const table: Array<[number, [number, number]]> = [[1280, [1280, 720]], [640, [640, 360]], [426, [426, 240]], [320, [320, 180]], [200, [320, 180]], [900, [1280, 720]]];
    for (const [w, size] of table) assert.deepEqual(decodeSize(w, FRAME), { width: size[0], height: size[1] }, `tile ${w} wide`);
  });

  it('a mute or camera off changes no decoder', () => {
    const diff = diffSources(sourcesFor(scene(people(2))), sourcesFor(scene(people(2, { cameraOff: [0] }))));
    assert.deepEqual(diff, { add: [], remove: [], resize: [] });
  });
});

describe('pictures', () => {
  it('copyInto centres a smaller source and fills the rest', () => {
    const dst = allocPicture(8, 8);
    const src = allocPicture(4, 4, { y: 200, u: 50, v: 60 });
    copyInto(dst, { x: 0, y: 0, w: 8, h: 8 }, src);
    assert.equal(dst.data[0], 16);
    assert.equal(dst.data[2 * 8 + 2], 200);
    assert.equal(dst.data[5 * 8 + 5], 200);
    assert.equal(dst.data[6 * 8 + 6], 16);
    // U plane (4x4): centre 2x2 is the source colour.
    assert.equal(dst.data[64 + 1 * 4 + 1], 50);
    assert.equal(dst.data[64 + 16 + 2 * 4 + 2], 60);
  });

  it('copyInto crops a larger source to its centre', () => {
    const dst = allocPicture(4, 4);
    const src = allocPicture(8, 8, { y: 10, u: 128, v: 128 });
    fillRect(src, { x: 2, y: 2, w: 4, h: 4 }, { y: 99, u: 128, v: 128 });
    copyInto(dst, { x: 0, y: 0, w: 4, h: 4 }, src);
    assert.deepEqual([...dst.data.subarray(0, 16)], Array(16).fill(99));
  });

  it('blendOverlay mixes by opacity', () => {
    const dst = allocPicture(2, 2, { y: 100, u: 100, v: 100 });
    blendOverlay(dst, { width: 2, height: 2, y: new Uint8Array([200, 200, 200, 200]), u: new Uint8Array([200]), v: new Uint8Array([0]), a: new Uint8Array([255, 0, 128, 128]) }, 0, 0);
    assert.deepEqual([...dst.data], [200, 100, 150, 150, 200, 0]);
  });

  it('rgbToYuv matches BT.601 limited range', () => {
    assert.deepEqual(rgbToYuv(0x000000), { y: 16, u: 128, v: 128 });
    assert.deepEqual(rgbToYuv(0xffffff), { y: 235, u: 128, v: 128 });
  });
});

class FakeClock implements Clock {
  t = 0;
  timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  setInterval(): never {
    throw new Error('unused');
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.cancelled = true;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

describe('frame clock (fake clock)', () => {
  it('produces exactly fps frames per second, in order', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const fc = new FrameClock({ fps: 30, clock, onFrame: (i) => seen.push(i) });
    fc.start();
    clock.advance(1000);
    // Frames 0..30 are due at 0, 33.3, …, 1000 ms.
    assert.equal(seen.length, 31);
    assert.deepEqual(seen.slice(0, 3), [0, 1, 2]);
    clock.advance(9000);
    assert.equal(fc.frames, 301);
    assert.equal(fc.maxBurst, 1);
  });

  it('catches up after a stall of the event loop, so the timeline stays on the wall clock', () => {
    const clock = new FakeClock();
    let frames = 0;
    const fc = new FrameClock({ fps: 30, clock, onFrame: () => (frames += 1) });
    fc.start();
    clock.advance(100);
    // The event loop blocks for 500 ms: the next wake-up produces every frame that came due.
    clock.t += 500;
    clock.advance(1);
    assert.equal(frames, Math.floor((601 * 30) / 1000) + 1);
    assert.ok(fc.maxBurst >= 15);
    assert.ok(Math.abs(fc.driftMs) <= 1000 / 30);
    fc.stop();
    clock.advance(1000);
    assert.equal(frames, 19);
  });
});

describe('program output limits', () => {
  it('a stalled camera turns to its name tile well before the longest freeze the program allows', () => {
    // The ticks that draw the name tile (and any repeated meanwhile) come after STALL_MS: CI read them at up to 0.1 s.
    assert.ok(STALL_MS + 200 <= MAX_FREEZE_MS, `STALL_MS ${STALL_MS} ms, MAX_FREEZE_MS ${MAX_FREEZE_MS} ms`);
  });
});

describe('audio mixer', () => {
  const tick = 1600;
  const pcm = (frames: number, value: number): Buffer => {
    const b = Buffer.alloc(frames * 4);
    for (let i = 0; i < frames * 2; i += 1) b.writeInt16LE(value, i * 2);
    return b;
  };

  it('waits for its start level, then mixes sources sample by sample with clipping', () => {
    const m = new AudioMixer({ samplesPerTick: tick, startMs: 40 });
    const out = new Int16Array(tick * 2);
    m.addSource('a');
    m.addSource('b');
    m.push('a', pcm(1000, 1000));
    m.mix(out);
    assert.equal(out[0], 0, 'below the start level: silent');
    m.push('a', pcm(3000, 1000));
    m.push('b', pcm(4000, 32000));
    m.mix(out);
    assert.equal(out[0], 32767, 'clipped');
    m.removeSource('b');
    m.mix(out);
    assert.equal(out[0], 1000);
  });

  it('a source that runs dry is silent for the rest of the tick and does not stall the others', () => {
    const m = new AudioMixer({ samplesPerTick: tick, startMs: 20 });
    const out = new Int16Array(tick * 2);
    m.addSource('a');
    m.push('a', pcm(2000, 500));
    m.mix(out);
    m.mix(out);
    assert.equal(out[0], 500);
    assert.equal(out[2 * 400 + 1], 0, 'after the 400 frames left: silence');
    assert.equal(m.stats('a')?.underruns, 1);
  });

  it('samples split across chunks (odd byte counts) are reassembled', () => {
    const m = new AudioMixer({ samplesPerTick: tick, startMs: 1 });
    const out = new Int16Array(tick * 2);
    m.addSource('a');
    const all = pcm(tick, -1234);
    m.push('a', all.subarray(0, 3));
    m.push('a', all.subarray(3, 4001));
    m.push('a', all.subarray(4001));
    m.mix(out);
    assert.ok(out.every((v) => v === -1234));
  });

  it('PCM at an odd byte offset and wrapping around the ring comes out unchanged', () => {
    const m = new AudioMixer({ samplesPerTick: tick, startMs: 1, maxMs: 1000 });
    const out = new Int16Array(tick * 2);
    m.addSource('a');
    // Fill and drain most of the 1 s ring so the next push wraps.
    for (let i = 0; i < 29; i += 1) {
      m.push('a', pcm(tick, 7));
      m.mix(out);
    }
    const odd = Buffer.alloc(tick * 4 + 1);
    pcm(tick, 321).copy(odd, 1);
    m.push('a', odd.subarray(1));
    m.push('a', pcm(tick, -5));
    m.mix(out);
    assert.ok(out.every((v) => v === 321));
    m.mix(out);
    assert.ok(out.every((v) => v === -5));
  });

  it('a source far ahead is cut back to its start level (bounded latency)', () => {
    const m = new AudioMixer({ samplesPerTick: tick, startMs: 60, maxMs: 150 });
    m.addSource('a');
    m.push('a', pcm(48_000 / 2, 1));
    const stats = m.stats('a');
    assert.ok(stats && stats.bufferedMs <= 150, `buffered ${stats?.bufferedMs} ms`);
    assert.ok(stats.droppedMs > 300);
  });
});
