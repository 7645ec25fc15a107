import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { expectMediaFrom, joinAs, newParticipant, signIn } from './fixtures/browser.js';
import { startEncoder, type EncoderProfile } from './fixtures/encoder.js';
import { probeStream } from './fixtures/ffprobe.js';
import { liveStack } from './fixtures/liveStack.js';
import { freeTcpPort } from './fixtures/ports.js';
import { processesContaining } from './fixtures/processes.js';
import { ADMIN } from './fixtures/server.js';
import { testCa } from './fixtures/testCa.js';

const ffmpegPath = resolveFfmpegPath();
const DESTINATION_KEY = `e2e-ingest-program-${randomBytes(4).toString('hex')}`;

/** A red picture with a white box moving across it: easy to find in the composed program. */
const RED_PICTURE = "color=c=0xd01818:size=640x360:rate=30,drawbox=x='mod(t*240,600)':y=140:w=40:h=80:color=white:t=fill";
const encoder = (url: string, profile: EncoderProfile = 'baseline', seconds = 120) => startEncoder({ url, profile, seconds, picture: RED_PICTURE });

/** Share of strongly red pixels in one frame of the program at the destination (64x36 RGB). */
function redShare(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      ffmpegPath,
      ['-hide_banner', '-loglevel', 'error', '-i', url, '-t', '3', '-vf', 'fps=1,scale=64:36', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024, timeout: 20_000 },
      (error, stdout) => {
        if (error && stdout.length < 64 * 36 * 3) return reject(error);
        const frame = stdout.subarray(stdout.length - 64 * 36 * 3 - (stdout.length % (64 * 36 * 3)), stdout.length - (stdout.length % (64 * 36 * 3)));
        let red = 0;
        for (let i = 0; i + 2 < frame.length; i += 3) if (frame[i]! > 150 && frame[i + 1]! < 90 && frame[i + 2]! < 90) red++;
        resolve(red / (64 * 36));
      },
    );
  });
}

const tile = (page: Page, name: string) => page.locator(`[data-testid="tile"][data-peer-name="${name}"]`);

