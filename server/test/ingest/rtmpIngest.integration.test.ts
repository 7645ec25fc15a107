import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startEncoder, type EncoderProfile } from '../../../e2e/fixtures/encoder.js';
import { freeTcpPort } from '../../../e2e/fixtures/ports.js';
import { createRoom, startServer, type TestServer } from '../helpers.js';

const encoder = (url: string, seconds = 60, profile: EncoderProfile = 'baseline') => startEncoder({ url, seconds, profile });

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('RTMP ingest into a room (real RTMP listener in the server, real ffmpeg encoder and mediasoup)', { timeout: 120_000 }, () => {
  let server: TestServer;
  let port: number;
  const encoders: ChildProcess[] = [];

  before(async () => {
    port = await freeTcpPort();
    server = await startServer({ INGEST_RTMP_PORT: String(port), INGEST_GRACE_MS: '3000', INGEST_PUBLIC_HOST: 'onair.example.org' });
  });
  after(async () => {
    for (const e of encoders) e.kill('SIGKILL');
    await server?.close();
  });

  it('the URL handed out, a wrong key refused, a second publisher refused, a drop shown as reconnecting, a return within the grace period resuming the same participant, and leaving after it', async () => {
    const { app } = server;
    const room = await createRoom(server, 'Show');
    const source = app.ingestSources.create({ roomId: room.id, name: 'Stage camera', createdBy: 'test' });
    const key = app.ingestSources.streamKey(source.id);
    assert.equal(app.ingest.toApi(source).serverUrl, `rtmp://onair.example.org:${port}/live`);
    const url = `rtmp://127.0.0.1:${port}/live`;

    const wrong = encoder(`${url}/not-${key}`, 5);
    encoders.push(wrong.child);
    const refused = await wrong.exited;
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /No ingest source has this stream key/);
    assert.equal(app.ingest.state(source.id), 'idle');

    const first = encoder(`${url}/${key}`);
    encoders.push(first.child);
    await until('the source to be live', () => app.ingest.state(source.id) === 'live');
    const live = app.registry.get(room.id);
    const peer = live?.peers.get(`outside-${source.id}`);
    assert.ok(peer, 'the source is a participant of the room');
    assert.equal(peer.displayName, 'Stage camera');
    assert.deepEqual(peer.onAir, { camera: true, screen: true }, 'on air in a plain meeting');
    assert.deepEqual([...peer.producers.values()].map((p) => p.source).sort(), ['camera', 'mic']);
    assert.equal([...peer.producers.values()].find((p) => p.source === 'camera')?.producer.rtpParameters.codecs[0]?.mimeType, 'video/H264', 'Baseline H.264 is passed through');

    // Nobody is in the meeting yet: a publishing encoder keeps its room open past ROOM_GRACE_MS (200 ms here).
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(app.registry.get(room.id), live, 'the room stays open for the encoder');

    const second = encoder(`${url}/${key}`, 5);
    encoders.push(second.child);
    const busy = await second.exited;
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /already publishing/);
    assert.equal(app.ingest.state(source.id), 'live', 'the first publisher goes on');
    assert.match(app.ingest.toApi(source).error ?? '', /second encoder/, 'the dashboard says a second encoder was refused');

    first.child.kill('SIGKILL');
    await until('"reconnecting"', () => app.ingest.state(source.id) === 'reconnecting');
    assert.equal(live?.peers.get(peer.id), peer, 'still in the meeting while reconnecting');
    assert.equal(peer.info().outside?.state, 'reconnecting');

    const back = encoder(`${url}/${key}`);
    encoders.push(back.child);
    await until('the source to be live again', () => app.ingest.state(source.id) === 'live');
    assert.equal(app.ingest.toApi(source).error, null, 'going live clears the last error');
    assert.equal(live?.peers.get(peer.id), peer, 'the same participant resumed');

    back.child.kill('SIGKILL');
    await until('"reconnecting" again', () => app.ingest.state(source.id) === 'reconnecting');
    await until('the participant to leave after the grace period', () => app.ingest.state(source.id) === 'idle' && !live?.peers.has(peer.id), 10_000);
  });

  it('an encoder sending H.264 High is transcoded to VP8 for the browsers', async () => {
    const { app } = server;
    const room = await createRoom(server, 'Side stage');
    const source = app.ingestSources.create({ roomId: room.id, name: 'Side camera', createdBy: 'test' });
    const high = encoder(`rtmp://127.0.0.1:${port}/live/${app.ingestSources.streamKey(source.id)}`, 60, 'high');
    encoders.push(high.child);
    await until('the source to be live', () => app.ingest.state(source.id) === 'live');
    const peer = app.registry.get(room.id)?.peers.get(`outside-${source.id}`);
    assert.equal([...(peer?.producers.values() ?? [])].find((p) => p.source === 'camera')?.producer.rtpParameters.codecs[0]?.mimeType, 'video/VP8');
    high.child.kill('SIGKILL');
  });

  it('in a webinar whose guests start backstage, an encoder starts backstage too; in a plain meeting it is on air', async () => {
    const { app } = server;
    const hour = 3_600_000;
    const res = await app.inject({
      method: 'POST',
      url: '/api/webinars',
      headers: { authorization: `Bearer ${server.adminToken}` },
      payload: { title: 'Launch day', startsAt: new Date(Date.now() + hour).toISOString(), endsAt: new Date(Date.now() + 2 * hour).toISOString(), timeZone: 'Europe/Paris', destinationIds: [] },
    });
    assert.equal(res.statusCode, 201, res.body);
    const { roomId } = res.json() as { roomId: string };
    const source = app.ingestSources.create({ roomId, name: 'Keynote camera', createdBy: 'test' });
    const cam = encoder(`rtmp://127.0.0.1:${port}/live/${app.ingestSources.streamKey(source.id)}`);
    encoders.push(cam.child);
    await until('the source to be live', () => app.ingest.state(source.id) === 'live');
    assert.deepEqual(app.registry.get(roomId)?.peers.get(`outside-${source.id}`)?.onAir, { camera: false, screen: false });
    cam.child.kill('SIGKILL');
  });
});
