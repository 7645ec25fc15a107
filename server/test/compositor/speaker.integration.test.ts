import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { Broadcast } from '../../src/broadcast/Broadcast.js';
import { followStage, onAirParticipants } from '../../src/broadcast/BroadcastService.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { Peer } from '../../src/sfu/Peer.js';
import { Room } from '../../src/sfu/Room.js';
import { SPEAKER_HOLD_MS, SPEAKER_MIN_INTERVAL_MS } from '../../src/sfu/StageSpeaker.js';
import { startRtpParticipant, type RtpParticipant } from '../../../e2e/fixtures/rtpParticipant.js';
import { childrenRunning, run } from '../../../e2e/fixtures/processes.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RFC 6464 levels (−dBov): a voice at −20 to −40 dBov, and the room's noise at −90 to −98 dBov when
 * quiet (mediasoup's detector measures speech against each microphone's own noise floor, so a mic
 * that is never quieter than its voice reads as noise).
 */
const TALKING = (): number => 20 + Math.round(Math.random() * 20);
const QUIET = (): number => 90 + Math.round(Math.random() * 8);
/** What tells a participant decoder among this process's children (it reads an SDP of RTP streams). */
const DECODER_ARG = 'file,udp,rtp';
/** Half a second of frames the program repeated or dropped: the machine, not the scene, held it back. */
const STARVED_FRAMES = 15;

