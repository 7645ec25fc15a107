import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { VerticalLayout } from '@onair/shared';
import { allocPicture, type Picture, type Rect } from '../../src/compositor/picture.js';
import { bilinearMap, fillWindow, fitSize, scaleBilinear } from '../../src/compositor/scalePicture.js';
import { SharedTile } from '../../src/compositor/SharedTile.js';
import { scaleSimd, simdKernel, simdKernelError, simdMap } from '../../src/compositor/simdScale.js';
import { verticalFrame } from '../../src/compositor/Program.js';
import { buildScene, sourcesFor, type SceneInput, type SceneParticipant } from '../../src/compositor/scene.js';

const FRAME = verticalFrame('720p');

function people(n: number, opts: { screenAt?: number } = {}): SceneParticipant[] {
  return Array.from({ length: n }, (_, i) => ({
    peerId: `p${i}`,
    displayName: `Person ${i}`,
    camera: { producerId: `cam${i}`, paused: false },
    screen: opts.screenAt === i ? { producerId: `scr${i}`, paused: false } : null,
    mic: { producerId: `mic${i}`, paused: false },
  }));
}

function vertical(participants: SceneParticipant[], layout: VerticalLayout, extra: Partial<SceneInput> = {}) {
  return buildScene({ participants, layout: 'grid', vertical: layout, speakerId: null, frame: FRAME, title: null, lowerThird: null, slateText: 'Starting soon', ...extra });
}

const overlap = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (r: Rect, o: Rect): boolean => r.x >= o.x && r.y >= o.y && r.x + r.w <= o.x + o.w && r.y + r.h <= o.y + o.h;
const area = (r: Rect): number => r.w * r.h;

