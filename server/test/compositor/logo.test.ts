import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLogo, hasPngSignature, LogoDecodeError } from '../../src/compositor/logo.js';
import { allocPicture, blendOverlay } from '../../src/compositor/picture.js';
import { buildScene, logoBox, logoRect, sameScene, type SceneInput } from '../../src/compositor/scene.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { makePng } from './pngFixture.js';

const frame = { width: 1280, height: 720 };
const base: SceneInput = { participants: [], layout: 'auto', speakerId: null, frame, title: null, lowerThird: null, slateText: 'Back soon' };

describe('logo geometry (table-driven)', () => {
  const image = { width: 200, height: 100 };
  const cases = [
    ['top-left', { x: 32, y: 32, w: 200, h: 100 }],
    ['top-right', { x: 1048, y: 32, w: 200, h: 100 }],
    ['bottom-left', { x: 32, y: 588, w: 200, h: 100 }],
    ['bottom-right', { x: 1048, y: 588, w: 200, h: 100 }],
  ] as const;
  for (const [corner, rect] of cases) {
    it(`a 200x100 logo in the ${corner} corner of 720p sits one margin (32 px) from both edges`, () => {
      assert.deepEqual(logoRect(image, corner, frame), rect);
    });
  }
  it('the largest logo is a fifth of the width and a sixth of the height (even)', () => {
    assert.deepEqual(logoBox(frame), { width: 256, height: 120 });
    assert.deepEqual(logoBox({ width: 1920, height: 1080 }), { width: 384, height: 180 });
  });
});

describe('scene with a logo and slate text', () => {
  const image = { width: 2, height: 2, y: new Uint8Array(4), u: new Uint8Array(1), v: new Uint8Array(1), a: new Uint8Array(4) };
  it('the slate shows the slate text while nobody is on stage; a new text is a new scene', () => {
    const a = buildScene(base);
    const b = buildScene({ ...base, slateText: 'Back in 5 minutes' });
    assert.equal(a.slate, 'Back soon');
    assert.equal(b.slate, 'Back in 5 minutes');
    assert.equal(sameScene(a, b), false);
  });
  it('a logo is placed in its corner; scenes compare logos by key, and a corner change is a new scene', () => {
    const a = buildScene({ ...base, logo: { key: 7, image, corner: 'top-left' } });
    assert.deepEqual(a.logo?.rect, { x: 32, y: 32, w: 2, h: 2 });
    const sameKey = buildScene({ ...base, logo: { key: 7, image: { ...image, y: new Uint8Array(4).fill(9) }, corner: 'top-left' } });
    assert.equal(sameScene(a, sameKey), true);
    assert.equal(sameScene(a, buildScene({ ...base, logo: { key: 8, image, corner: 'top-left' } })), false);
    assert.equal(sameScene(a, buildScene({ ...base, logo: { key: 7, image, corner: 'bottom-right' } })), false);
    assert.equal(sameScene(a, buildScene(base)), false);
  });
});

describe('decodeLogo with a real ffmpeg', () => {
  let dir: string;
  const ffmpegPath = resolveFfmpegPath();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'onair-logo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes a PNG once into Y, U, V and alpha, keeping its size when it fits', async () => {
    const logo = await decodeLogo(ffmpegPath, makePng(dir, 'red@0.5', '200x100'), logoBox(frame));
    assert.equal(logo.width, 200);
    assert.equal(logo.height, 100);
    assert.equal(logo.a.length, 200 * 100);
    assert.equal(logo.u.length, 100 * 50);
    // Red in limited-range BT.601: Y≈82, V≈240; half transparent.
    assert.ok(Math.abs((logo.y[0] ?? 0) - 82) <= 2, `Y ${logo.y[0]}`);
    assert.ok(Math.abs((logo.v[0] ?? 0) - 240) <= 2, `V ${logo.v[0]}`);
    assert.ok(Math.abs((logo.a[0] ?? 0) - 128) <= 1, `A ${logo.a[0]}`);
  });

  it('scales a large PNG down to fit the logo box (aspect kept, even sides)', async () => {
    const logo = await decodeLogo(ffmpegPath, makePng(dir, 'blue', '1000x200'), logoBox(frame));
    assert.equal(logo.width, 256);
    assert.ok(logo.height <= 120 && logo.height % 2 === 0 && Math.abs(logo.height - 52) <= 2, `height ${logo.height}`);
  });

  it('refuses bytes without the PNG signature and a truncated PNG', async () => {
    const png = makePng(dir, 'green', '64x64');
    assert.equal(hasPngSignature(png), true);
    assert.equal(hasPngSignature(Buffer.from('GIF89a........')), false);
    await assert.rejects(decodeLogo(ffmpegPath, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), logoBox(frame)), LogoDecodeError);
    await assert.rejects(decodeLogo(ffmpegPath, png.subarray(0, 40), logoBox(frame)), LogoDecodeError);
  });

  it('an opaque logo blended over the program replaces the pixels under it; transparent ones leave them', async () => {
    const logo = await decodeLogo(ffmpegPath, makePng(dir, 'white', '20x10'), logoBox(frame));
    const picture = allocPicture(64, 32);
    blendOverlay(picture, logo, 10, 10);
    assert.ok((picture.data[12 * 64 + 12] ?? 0) >= 234);
    assert.equal(picture.data[0], 16);
  });
});
