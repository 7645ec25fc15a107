import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { onAirParticipants } from '../../src/broadcast/BroadcastService.js';
import { Broadcast } from '../../src/broadcast/Broadcast.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { Peer } from '../../src/sfu/Peer.js';
import { startRtpParticipant, TEST_MEDIA_CODECS, type RtpParticipant } from '../../../e2e/fixtures/rtpParticipant.js';
import { run } from '../../../e2e/fixtures/processes.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mean level (dB) of a tone of `hz` in the program audio between `from` and `to` seconds (two narrow band-passes keep the other tones out). */
async function toneLevel(ffmpegPath: string, file: string, hz: number, from: number, to: number): Promise<number> {
  const out = await run(ffmpegPath, [
    '-hide_banner', '-nostats', '-ss', String(from), '-t', String(to - from), '-i', file, '-map', '0:a',
    '-af', `bandpass=f=${hz}:width_type=h:w=20,bandpass=f=${hz}:width_type=h:w=20,volumedetect`, '-f', 'null', '-',
  ]);
  const m = /mean_volume: (-?[\d.]+|-inf) dB/.exec(out);
  return m?.[1] === undefined || m[1] === '-inf' ? -120 : Number(m[1]);
}

describe('Backstage on the real Program (mediasoup, ffmpeg decoders and encoder)', { timeout: 120_000 }, () => {
  let worker: mediasoup.types.Worker;
  let router: mediasoup.types.Router;
  let dir: string;
  const ffmpegPath = resolveFfmpegPath();
  const people: RtpParticipant[] = [];

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
    dir = mkdtempSync(join(tmpdir(), 'onair-backstage-'));
    people.push(await startRtpParticipant({ router, peerId: 'host', displayName: 'Hana Host', size: '640x360', frequency: 440 }));
    people.push(await startRtpParticipant({ router, peerId: 'guest', displayName: 'Gus Guest', size: '640x360', frequency: 1000 }));
  });

  after(async () => {
    for (const p of people) await p.close();
    worker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a backstage guest is left out of the program (video and microphone); on air, the next scene has them, with the same encoder', async () => {
    // Real Peers holding the participants' real producers, as the Room keeps them.
    const peers = people.map((p, i) => {
      const peer = new Peer({
        id: p.peerId,
        userKey: p.peerId,
        displayName: p.displayName,
        role: i === 0 ? 'host' : 'guest',
        onAir: i === 0 ? { camera: true, screen: true } : { camera: false, screen: false },
        notify: () => undefined,
      });
      peer.rtpCapabilities = router.rtpCapabilities;
      for (const entry of p.producers) peer.producers.set(entry.producer.id, entry);
      return peer;
    });
    const [host, guest] = people as [RtpParticipant, RtpParticipant];
    const guestPeer = peers[1]!;
    const recordPath = join(dir, 'program.flv');
    const broadcast = await Broadcast.create({
      id: 'b-backstage',
      roomId: 'room-backstage',
      router,
      getParticipants: () => onAirParticipants({ joinedPeers: peers }),
      getActiveSpeakerId: () => null,
      destinations: [],
      layout: 'grid',
      recordPath,
      ffmpegPath,
      logger,
    });
    const decoded = () => new Set(broadcast.stats().program.decoders.flatMap((d) => d.producerIds));
    const guestProducers = guest.producers.map((p) => p.producer.id);
    const hostProducers = host.producers.map((p) => p.producer.id);
    try {
      assert.deepEqual([...decoded()].sort(), [...hostProducers].sort(), 'only the host is decoded while the guest is backstage');
      await sleep(3000);
      const version = broadcast.stats().program.sceneVersion;
      const goLiveAt = (broadcast.stats().relay.lastTimestamp ?? 0) / 1000;

      guestPeer.onAir.camera = true;
      broadcast.refresh();
      await Promise.resolve(); // refresh() applies the scene in a microtask
      assert.ok(broadcast.stats().program.sceneVersion > version, 'the scene changed at once (the next frame draws it)');
      for (const id of guestProducers) assert.ok(decoded().has(id), `the guest's ${id} is decoded once on air`);
      await sleep(3000);

      guestPeer.onAir.camera = false;
      broadcast.refresh();
      await Promise.resolve(); // refresh() applies the scene in a microtask
      const offAt = (broadcast.stats().relay.lastTimestamp ?? 0) / 1000;
      assert.ok(guestProducers.every((id) => !decoded().has(id)), "back backstage: the guest's decoders are gone");
      await sleep(2500);

      const stats = broadcast.stats();
      assert.equal(stats.composerStarts, 1, 'going on and off air started no encoder');
      assert.equal(stats.switches, 1, 'the relay never switched encoders');
      await broadcast.close();

      const before = await toneLevel(ffmpegPath, recordPath, 1000, 1, goLiveAt - 0.2);
      const during = await toneLevel(ffmpegPath, recordPath, 1000, goLiveAt + 1.5, offAt - 0.2);
      const afterOff = await toneLevel(ffmpegPath, recordPath, 1000, offAt + 0.5, offAt + 2);
      const hostTone = await toneLevel(ffmpegPath, recordPath, 440, 1, goLiveAt - 0.2);
      console.log('guest tone dB: backstage', before, 'on air', during, 'backstage again', afterOff, '; host tone', hostTone);
      assert.ok(hostTone > -40, `the host is heard throughout (${hostTone} dB)`);
      assert.ok(during - before > 20, `the guest's tone is absent backstage and present on air (${before} → ${during} dB)`);
      assert.ok(during - afterOff > 20, `and absent again once backstage (${afterOff} dB)`);

      const freeze = await run(ffmpegPath, ['-hide_banner', '-nostats', '-i', recordPath, '-map', '0:v', '-vf', 'freezedetect=n=0.003:d=0.5', '-f', 'null', '-']);
      const starts = [...freeze.matchAll(/freeze_start: ([\d.]+)/g)].map((m) => Number(m[1])).filter((t) => t > 2.5);
      assert.deepEqual(starts, [], 'freezedetect finds no freeze around going on and off air');
    } finally {
      await broadcast.close();
    }
  });
});
