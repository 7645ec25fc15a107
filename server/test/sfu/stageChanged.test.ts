import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { Peer } from '../../src/sfu/Peer.js';
import { Room } from '../../src/sfu/Room.js';

const logger = pino({ level: 'silent' });

/** The one fact a broadcast subscribes to: every change of what the program may show emits `stagechanged` (real mediasoup worker). */
describe("the room's stagechanged event (real mediasoup worker)", () => {
  let worker: mediasoup.types.Worker;
  let room: Room;
  let changes = 0;

  const peer = (id: string, role: 'host' | 'guest'): Peer =>
    new Peer({ id, userKey: id, displayName: id, role, notify: () => undefined });

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    room = await Room.create({ id: 'stage-room', name: 'Stage', worker, listen: { listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] }, graceMs: 60_000, logger });
    room.on('stagechanged', () => changes++);
  });
  after(async () => {
    await room.close();
    worker.close();
  });

  async function counted(what: () => unknown): Promise<number> {
    const before = changes;
    await what();
    return changes - before;
  }

  it('joining, a new producer, pause and resume, going backstage and on air, a closed producer, leaving: one event each', async () => {
    const host = peer('host', 'host');
    const guest = peer('guest', 'guest');
    room.addPeer(host);
    room.addPeer(guest);
    assert.equal(await counted(() => room.join(host, room.router.rtpCapabilities)), 1, 'join');
    assert.equal(await counted(() => room.join(guest, room.router.rtpCapabilities)), 1, 'join');

    const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const producer = await transport.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 11111111 }] },
    });
    assert.equal(await counted(() => room.publishProducer(guest, producer, 'mic')), 1, 'a new producer');
    assert.equal(await counted(() => room.setProducerPaused(guest, producer.id, true)), 1, 'mute');
    assert.equal(await counted(() => room.setProducerPaused(guest, producer.id, false)), 1, 'unmute');
    assert.equal(await counted(() => room.setOnAir(host, guest.id, 'camera', false)), 1, 'backstage');
    assert.equal(await counted(() => room.setOnAir(host, guest.id, 'camera', false)), 0, 'already backstage: nothing changed');
    assert.equal(await counted(() => room.setOnAir(host, guest.id, 'camera', true)), 1, 'on air');
    assert.equal(await counted(() => producer.close()), 1, 'a producer closed');
    assert.equal(await counted(() => room.removePeer(guest)), 1, 'leaving');
    transport.close();
  });
});