describe('vertical program geometry (table)', () => {
  const cases: Array<{
    name: string;
    input: SceneParticipant[];
    layout: VerticalLayout;
    extra?: Partial<SceneInput>;
    drawn: string;
    /** Rects of the tiles, in order, and which producer each shows. */
    tiles: Array<{ rect: Rect; video: string }>;
  }> = [
    { name: 'auto, one person: single, the whole frame', input: people(1), layout: 'auto', drawn: 'single', tiles: [{ rect: { x: 0, y: 0, w: 720, h: 1280 }, video: 'cam0' }] },
    {
      name: 'auto, two people: stacked halves',
      input: people(2),
      layout: 'auto',
      drawn: 'stack',
      tiles: [
        { rect: { x: 0, y: 0, w: 720, h: 640 }, video: 'cam0' },
        { rect: { x: 0, y: 640, w: 720, h: 640 }, video: 'cam1' },
      ],
    },
    {
      name: 'auto with a screen share: the speaker on top, the screen below',
      input: people(2, { screenAt: 1 }),
      layout: 'auto',
      extra: { speakerId: 'p1' },
      drawn: 'split',
      tiles: [
        { rect: { x: 0, y: 0, w: 720, h: 640 }, video: 'cam1' },
        { rect: { x: 0, y: 640, w: 720, h: 640 }, video: 'scr1' },
      ],
    },
    {
      name: 'split without a screen: the speaker on top, the next person below',
      input: people(3),
      layout: 'split',
      extra: { speakerId: 'p2' },
      drawn: 'split',
      tiles: [
        { rect: { x: 0, y: 0, w: 720, h: 640 }, video: 'cam2' },
        { rect: { x: 0, y: 640, w: 720, h: 640 }, video: 'cam0' },
      ],
    },
    {
      name: 'three stacked: full-width thirds covering the frame',
      input: people(3),
      layout: 'stack',
      drawn: 'stack',
      tiles: [
        { rect: { x: 0, y: 0, w: 720, h: 426 }, video: 'cam0' },
        { rect: { x: 0, y: 426, w: 720, h: 426 }, video: 'cam1' },
        { rect: { x: 0, y: 852, w: 720, h: 428 }, video: 'cam2' },
      ],
    },
    {
      name: 'five stacked: two columns, the last row centred',
      input: people(5),
      layout: 'stack',
      drawn: 'stack',
      tiles: [
        { rect: { x: 0, y: 0, w: 360, h: 426 }, video: 'cam0' },
        { rect: { x: 360, y: 0, w: 360, h: 426 }, video: 'cam1' },
        { rect: { x: 0, y: 426, w: 360, h: 426 }, video: 'cam2' },
        { rect: { x: 360, y: 426, w: 360, h: 426 }, video: 'cam3' },
        { rect: { x: 180, y: 852, w: 360, h: 428 }, video: 'cam4' },
      ],
    },
    {
      name: 'single speaker: only the featured speaker, whoever else is there',
      input: people(4),
      layout: 'single',
      extra: { speakerId: 'p3' },
      drawn: 'single',
      tiles: [{ rect: { x: 0, y: 0, w: 720, h: 1280 }, video: 'cam3' }],
    },
    {
      name: 'a title and a lower third: the stage lies between the bands',
      input: people(2),
      layout: 'stack',
      extra: { title: 'Show', lowerThird: 'Guest' },
      drawn: 'stack',
      tiles: [
        { rect: { x: 0, y: 106, w: 720, h: 534 }, video: 'cam0' },
        { rect: { x: 0, y: 640, w: 720, h: 534 }, video: 'cam1' },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = vertical(c.input, c.layout, c.extra);
      assert.equal(s.layout, c.drawn);
      assert.deepEqual(
        s.tiles.map((t) => ({ rect: t.rect, video: t.video?.producerId })),
        c.tiles,
      );
      for (const [i, t] of s.tiles.entries()) {
        assert.ok(inside(t.rect, s.stage), `tile ${i} inside the stage`);
        for (const [j, u] of s.tiles.entries()) if (i < j) assert.ok(!overlap(t.rect, u.rect), `tiles ${i} and ${j} do not overlap`);
        for (const v of [t.rect.x, t.rect.y, t.rect.w, t.rect.h]) assert.equal(v % 2, 0, 'even geometry');
      }
      // Everyone on stage is heard in the vertical program too, seen or not.
      assert.equal(s.audio.length, c.input.length);
    });
  }

  it('full-width layouts cover the stage without a gap', () => {
    for (const n of [1, 2, 3]) {
      const s = vertical(people(n), 'stack');
      assert.equal(s.tiles.reduce((sum, t) => sum + area(t.rect), 0), area(s.stage), `${n} stacked`);
    }
  });

  it('nobody on stage: the slate, in the vertical frame too', () => {
    const s = vertical([], 'auto');
    assert.equal(s.tiles.length, 0);
    assert.equal(s.slate, 'Starting soon');
  });

  it("the vertical program's decoders deliver each tile's own size, and no microphones (the mix is shared)", () => {
    const s = vertical(people(2, { screenAt: 0 }), 'split');
    const wants = sourcesFor(s, { exactSize: true, audio: false });
    assert.deepEqual(
      [...wants.values()].map((w) => [w.producerId, w.width, w.height, w.fit]),
      [
        ['cam0', 720, 640, 'fill'],
        ['scr0', 720, 640, 'fit'],
      ],
    );
  });

  it('1080p vertical is 1080x1920', () => {
    assert.deepEqual(verticalFrame('1080p'), { width: 1080, height: 1920 });
    const s = buildScene({ participants: people(1), layout: 'grid', vertical: 'single', speakerId: null, frame: verticalFrame('1080p'), title: null, lowerThird: null, slateText: '' });
    assert.deepEqual(s.tiles[0]?.rect, { x: 0, y: 0, w: 1080, h: 1920 });
  });
});