describe('The speaker layout follows who is talking (real Room, mediasoup active speaker, ffmpeg senders, real Program)', { timeout: 120_000 }, () => {
  let worker: mediasoup.types.Worker;
  let room: Room;
  let dir: string;
  const ffmpegPath = resolveFfmpegPath();
  const senders: RtpParticipant[] = [];
  /** Who is talking now (the senders' audio levels follow it). */
  let talking: () => string | null = () => null;

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    room = await Room.create({ id: 'speaker-room', name: 'Speaker', worker, listen: { listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] }, graceMs: 60_000, logger });
    dir = mkdtempSync(join(tmpdir(), 'onair-speaker-'));
    for (const [id, name, frequency] of [['ann', 'Ann', 440], ['bob', 'Bob', 1000]] as const) {
      const peer = new Peer({ id, userKey: id, displayName: name, role: id === 'ann' ? 'host' : 'guest', notify: () => undefined });
      room.addPeer(peer);
      room.join(peer, room.router.rtpCapabilities);
      const sender = await startRtpParticipant({
        router: room.router, peerId: id, displayName: name, size: '640x360', frequency, ffmpegPath,
        audioLevel: () => (talking() === id ? TALKING() : QUIET()),
      });
      senders.push(sender);
      for (const { producer, source } of sender.producers) room.publishProducer(peer, producer, source);
    }
  });

  after(async () => {
    for (const s of senders) await s.close();
    await room?.close();
    worker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A broadcast of the room in the speaker layout, featuring whom `speaker` says. */
  const speakerLayout = (id: string, speaker: () => string | null, sinks: { preview?: boolean; recordPath?: string }): Promise<Broadcast> =>
    Broadcast.create({
      id, roomId: room.id, router: room.router, getParticipants: () => onAirParticipants(room), getActiveSpeakerId: speaker,
      destinations: [], layout: 'speaker', ffmpegPath, logger, ...sinks,
    });

  it('following the raw active speaker, two people interjecting every second flip the big tile (a scene each time); held, it stays', async () => {
    // What following every flip would do: each one rebuilds the scene and moves the big tile, and
    // each one that grows a tile beyond its decoder starts a decoder for it.
    const broadcast = await speakerLayout('b-raw-speaker', () => room.activeSpeakerId, { preview: true });
    let flips = 0;
    const onFlip = (): void => {
      flips += 1;
      broadcast.refresh();
    };
    const decoderPids = new Set<number>();
    const sampler = setInterval(() => {
      for (const pid of childrenRunning(DECODER_ARG)) decoderPids.add(pid);
    }, 50);
    let floorChanges = 0;
    let floor = room.stageSpeakerId;
    const onStage = (): void => {
      if (room.stageSpeakerId !== floor) floorChanges += 1;
      floor = room.stageSpeakerId;
    };
    try {
      // Crosstalk: whoever is loudest changes every second (short interjections).
      const from = performance.now();
      talking = () => (Math.floor((performance.now() - from) / 1000) % 2 === 0 ? 'ann' : 'bob');
      await sleep(2000);
      room.on('activespeaker', onFlip);
      room.on('stagechanged', onStage);
      const before = { ...broadcast.stats().program, pids: decoderPids.size };
      await sleep(6000);
      const after = broadcast.stats().program;
      console.log(
        `following the raw active speaker for 6 s of crosstalk: ${flips} flips, ${after.sceneVersion - before.sceneVersion} scenes, ` +
          `${decoderPids.size - before.pids} decoders started, ${after.repeatedFrames - before.repeatedFrames} frames repeated, ${after.droppedFrames - before.droppedFrames} dropped; ` +
          `held (the room's stage speaker): ${floorChanges} change(s)`,
      );
      assert.ok(floorChanges <= 1, `the held stage speaker changes at most once in 6 s of crosstalk (${floorChanges})`);
    } finally {
      room.off('activespeaker', onFlip);
      room.off('stagechanged', onStage);
      clearInterval(sampler);
      await broadcast.close();
    }
  });

  it('two people take turns: the big tile follows each turn the hold after the room hears them (≤ hold + 2 s from their first word), with the same encoder and no freeze', async () => {
    const recordPath = join(dir, 'program.flv');
    const broadcast = await speakerLayout('b-speaker', () => room.stageSpeakerId, { recordPath });
    followStage(room, broadcast);
    // The speaker layout's first tile is the big one.
    const bigTile = (): string | undefined => broadcast.scene?.tiles[0]?.peerId;
    const decoderPids = new Set<number>();
    const sampler = setInterval(() => {
      for (const pid of childrenRunning(DECODER_ARG)) decoderPids.add(pid);
    }, 50);
    try {
      // Both on stage and decoding, and Ann has the floor, before the turns start.
      talking = () => 'ann';
      while (bigTile() !== 'ann') await sleep(50);
      // The next change may come SPEAKER_MIN_INTERVAL_MS after the last one (which may have been
      // before this broadcast): Bob's turn starts late enough not to wait for it.
      await sleep(SPEAKER_MIN_INTERVAL_MS);
      const steady = broadcast.stats().program;
      const t0 = performance.now();
      const heard: string[] = [];
      const onHeard = (id: string | null): void => void heard.push(`${Math.round(performance.now() - t0)} ${id}`);
      room.on('activespeaker', onHeard);
      /** Where each move of the big tile lands on the recording's timeline (s). */
      const movedAt: number[] = [];
      const turns: Array<{ who: string; detectedMs: number | null; followedMs: number | null }> = [];
      for (const who of ['bob', 'ann', 'bob']) {
        talking = () => who;
        const from = performance.now();
        let detectedMs: number | null = null;
        let followedMs: number | null = null;
        // A turn lasts 4.5 s: longer than the minimum interval between two changes.
        while (performance.now() - from < 4500) {
          if (detectedMs === null && room.activeSpeakerId === who) detectedMs = Math.round(performance.now() - from);
          if (followedMs === null && bigTile() === who) {
            followedMs = Math.round(performance.now() - from);
            movedAt.push((broadcast.stats().relay.lastTimestamp ?? 0) / 1000);
          }
          await sleep(50);
        }
        turns.push({ who, detectedMs, followedMs });
      }
      room.off('activespeaker', onHeard);
      const stats = broadcast.stats();
      const during = { repeated: stats.program.repeatedFrames - steady.repeatedFrames, dropped: stats.program.droppedFrames - steady.droppedFrames };
      console.log('the room heard (ms, who):', heard.join('; '));
      console.log('turns (ms after they start talking: the room detects them, the big tile shows them):', JSON.stringify(turns));
      console.log(`before the turns: repeated ${steady.repeatedFrames}, dropped ${steady.droppedFrames}; during 3 turns: repeated ${during.repeated}, dropped ${during.dropped}; encoder starts ${stats.composerStarts}; decoder processes seen ${decoderPids.size}; largest burst of ticks ${steady.maxBurst} → ${stats.program.maxBurst}`);
      for (const { who, detectedMs, followedMs } of turns) {
        assert.ok(detectedMs !== null && followedMs !== null, `the room heard ${who} and the big tile went to them`);
        // mediasoup's detector takes 0.3–1.2 s to be sure; the program then waits for the hold alone.
        assert.ok(followedMs - detectedMs >= SPEAKER_HOLD_MS - 100, `not before the hold (${followedMs - detectedMs} ms after the room heard ${who})`);
        assert.ok(followedMs - detectedMs <= SPEAKER_HOLD_MS + 500, `${who} reached the big tile ${followedMs - detectedMs} ms after the room heard them (hold ${SPEAKER_HOLD_MS} ms)`);
        assert.ok(followedMs <= SPEAKER_HOLD_MS + 2000, `${who} reached the big tile ${followedMs} ms after starting to talk`);
      }
      assert.equal(stats.composerStarts, 1, 'no second encoder');
      assert.equal(stats.switches, 1, 'the relay never switched encoders');
      await broadcast.close();

      // The grown tile's new decoder takes over within a second or so; the old picture, scaled, is on air meanwhile.
      const freeze = await run(ffmpegPath, ['-hide_banner', '-nostats', '-i', recordPath, '-map', '0:v', '-vf', 'freezedetect=n=0.003:d=0.3', '-f', 'null', '-']);
      const starts = [...freeze.matchAll(/freeze_start: ([\d.]+)/g)].map((m) => Number(m[1]));
      const lengths = [...freeze.matchAll(/freeze_duration: ([\d.]+)/g)].map((m) => Number(m[1]));
      console.log('big tile moved at (s):', movedAt.join(', '), '; freezes start at (s):', starts.map((t, i) => `${t} (${lengths[i] ?? '?'} s)`).join(', ') || 'none');
      const atMoves = starts.filter((t) => movedAt.some((m) => t >= m - 0.5 && t <= m + 2));
      // A program the machine starves (its encoder not taking pictures: repeated or dropped frames,
      // counted by the program itself) freezes everywhere; that says nothing of the moves.
      if (during.repeated + during.dropped > STARVED_FRAMES) console.log(`the program was starved (${during.repeated + during.dropped} frames repeated or dropped): the freeze check says nothing here`);
      else assert.deepEqual(atMoves, [], 'freezedetect finds no freeze when the big tile moves');
    } finally {
      clearInterval(sampler);
      await broadcast.close();
    }
  });
});

