import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { joinAs, newParticipant, signIn } from './fixtures/browser.js';
import { probeStream, type ProbedStream } from './fixtures/ffprobe.js';
import { processesContaining } from './fixtures/processes.js';
import { ADMIN } from './fixtures/server.js';
import { hostAndGuest, liveStack } from './fixtures/liveStack.js';

// Unique per run (the last 4 characters are what the UI shows), so the process scan below cannot
// see another run's ffprobe, whose arguments hold its URL.
const RUN = randomBytes(5).toString('hex');
const KEY_RTMP = `e2e-rtmp-${RUN}-1234`;
const KEY_RTMPS = `e2e-rtmps-${RUN}-5678`;
const KEY_PRIVATE = `e2e-private-${RUN}-4321`;
const UNTRUSTED_SELF_SIGNED =
  'The server\'s TLS certificate is not trusted (self-signed). If this is your own server, turn on "Allow an untrusted certificate" for this destination.';

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
  const stack = liveStack();

  it('goes live, passes ingest checks, survives a join and a cut endpoint, and stops both publishes', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const plain = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Local RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY_RTMP }, token);
    const tls = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Local RTMPS', platform: 'custom', serverUrl: rtmp.rtmpsUrl('live'), streamKey: KEY_RTMPS }, token);
    assert.equal(plain.status, 201);
    assert.equal(tls.status, 201);
    // Host signs in and joins; a guest joins with the link.
    const { room, host, guest } = await hostAndGuest(stack, token, 'Show');
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

    // While both are live (and no ffprobe of ours runs): no process has a key in its arguments or environment.
    for (const key of [KEY_RTMP, KEY_RTMPS]) {
      assert.deepEqual(processesContaining(key), [], `no process (ps, /proc/<pid>/cmdline or environ) shows the stream key ${key}`);
    }

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

  it('an RTMPS server with a self-signed certificate is refused in plain words (Test and go live); with "Allow an untrusted certificate" it publishes and history says so', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const created = await server.api<{ id: string; allowUntrustedCertificate: boolean }>(
      'POST', '/api/destinations', { name: 'Private RTMPS', platform: 'custom', serverUrl: rtmp.rtmpsUrl('live', 'selfSigned'), streamKey: KEY_PRIVATE }, token,
    );
    assert.equal(created.status, 201);
    assert.equal(created.body.allowUntrustedCertificate, false, 'verification is on by default');
    const id = created.body.id;
    const test = await server.api<{ ok: boolean; message: string }>('POST', `/api/destinations/${id}/test`, undefined, token);
    assert.deepEqual([test.body.ok, test.body.message], [false, UNTRUSTED_SELF_SIGNED]);

    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Private show' }, token);
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Hana Host');
    const goLive = async (): Promise<void> => {
      if (!(await host.page.getByTestId('golive-panel').isVisible())) await host.page.getByTestId('btn-golive').click();
      await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${id}"]`).check();
      await host.page.getByTestId('btn-start-broadcast').click();
    };
    const stop = async (): Promise<void> => {
      await host.page.getByTestId('btn-stop-broadcast').click();
      await host.page.getByTestId('btn-start-broadcast').waitFor({ timeout: 15_000 });
    };

    // Verification on: the destination retries with the reason, and the key never reached the server.
    await goLive();
    await waitForState(host.page, id, 'retrying');
    const status = destinationState(host.page, id);
    await status.getByTestId('dest-error').waitFor();
    assert.equal(await status.getByTestId('dest-error').innerText(), UNTRUSTED_SELF_SIGNED);
    assert.equal(rtmp.publishCount(KEY_PRIVATE), 0);
    await stop();

    // The admin turns the switch on: Test and go live publish.
    const patched = await server.api<{ allowUntrustedCertificate: boolean }>('PATCH', `/api/destinations/${id}`, { allowUntrustedCertificate: true }, token);
    assert.equal(patched.body.allowUntrustedCertificate, true);
    const allowed = await server.api<{ ok: boolean; message: string }>('POST', `/api/destinations/${id}/test`, undefined, token);
    assert.equal(allowed.body.ok, true, allowed.body.message);
    await goLive();
    await waitForState(host.page, id, 'live');
    const probed = await probeStream(`${rtmp.rtmpUrl('live')}/${KEY_PRIVATE}`, 3);
    assert.equal(probed.video?.codec, 'h264');
    await stop();

    type Outcome = { destinationId: string; untrustedCertificate?: boolean; errors: string[] };
    type Record = { roomId: string; stoppedAt: string | null; destinations: Outcome[] };
    const records = async (): Promise<Record[]> => (await server.api<Record[]>('GET', '/api/broadcasts', undefined, token)).body.filter((b) => b.roomId === room.body.id);
    for (let i = 0; i < 50 && (await records()).some((r) => !r.stoppedAt); i++) await host.page.waitForTimeout(200);
    const [allowedRun, refusedRun] = await records();
    assert.equal(allowedRun?.destinations[0]?.untrustedCertificate, true, 'history records the broadcast sent without certificate verification');
    assert.equal(refusedRun?.destinations[0]?.untrustedCertificate, undefined);
    assert.deepEqual(refusedRun?.destinations[0]?.errors, [UNTRUSTED_SELF_SIGNED]);

    await host.page.goto('/admin/history');
    const row = host.page.locator('[data-testid="history-row"]').filter({ hasText: 'Private show' }).first();
    await row.getByTestId('history-untrusted').waitFor();
    await host.context.close();
  });
});
