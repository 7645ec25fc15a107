import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { Program } from '../../src/compositor/Program.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { TEST_MEDIA_CODECS, type RtpParticipant } from '../../../e2e/fixtures/rtpParticipant.js';
import { FlvTagRecorder, readLipSync, startFlashBeepParticipant } from '../../../e2e/fixtures/lipSync.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Lip sync on real parts (an RTP sender with sender reports, mediasoup, the participant decoder, the program, x264)', { timeout: 90_000 }, () => {
  let worker: mediasoup.types.Worker;
  let router: mediasoup.types.Router;
  let sender: RtpParticipant;
  let dir: string;
  const ffmpegPath = resolveFfmpegPath();

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
    dir = mkdtempSync(join(tmpdir(), 'onair-lipsync-'));
    sender = await startFlashBeepParticipant(router, ffmpegPath);
  });

  after(async () => {
    await sender?.close();
    worker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a flash and a beep sent at the same instants come out of the program within 40 ms of each other, and the program's own A/V measure says so", async () => {
    const producers = new Map(sender.producers.map(({ producer }) => [producer.id, producer]));
    const program = Program.create(
      { id: 'lipsync', router, resolution: '720p', ffmpegPath, logger },
      {
        participants: [{ peerId: 'av', displayName: 'Flash and beep', camera: { producerId: sender.camera!.id, paused: false }, screen: null, mic: { producerId: sender.mic!.id, paused: false } }],
        layout: 'grid', speakerId: null, title: null, lowerThird: null, slateText: '',
      },
      producers,
    );
    const recorder = new FlvTagRecorder(program);
    await sleep(20_000);
    const stats = program.stats();
    await program.close();
    const file = join(dir, 'program.flv');
    recorder.write(file);
    const sync = await readLipSync(file, { ffmpegPath, skipMs: 3000 });
    console.log('lip sync events (flash − beep, ms):', sync.events.map((e) => Math.round(e.offsetMs)).join(' '), '; program measure', stats.decoders[0]?.avOffsetMs, 'ms');
    // Lip sync is judged on a program that ran in real time: on a machine so busy that the program
    // repeats or drops ticks, flashes and beeps are lost or shifted by whole frames (printed only).
    const degraded = stats.repeatedFrames + stats.droppedFrames > stats.frames * 0.05;
    if (degraded) console.log(`the program did not run in real time (${stats.repeatedFrames} repeated, ${stats.droppedFrames} dropped of ${stats.frames}): the read-back offset is not judged`);
    else {
      assert.ok(sync.events.length >= 5, `flashes and beeps found in the program (${sync.flashes.length} flashes, ${sync.beeps.length} beeps)`);
      assert.ok(Math.abs(sync.medianMs) <= 40, `flash-to-beep offset ${sync.medianMs} ms (median of ${sync.events.length})`);
    }
    const measured = stats.decoders[0]?.avOffsetMs;
    assert.ok(measured != null && Math.abs(measured) <= 40, `the broadcast status's A/V offset (${measured} ms)`);
    assert.ok((stats.decoders[0]?.bufferMs ?? Infinity) <= 150, `the jitter buffer stays within 150 ms (${stats.decoders[0]?.bufferMs} ms)`);
  });
});
