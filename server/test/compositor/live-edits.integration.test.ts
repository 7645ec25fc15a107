import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { FlvRelay } from '../../src/flv/FlvRelay.js';
import { decodeLogo } from '../../src/compositor/logo.js';
import { Program } from '../../src/compositor/Program.js';
import { logoBox, type SceneInput } from '../../src/compositor/scene.js';
import { newContentKey } from '../../src/compositor/Stills.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { TEST_MEDIA_CODECS } from '../../../e2e/fixtures/rtpParticipant.js';
import { makePng } from './pngFixture.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The output picture at `seconds` as 1280x720 RGB. */
function frameAt(ffmpegPath: string, file: string, seconds: number): Promise<Buffer> {
  const args = ['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  return new Promise((resolve, reject) =>
    execFile(ffmpegPath, args, { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
}

function pixel(rgb: Buffer, x: number, y: number): [number, number, number] {
  const i = (y * 1280 + x) * 3;
  return [rgb[i] ?? 0, rgb[i + 1] ?? 0, rgb[i + 2] ?? 0];
}

/** The slate's middle band, where its text is drawn. */
function middle(rgb: Buffer): Buffer {
  return rgb.subarray(300 * 1280 * 3, 420 * 1280 * 3);
}

describe('Live edits on a real Program (slate text, logo)', { timeout: 60_000 }, () => {
  let worker: mediasoup.types.Worker;
  let router: mediasoup.types.Router;
  let dir: string;
  const ffmpegPath = resolveFfmpegPath();

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
    dir = mkdtempSync(join(tmpdir(), 'onair-live-edits-'));
  });
  after(() => {
    worker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a new slate text and a logo in the top-left corner show on the next frames, the same encoder throughout; the logo moves corners and goes', async () => {
    const relay = new FlvRelay();
    const path = join(dir, 'program.flv');
    const file = createWriteStream(path);
    relay.addSink({ id: 'file', write: (chunk) => file.write(chunk) });
    const input: Omit<SceneInput, 'frame'> = { participants: [], layout: 'auto', speakerId: null, title: null, lowerThird: null, slateText: 'Starting soon', logo: null };
    const program = Program.create({ id: 'edits', router, resolution: '720p', ffmpegPath, logger }, input, new Map());
    program.on('encoder', (id) => relay.expect(id));
    program.on('tag', (id, tag) => relay.push(id, tag));
    relay.expect(program.stats().encoderId ?? '');
    const image = await decodeLogo(ffmpegPath, makePng(dir, 'red', '200x100'), logoBox({ width: 1280, height: 720 }));

    await sleep(1500);
    const before = program.stats().sceneVersion;
    program.setScene({ ...input, slateText: 'Back in five minutes', logo: { key: newContentKey(), image, corner: 'top-left' } }, new Map());
    assert.equal(program.stats().slate, 'Back in five minutes');
    assert.equal(program.stats().sceneVersion, before + 1);
    await sleep(1500);
    program.setScene({ ...input, slateText: 'Back in five minutes', logo: { key: newContentKey(), image, corner: 'bottom-right' } }, new Map());
    await sleep(1500);
    program.setScene({ ...input, slateText: 'Back in five minutes', logo: null }, new Map());
    await sleep(1500);
    const stats = program.stats();
    await program.close();
    await new Promise((r) => file.end(r));

    assert.equal(stats.encoderStarts, 1, 'one encoder for every edit');
    const [first, logoTopLeft, logoBottomRight, noLogo] = await Promise.all([1.0, 2.5, 4.0, 5.5].map((t) => frameAt(ffmpegPath, path, t)));
    const slateColour = pixel(first!, 132, 82);
    // The slate background (0x111827) under where the logo will be.
    assert.ok(slateColour[0] < 40 && slateColour[2] < 60, `slate ${slateColour}`);
    const red = pixel(logoTopLeft!, 132, 82);
    assert.ok(red[0] > 200 && red[1] < 60 && red[2] < 60, `top-left logo pixel ${red}`);
    const corner = pixel(logoTopLeft!, 1148, 638);
    assert.ok(corner[0] < 40, `no logo bottom-right yet: ${corner}`);
    assert.notDeepEqual(middle(first!), middle(logoTopLeft!), 'the slate text changed');
    const moved = pixel(logoBottomRight!, 1148, 638);
    assert.ok(moved[0] > 200 && moved[1] < 60, `bottom-right logo pixel ${moved}`);
    assert.ok(pixel(logoBottomRight!, 132, 82)[0] < 40, 'the top-left corner is the slate again');
    assert.ok(pixel(noLogo!, 1148, 638)[0] < 40, 'the logo is gone');
  });
});
