import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { probeStream, type ProbedStream } from './fixtures/ffprobe.js';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

const KEY_RTMP = 'e2e-rtmp-key-1234';
const KEY_RTMPS = 'e2e-rtmps-key-5678';

function destinationState(page: Page, id: string) {
  return page.locator(`[data-testid="dest-status"][data-destination-id="${id}"]`);
}

async function waitForState(page: Page, id: string, state: string, timeoutMs = 30_000): Promise<void> {
  await page.locator(`[data-testid="dest-status"][data-destination-id="${id}"][data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

function assertYouTubeReady(p: ProbedStream, label: string): void {
  assert.ok(p.video, `${label}: has video`);
  assert.ok(p.audio, `${label}: has audio`);
  assert.equal(p.video.codec, 'h264', label);
  assert.match(p.video.profile, /High|Main/, label);
  assert.equal(p.video.width, 1280, label);
  assert.equal(p.video.height, 720, label);
  assert.ok(Math.abs(p.video.fps - 30) <= 2, `${label}: about 30 fps, got ${p.video.fps}`);
  assert.ok(p.video.keyframeInterval !== null && Math.abs(p.video.keyframeInterval - 2) <= 0.1, `${label}: keyframe every 2 s, got ${p.video.keyframeInterval} (keyframes at ${p.video.keyframeTimes.join(', ')})`);
  assert.equal(p.audio.codec, 'aac', label);
  assert.equal(p.audio.sampleRate, 48000, label);
  assert.equal(p.audio.channels, 2, label);
}

describe('go live from the meeting UI to two destinations (real nginx RTMP + RTMPS, real ffmpeg, real Chromium)', () => {
  let rtmp: RtmpServer;
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    rtmp = await startRtmpServer();
    server = await startOnAir({ LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn' });
    browser = await launchBrowser();
  });
  after(async () => {
    if (process.env.E2E_LOG_LEVEL) console.log(server?.output());
    await browser?.close();
    await server?.close();
    await rtmp?.stop();
  });

  it('goes live, passes ingest checks, survives a join and a cut endpoint, and stops both publishes', async () => {
    const token = await server.adminToken();
    const plain = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Local RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY_RTMP }, token);
    const tls = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Local RTMPS', platform: 'custom', serverUrl: rtmp.rtmpsUrl('live'), streamKey: KEY_RTMPS }, token);
    assert.equal(plain.status, 201);
    assert.equal(tls.status, 201);
    const room = await server.api<{ id: string; joinUrl: string }>('POST', '/api/rooms', { name: 'Show' }, token);

    // Host signs in and joins; a guest joins with the link.
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Hana Host');
    const guest = await newParticipant(browser, server.url);
    await guest.page.goto(room.body.joinUrl);
    await joinAs(guest.page, 'Gil Guest');
    assert.equal(await guest.page.getByTestId('btn-golive').count(), 0, 'guests have no Go live button');

    // Go live to both.
    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${plain.body.id}"]`).check();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${tls.body.id}"]`).check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await waitForState(host.page, plain.body.id, 'live');
    await waitForState(host.page, tls.body.id, 'live');
    await guest.page.getByTestId('live-badge').waitFor();
    assert.match(await destinationState(host.page, tls.body.id).innerText(), /RTMPS|••••5678/);
    assert.equal((await host.page.content()).includes(KEY_RTMPS), false, 'the stream key is never shown');

    // What the platforms would receive.
    const health = async () => (await host.page.getByTestId('golive-panel').innerText()).replace(/\s+/g, ' ');
    const [probedRtmp, probedRtmps] = await Promise.all([probeStream(`${rtmp.rtmpUrl('live')}/${KEY_RTMP}`, 6), probeStream(`${rtmp.rtmpUrl('live')}/${KEY_RTMPS}`, 6)]);
    const panel = await health();
    assertYouTubeReady(probedRtmp, `rtmp destination (panel: ${panel})`);
    assertYouTubeReady(probedRtmps, `rtmps destination (panel: ${panel})`);
    assert.equal(rtmp.publishCount(KEY_RTMP), 1);
    assert.equal(rtmp.publishCount(KEY_RTMPS), 1);

    // A third participant joins while live: the picture changes, the destinations see no new publish.
    const third = await newParticipant(browser, server.url);
    await third.page.goto(room.body.joinUrl);
    await joinAs(third.page, 'Pia Panelist');
    await third.page.getByTestId('live-badge').waitFor();
    await host.page.waitForTimeout(5000);
    const afterJoin = await probeStream(`${rtmp.rtmpUrl('live')}/${KEY_RTMP}`, 3);
    assert.ok(afterJoin.video && afterJoin.video.fps > 25, `still streaming after the join: ${JSON.stringify(afterJoin)}`);
    assert.equal(rtmp.publishCount(KEY_RTMP), 1, 'no new publish at the rtmp destination');
    assert.equal(rtmp.publishCount(KEY_RTMPS), 1, 'no new publish at the rtmps destination');
    await third.context.close();

    // The RTMPS endpoint is cut: that destination retries, the other keeps streaming; it recovers.
    await rtmp.cutRtmps();
    await waitForState(host.page, tls.body.id, 'retrying');
    assert.equal(await destinationState(host.page, plain.body.id).getAttribute('data-state'), 'live');
    const duringCut = await probeStream(`${rtmp.rtmpUrl('live')}/${KEY_RTMP}`, 3);
    assert.ok(duringCut.video && duringCut.video.fps > 25, `the other destination keeps receiving: ${JSON.stringify(duringCut)}`);
    assert.ok((await destinationState(host.page, tls.body.id).innerText()).length > 0);
    await rtmp.restoreRtmps();
    await waitForState(host.page, tls.body.id, 'live', 60_000);
    assert.equal(rtmp.publishCount(KEY_RTMP), 1, 'the rtmp destination never reconnected');

    // Stop ends both publishes.
    await host.page.getByTestId('btn-stop-broadcast').click();
    const deadline = Date.now() + 15_000;
    while ((rtmp.activePublishes(KEY_RTMP) > 0 || rtmp.activePublishes(KEY_RTMPS) > 0) && Date.now() < deadline) await host.page.waitForTimeout(200);
    assert.equal(rtmp.activePublishes(KEY_RTMP), 0);
    assert.equal(rtmp.activePublishes(KEY_RTMPS), 0);
    await guest.page.getByTestId('live-badge').waitFor({ state: 'detached' });

    // History shows the broadcast with both outcomes.
    type Record = { roomId: string; stoppedAt: string | null; destinations: Array<{ name: string; retries: number }> };
    let record: Record | undefined;
    for (let i = 0; i < 50 && !record?.stoppedAt; i++) {
      const history = await server.api<Record[]>('GET', '/api/broadcasts', undefined, token);
      record = history.body.find((b) => b.roomId === room.body.id);
      if (!record?.stoppedAt) await host.page.waitForTimeout(200);
    }
    console.log('history', JSON.stringify(record));
    assert.ok(record?.stoppedAt, 'the broadcast is in the history with its stop time');
    assert.deepEqual(record.destinations.map((d) => d.name).sort(), ['Local RTMP', 'Local RTMPS']);
    assert.ok((record.destinations.find((d) => d.name === 'Local RTMPS')?.retries ?? 0) >= 1);
    await host.context.close();
    await guest.context.close();
  });
});
