import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFfmpegPath, resolveFfprobePath } from '../../src/media/ffmpegPath.js';

describe('ffmpeg path resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onair-bin-'));
  const fake = join(dir, 'ffmpeg');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);
  const probe = join(dir, 'ffprobe');
  writeFileSync(probe, '#!/bin/sh\n');
  chmodSync(probe, 0o755);
  const none = () => null;

  it('an explicit path (config) wins', () => {
    assert.equal(resolveFfmpegPath(fake, { env: { FFMPEG_PATH: '/nope' }, staticPath: none }), fake);
  });
  it('then FFMPEG_PATH', () => {
    assert.equal(resolveFfmpegPath(null, { env: { FFMPEG_PATH: fake, PATH: '/usr/bin' }, staticPath: none }), fake);
  });
  it('FFMPEG_PATH pointing nowhere is an error that names the variable', () => {
    assert.throws(() => resolveFfmpegPath(null, { env: { FFMPEG_PATH: '/no/such/ffmpeg' } }), /FFMPEG_PATH points to \/no\/such\/ffmpeg/);
  });
  it("then ffmpeg-static's binary when it exists", () => {
    assert.equal(resolveFfmpegPath(null, { env: { PATH: '/usr/bin' }, staticPath: () => fake }), fake);
  });
  it('then ffmpeg on PATH', () => {
    assert.equal(resolveFfmpegPath(null, { env: { PATH: `/nonexistent:${dir}` }, staticPath: none }), fake);
  });
  it('none found: a plain-word error', () => {
    assert.throws(() => resolveFfmpegPath(null, { env: { PATH: '/nonexistent' }, staticPath: none }), /ffmpeg was not found\. Install it/);
  });
  it('ffprobe: FFPROBE_PATH, then PATH', () => {
    assert.equal(resolveFfprobePath(null, { env: { FFPROBE_PATH: probe } }), probe);
    assert.equal(resolveFfprobePath(null, { env: { PATH: dir } }), probe);
    assert.throws(() => resolveFfprobePath(null, { env: { PATH: '/nonexistent' } }), /ffprobe was not found/);
  });
  it('this machine has a working ffmpeg', () => {
    assert.ok(resolveFfmpegPath().length > 0);
  });
  it('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});