describe('RTMP/RTMPS ingest: an encoder joins a meeting and goes on air (real ffmpeg encoder, OnAir, nginx RTMP, Chromium)', () => {
  const ports = { rtmp: 0, rtmps: 0 };
  const stack = liveStack(async () => {
    ports.rtmp = await freeTcpPort();
    ports.rtmps = await freeTcpPort();
    const cert = testCa().issue('onair-ingest', ['IP:127.0.0.1']);
    return {
      INGEST_RTMP_PORT: String(ports.rtmp),
      INGEST_RTMPS_PORT: String(ports.rtmps),
      INGEST_TLS_CERT: cert.certFile,
      INGEST_TLS_KEY: cert.keyFile,
      INGEST_GRACE_MS: '3000',
    };
  });
  const encoders: ChildProcess[] = [];
  after(() => {
    for (const e of encoders) e.kill('SIGKILL');
  });

  it('rtmp:// into a room: decoded in the browser, shown in the dashboard, refused with a wrong or busy key, never in a process listing, in the program on air; cut, it shows reconnecting and leaves; rtmps:// brings it back', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Concert' }, token);
    const source = await server.api<{ id: string; serverUrl: string; secureServerUrl: string }>('POST', `/api/rooms/${room.body.id}/ingest`, { name: 'Stage camera' }, token);
    assert.equal(source.status, 201);
    assert.equal(source.body.serverUrl, `rtmp://127.0.0.1:${ports.rtmp}/live`);
    assert.equal(source.body.secureServerUrl, `rtmps://127.0.0.1:${ports.rtmps}/live`);
    const key = (await server.api<{ streamKey: string }>('GET', `/api/rooms/${room.body.id}/ingest/${source.body.id}/key`, undefined, token)).body.streamKey;
    const peerId = `outside-${source.body.id}`;

    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Hana Host');

    // The encoder publishes: the host's page shows the source and decodes its video and audio.
    const obs = encoder(`${source.body.serverUrl}/${key}`);
    encoders.push(obs.child);
    await tile(host.page, 'Stage camera').waitFor({ timeout: 30_000 });
    await expectMediaFrom(host.page, [peerId]);
    assert.equal(await tile(host.page, 'Stage camera').getAttribute('data-outside-state'), 'live');

    // The key is in no process's arguments or environment but the encoder's own.
    const sightings = processesContaining(key).filter((s) => s.pid !== obs.child.pid);
    assert.deepEqual(sightings, [], 'only the encoder itself knows the stream key');

    // A wrong key, and a second encoder on the key in use, are refused at publish.
    const wrong = await encoder(`${source.body.serverUrl}/x${key}`, 'baseline', 3).exited;
    assert.match(wrong.stderr, /No ingest source has this stream key/);
    const busy = await encoder(`${source.body.serverUrl}/${key}`, 'baseline', 3).exited;
    assert.match(busy.stderr, /already publishing/);

    // The dashboard: server URLs, the key masked until revealed, the live state.
    const dash = await newParticipant(browser, server.url);
    await signIn(dash.page, ADMIN.email, ADMIN.password);
    await dash.page.locator(`[data-testid="room-item"][data-room-id="${room.body.id}"] [data-testid="toggle-ingest"]`).click();
    const row = dash.page.locator(`[data-testid="ingest-source"][data-source-id="${source.body.id}"]`);
    await row.locator('[data-testid="ingest-state"]', { hasText: 'Live' }).waitFor();
    assert.deepEqual(await row.getByTestId('ingest-server-url').allInnerTexts(), [source.body.serverUrl, source.body.secureServerUrl]);
    assert.equal(await row.getByTestId('ingest-key').innerText(), `••••${key.slice(-4)}`);
    assert.equal((await dash.page.content()).includes(key), false, 'the key is not on the page until revealed');
    await row.getByTestId('reveal-ingest-key').click();
    await row.locator('[data-testid="ingest-key"]', { hasText: key }).waitFor();
    await dash.context.close();

    // Go live: the source is on air in a meeting, so it is in the program the destination receives.
    const destination = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Local RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: DESTINATION_KEY }, token);
    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${destination.body.id}"]`).check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await host.page.locator(`[data-testid="dest-status"][data-destination-id="${destination.body.id}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    const programUrl = `${rtmp.rtmpUrl('live')}/${DESTINATION_KEY}`;
    const probed = await probeStream(programUrl, 3);
    assert.ok(probed.video && probed.audio, `the program has video and audio: ${JSON.stringify(probed)}`);
    const share = await redShare(programUrl);
    assert.ok(share > 0.08, `the stage camera's red picture fills part of the program (${(share * 100).toFixed(1)}% red pixels)`);
    await host.page.getByTestId('btn-stop-broadcast').click();

    // The encoder drops: "reconnecting" on its tile, then it leaves after the grace period (3 s here).
    obs.child.kill('SIGKILL');
    await host.page.locator(`[data-testid="tile"][data-peer-name="Stage camera"][data-outside-state="reconnecting"]`).waitFor({ timeout: 15_000 });
    assert.match(await tile(host.page, 'Stage camera').getByTestId('outside-state').innerText(), /Reconnecting/);
    await tile(host.page, 'Stage camera').waitFor({ state: 'detached', timeout: 15_000 });

    // Over RTMPS (High profile, so transcoded to VP8) it joins again.
    const secure = encoder(`${source.body.secureServerUrl}/${key}`, 'high');
    encoders.push(secure.child);
    await tile(host.page, 'Stage camera').waitFor({ timeout: 30_000 });
    await expectMediaFrom(host.page, [peerId]);
    secure.child.kill('SIGKILL');
    await host.context.close();
  });
});