describe('vertical tiles cut from the 16:9 pictures (one decode per camera)', () => {
  it('the window a filled tile shows: centred, the tile’s aspect ratio, even (table)', () => {
    const cases: Array<[string, { width: number; height: number }, { width: number; height: number }, Rect]> = [
      ['16:9 picture, a 9:16 tile: a centred column', { width: 640, height: 360 }, { width: 360, height: 640 }, { x: 218, y: 0, w: 202, h: 360 }],
      ['16:9 picture, a 720x640 tile', { width: 640, height: 360 }, { width: 720, height: 640 }, { x: 118, y: 0, w: 404, h: 360 }],
      ['16:9 picture, a wider tile (title bands): a centred band', { width: 640, height: 360 }, { width: 720, height: 200 }, { x: 0, y: 92, w: 640, h: 176 }],
      ['same aspect ratio: all of it', { width: 1280, height: 720 }, { width: 640, height: 360 }, { x: 0, y: 0, w: 1280, h: 720 }],
    ];
    for (const [name, src, tile, want] of cases) assert.deepEqual(fillWindow(src, tile), want, name);
  });

  it('a letterboxed tile (a screen share) keeps the picture’s aspect ratio inside the tile', () => {
    assert.deepEqual(fitSize({ width: 1280, height: 720 }, { width: 720, height: 640 }), { width: 720, height: 404 });
    assert.deepEqual(fitSize({ width: 640, height: 360 }, { width: 200, height: 720 }), { width: 200, height: 112 });
    assert.deepEqual(fitSize({ width: 360, height: 640 }, { width: 720, height: 640 }), { width: 360, height: 640 });
  });

  it('a tile follows the picture the 16:9 program shows at this tick, scaled once per new picture', () => {
    // A 16:9 picture whose luma is its column index / 4 (0..159), chroma constant.
    const src = allocPicture(640, 360);
    for (let y = 0; y < 360; y += 1) for (let x = 0; x < 640; x += 1) src.data[y * 640 + x] = x >> 2;
    const shown = { current: { picture: src }, frameKey: 1, lastFrameAt: 5 };
    const tile = new SharedTile(() => shown, { width: 360, height: 640, fit: 'fill' });
    const first = tile.picture;
    assert.ok(first);
    assert.deepEqual([first.width, first.height], [360, 640]);
    // Its left edge is column 218 of the picture, its right edge column 419 (the centred 202 columns).
    assert.equal(first.data[0], 218 >> 2);
    assert.equal(first.data[359], 419 >> 2);
    assert.equal(first.data[639 * 360 + 359], 419 >> 2, 'every row, to the bottom');
    assert.equal(tile.frameKey, 1);
    assert.equal(tile.lastFrameAt, 5);
    src.data.fill(0, 0, 640 * 360);
    assert.equal(tile.picture?.data[0], 218 >> 2, 'the same picture (same key) is not scaled again');
    shown.frameKey = 2;
    assert.equal(tile.picture?.data[0], 0, 'a new picture is');
    tile.resize({ width: 720, height: 640, fit: 'fit' });
    assert.deepEqual([tile.picture?.width, tile.picture?.height], [720, 404], 'a layout change cuts the next picture for the new tile');
    const none = new SharedTile(() => undefined, { width: 360, height: 640, fit: 'fill' });
    assert.equal(none.picture, null, 'no 16:9 source yet: no picture (the name tile)');
  });
});

