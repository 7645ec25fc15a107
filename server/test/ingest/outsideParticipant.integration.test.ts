import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import type { NotificationData, NotificationEvent, PeerInfo } from '@onair/shared';
import { startEncoder, type EncoderProfile } from '../../../e2e/fixtures/encoder.js';
import { OutsideParticipant } from '../../src/ingest/OutsideParticipant.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { Peer } from '../../src/sfu/Peer.js';
import { Room } from '../../src/sfu/Room.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const ffmpegPath = resolveFfmpegPath();

/** An encoder's FLV stream (what an RTMP publish carries): a moving test picture and a tone, H.264 of the given profile and AAC. */
const encoder = (profile: EncoderProfile): ChildProcess => startEncoder({ url: 'pipe:1', profile }).child;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function bytesProduced(participant: OutsideParticipant, source: 'camera' | 'mic'): Promise<number> {
  const entry = [...participant.peer.producers.values()].find((p) => p.source === source);
  if (!entry) return 0;
  const stats = await entry.producer.getStats();
  return stats.reduce((sum, s) => sum + s.byteCount, 0);
}

describe('an outside participant (real mediasoup worker, real ffmpeg)', { timeout: 120_000 }, () => {
  let worker: mediasoup.types.Worker;
  let room: Room;
  const seen: Array<{ event: NotificationEvent; data: unknown }> = [];
  const encoders: ChildProcess[] = [];

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    room = await Room.create({ id: 'room-1', name: 'Town hall', worker, listen: { listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] }, graceMs: 60_000, logger });
    // A person already in the meeting, who sees what the room tells browsers.
    const watcher = new Peer({
      id: 'watcher',
      userKey: 'watcher',
      displayName: 'Wanda',
      role: 'host',
      notify: <E extends NotificationEvent>(event: E, data: NotificationData[E]) => void seen.push({ event, data }),
    });
    room.addPeer(watcher);
    room.join(watcher, room.router.rtpCapabilities);
  });

  after(async () => {
    for (const e of encoders) e.kill('SIGKILL');
    await room?.close();
    worker?.close();
  });

  const outsideStates = (id: string): string[] =>
    seen.flatMap(({ event, data }) => {
      const peer = event === 'peerJoined' || event === 'peerUpdated' ? (data as { peer: PeerInfo }).peer : null;
      return peer && peer.id === id && peer.outside ? [peer.outside.state] : [];
    });

  it('joins as "connecting", goes "live" with an H.264 passthrough camera and an Opus microphone; the encoder dropping shows "reconnecting"; a new feed is live again; close() removes it', async () => {
    const stage = OutsideParticipant.join({ room, sourceId: 'src-1', displayName: 'Stage camera', kind: 'rtmp', onAir: { camera: true, screen: true }, ffmpegPath, logger });
    assert.equal(stage.state, 'connecting');
    const first = encoder('baseline');
    encoders.push(first);
    await stage.feed({ args: ['-f', 'flv', '-i', 'pipe:0'], stdin: first.stdout ?? undefined, video: 'passthrough', audio: true });
    await until('the stage camera to be live', () => stage.state === 'live');
    await until('video and audio bytes at the producers', async () => (await bytesProduced(stage, 'camera')) > 20_000 && (await bytesProduced(stage, 'mic')) > 2_000);
    const camera = [...stage.peer.producers.values()].find((p) => p.source === 'camera');
    assert.equal(camera?.producer.rtpParameters.codecs[0]?.mimeType, 'video/H264');
    assert.ok(room.joinedPeers.includes(stage.peer), 'the program sees it among the joined peers');

    const ended = new Promise<Error>((resolve) => stage.once('feedended', resolve));
    first.kill('SIGKILL');
    await ended;
    assert.equal(stage.state, 'reconnecting');
    assert.equal(stage.peer.producers.size, 0, 'its media is gone while it reconnects');
    assert.ok(room.peers.has(stage.peer.id), 'it is still in the meeting');

    const second = encoder('baseline');
    encoders.push(second);
    await stage.feed({ args: ['-f', 'flv', '-i', 'pipe:0'], stdin: second.stdout ?? undefined, video: 'passthrough', audio: true });
    await until('the stage camera to be live again', () => stage.state === 'live');
    await until('video bytes again', async () => (await bytesProduced(stage, 'camera')) > 20_000);
    assert.deepEqual(outsideStates(stage.peer.id).filter((s, i, all) => s !== all[i - 1]), ['connecting', 'live', 'reconnecting', 'connecting', 'live']);

    await stage.close();
    second.kill('SIGKILL');
    assert.ok(!room.peers.has(stage.peer.id));
    assert.ok(seen.some(({ event, data }) => event === 'peerLeft' && (data as { peerId: string }).peerId === stage.peer.id));
    await stage.close(); // idempotent
  });

  it('a High-profile source is transcoded to VP8', async () => {
    const lobby = OutsideParticipant.join({ room, sourceId: 'src-2', displayName: 'Lobby camera', kind: 'rtmp', onAir: { camera: false, screen: false }, ffmpegPath, logger });
    const source = encoder('high');
    encoders.push(source);
    await lobby.feed({ args: ['-f', 'flv', '-i', 'pipe:0'], stdin: source.stdout ?? undefined, video: 'transcode', audio: true });
    await until('VP8 bytes at the camera producer', async () => (await bytesProduced(lobby, 'camera')) > 20_000);
    const camera = [...lobby.peer.producers.values()].find((p) => p.source === 'camera');
    assert.equal(camera?.producer.rtpParameters.codecs[0]?.mimeType, 'video/VP8');
    assert.deepEqual(lobby.peer.info().onAir, { camera: false, screen: false }, 'it starts backstage when told to');
    source.kill('SIGKILL');
    await lobby.close();
  });

  it('the room closing closes the outside participant', async () => {
    const other = await Room.create({ id: 'room-2', name: 'Side room', worker, listen: { listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] }, graceMs: 60_000, logger });
    const cam = OutsideParticipant.join({ room: other, sourceId: 'src-3', displayName: 'Side camera', kind: 'rtsp', onAir: { camera: true, screen: true }, ffmpegPath, logger });
    const closed = new Promise<void>((resolve) => cam.once('closed', resolve));
    await other.close();
    await closed;
    assert.ok(cam.closed);
  });
});