describe('bilinear scaling of a cut (scaleBilinear)', () => {
  /** Plane p (0 Y, 1 U, 2 V) of a picture as [base, width, height]. */
  const plane = (pic: { width: number; height: number }, p: number): [number, number, number] => {
    const cw = pic.width / 2;
    const ch = pic.height / 2;
    const u = pic.width * pic.height;
    return p === 0 ? [0, pic.width, pic.height] : [p === 1 ? u : u + cw * ch, cw, ch];
  };

  /** Float bilinear from the window of `src`, pixel centres aligned, clamped to the window: what scaleBilinear approximates with 8-bit weights. */
  function reference(src: Picture, dst: { width: number; height: number }, win: Rect, p: number, x: number, y: number, rows: 'bilinear' | 'nearest'): number {
    const [base, sw] = plane(src, p);
    const [, dw, dh] = plane(dst, p);
    const k = p === 0 ? 1 : 2;
    const [wx, wy, ww, wh] = [win.x / k, win.y / k, win.w / k, win.h / k];
    const at = (i: number, n: number, span: number) => Math.min(span - 1, Math.max(0, ((i + 0.5) * span) / n - 0.5));
    const cx = at(x, dw, ww);
    const cy = rows === 'nearest' ? Math.min(wh - 1, Math.floor(((y + 0.5) * wh) / dh)) : at(y, dh, wh);
    const x0 = Math.floor(cx);
    const y0 = Math.floor(cy);
    const x1 = Math.min(ww - 1, x0 + 1);
    const y1 = Math.min(wh - 1, y0 + 1);
    const s = (xx: number, yy: number) => src.data[base + (wy + yy) * sw + wx + xx]!;
    const fx = cx - x0;
    const fy = cy - y0;
    return (s(x0, y0) * (1 - fx) + s(x1, y0) * fx) * (1 - fy) + (s(x0, y1) * (1 - fx) + s(x1, y1) * fx) * fy;
  }

  it('matches float bilinear within 1.5 levels (8-bit weights, rows rounded to 8 bits between the passes), every plane, word-aligned or not (table)', () => {
    const cases: Array<[string, [number, number], [number, number], 'fill' | 'all', 'bilinear' | 'nearest']> = [
      ['the two-person vertical tile: a 404x360 cut ×1.78', [640, 360], [720, 640], 'fill', 'bilinear'],
      ['the same, blended along rows only (SharedTile, luma)', [640, 360], [720, 640], 'fill', 'nearest'],
      ['the four-person tile: a 202x360 cut', [640, 360], [360, 640], 'fill', 'bilinear'],
      ['the four-person tile, along rows only', [640, 360], [360, 640], 'fill', 'nearest'],
      ['a width that is not a multiple of four (no 32-bit path)', [64, 36], [90, 80], 'fill', 'bilinear'],
      ['twice the size, whole picture', [32, 18], [64, 36], 'all', 'bilinear'],
      ['a slight shrink', [80, 40], [72, 36], 'all', 'bilinear'],
    ];
    for (const [name, [sw, sh], [dw, dh], mode, rows] of cases) {
      const src = allocPicture(sw, sh);
      let seed = 7;
      for (let i = 0; i < src.data.length; i += 1) src.data[i] = seed = (seed * 1103515245 + 12345) & 0xff;
      const dst = allocPicture(dw, dh);
      const win = mode === 'fill' ? fillWindow(src, dst) : { x: 0, y: 0, w: sw, h: sh };
      scaleBilinear(dst, src, bilinearMap(src, dst, win, rows));
      let worst = 0;
      for (let p = 0; p < 3; p += 1) {
        const [base, w, h] = plane(dst, p);
        for (let y = 0; y < h; y += 1) for (let x = 0; x < w; x += 1) worst = Math.max(worst, Math.abs(dst.data[base + y * w + x]! - reference(src, dst, win, p, x, y, rows)));
      }
      assert.ok(worst <= 1.5, `${name}: worst difference ${worst.toFixed(2)}`);
    }
  });

  it('reads nothing outside the window it shows', () => {
    const src = allocPicture(64, 36, { y: 255, u: 255, v: 255 });
    const win = fillWindow(src, { width: 36, height: 64 });
    for (let y = 0; y < 36; y += 1) src.data.fill(0, y * 64 + win.x, y * 64 + win.x + win.w);
    for (let y = 0; y < 18; y += 1) for (const base of [64 * 36, 64 * 36 + 32 * 18]) src.data.fill(0, base + y * 32 + win.x / 2, base + y * 32 + (win.x + win.w) / 2);
    const dst = allocPicture(72, 128);
    scaleBilinear(dst, src, bilinearMap(src, dst, win));
    assert.equal(Math.max(...dst.data), 0);
    scaleBilinear(dst, src, bilinearMap(src, dst, win, 'nearest'));
    assert.equal(Math.max(...dst.data), 0, 'along rows only');
  });

  it('a tile cut smaller than itself has its luma blended (a ramp across it gets the levels between its steps), one as large is sampled', () => {
    // Luma steps by 16 every column: nearest sample only repeats those levels, bilinear blends them.
    const src = allocPicture(64, 36);
    for (let y = 0; y < 36; y += 1) for (let x = 0; x < 64; x += 1) src.data[y * 64 + x] = 16 * (x % 8);
    for (let i = 0; i < 32 * 18; i += 1) src.data[64 * 36 + i] = 16 * (i % 8);
    const shown = { current: { picture: src }, frameKey: 1, lastFrameAt: 0 };
    const up = new SharedTile(() => shown, { width: 72, height: 64, fit: 'fill' }).picture!;
    const levels = new Set(up.data.subarray(0, 72 * 64));
    assert.ok([...levels].some((v) => v % 16 !== 0), 'scaled up: luma levels between the steps');
    assert.ok([...up.data.subarray(72 * 64, 72 * 64 + 36 * 32)].every((v) => v % 16 === 0), 'chroma sampled (nearest)');
    const same = new SharedTile(() => shown, { width: 20, height: 36, fit: 'fill' }).picture!;
    assert.ok([...same.data.subarray(0, 20 * 36)].every((v) => v % 16 === 0), 'a cut as large as the tile: its own pixels');
  });
});

describe('the SIMD tile scaler (server/wasm/scale.ts)', () => {
  it('is built by the install and loads', () => {
    assert.ok(simdKernel(), `the kernel did not load: ${simdKernelError()}`);
  });

  it('gives scaleBilinear(…, "nearest") byte for byte, every vertical tile size (table)', () => {
    const kernel = simdKernel()!;
    const cases: Array<[string, [number, number], [number, number]]> = [
      ['four people: a 202x360 cut to 360x640', [640, 360], [360, 640]],
      ['two people: a 404x360 cut to 720x640', [640, 360], [720, 640]],
      ['one person, speaker on top (720x1280)', [640, 360], [720, 1280]],
      ['1080p vertical, four people (540x960 from the top layer)', [1280, 720], [540, 960]],
      ['1080x1920 from a 640x360 picture', [640, 360], [1080, 1920]],
      ['a small picture, a width not a multiple of 16', [64, 36], [90, 80]],
    ];
    for (const [name, [sw, sh], [dw, dh]] of cases) {
      const src = allocPicture(sw, sh);
      let seed = 11;
      for (let i = 0; i < src.data.length; i += 1) src.data[i] = seed = (seed * 1103515245 + 12345) & 0xff;
      const tile = { width: dw, height: dh };
      const map = bilinearMap(src, tile, fillWindow(src, tile), 'nearest');
      const tables = simdMap(map);
      assert.ok(tables, `${name}: the kernel takes it`);
      const js = allocPicture(dw, dh);
      const simd = allocPicture(dw, dh, null);
      scaleBilinear(js, src, map, 'nearest');
      scaleSimd(kernel, simd, src, tables);
      assert.ok(js.data.equals(simd.data), `${name}: the same bytes`);
    }
  });

  it('leaves to JavaScript what it cannot take: rows blended too, a shrink, a tile under 32 pixels wide', () => {
    const src = allocPicture(640, 360);
    assert.equal(simdMap(bilinearMap(src, { width: 720, height: 640 }, fillWindow(src, { width: 720, height: 640 }), 'bilinear')), null, 'rows blended');
    assert.equal(simdMap(bilinearMap(src, { width: 320, height: 180 }, undefined, 'nearest')), null, 'sixteen pixels of a shrink span more than sixteen source bytes');
    assert.equal(simdMap(bilinearMap(src, { width: 30, height: 54 }, fillWindow(src, { width: 30, height: 54 }), 'nearest')), null);
  });
});
