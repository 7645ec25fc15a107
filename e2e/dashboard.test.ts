import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePng } from '../server/test/compositor/pngFixture.js';
import { probeStream } from './fixtures/ffprobe.js';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

/** `YYYY-MM-DDTHH:MM:SS` in UTC, what a datetime-local input holds when the zone chosen is UTC. */
function utcLocal(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('admin dashboard: scheduled webinars go live on their own (real nginx RTMP, real ffmpeg, real Chromium)', () => {
  let rtmp: RtmpServer;
  let server: RunningServer;
  let browser: Browser;
  let admin: Page;
  let destinationId = '';
  const HOST = { email: 'hazel@e2e.local', name: 'Hazel Host', password: 'hazel-password' };

  before(async () => {
    rtmp = await startRtmpServer();
    server = await startOnAir();
    browser = await launchBrowser();
    admin = (await newParticipant(browser, server.url)).page;
    await signIn(admin, ADMIN.email, ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await rtmp?.stop();
  });

  /** Fills the webinar form (time zone UTC) and returns the new webinar's id. */
  async function scheduleWebinar(title: string, startsInS: number, durationS: number, logo?: { png: Buffer; corner: string }): Promise<string> {
    await admin.getByTestId('nav-webinars').click();
    await admin.getByTestId('webinar-new').click();
    const start = Date.now() + startsInS * 1000;
    await admin.getByTestId('webinar-title').fill(title);
    await admin.getByTestId('webinar-description').fill('Scheduled from the e2e test');
    await admin.getByTestId('webinar-timezone').selectOption('UTC');
    await admin.getByTestId('webinar-start').fill(utcLocal(start));
    await admin.getByTestId('webinar-end').fill(utcLocal(start + durationS * 1000));
    for (const box of await admin.locator('[data-testid="webinar-host"]').all()) await box.uncheck();
    const users = await server.api<Array<{ id: string; email: string }>>('GET', '/api/users', undefined, await server.adminToken());
    const hazel = users.body.find((u) => u.email === HOST.email);
    assert.ok(hazel);
    await admin.locator(`[data-testid="webinar-host"][data-user-id="${hazel.id}"]`).check();
    await admin.locator(`[data-testid="webinar-destination"][data-destination-id="${destinationId}"]`).check();
    assert.equal(await admin.getByTestId('webinar-autostart').isChecked(), true, 'goes live automatically by default');
    assert.equal(await admin.getByTestId('webinar-autostop').isChecked(), true, 'stops at its end by default');
    if (logo) {
      await admin.getByTestId('broadcast-logo-corner').selectOption(logo.corner);
      await admin.getByTestId('broadcast-logo-file').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: logo.png });
      await admin.getByTestId('logo-preview').waitFor();
    }
    await admin.getByTestId('webinar-save').click();
    const row = admin.locator('[data-testid="webinar-row"]').filter({ hasText: title });
    await row.waitFor();
    const id = await row.getAttribute('data-webinar-id');
    assert.ok(id);
    return id;
  }

  async function webinarStatus(id: string): Promise<string> {
    const res = await server.api<{ status: string }>('GET', `/api/webinars/${id}`, undefined, await server.adminToken());
    return res.body.status;
  }

  it('the admin adds a host and a destination (masked key, successful Test push)', async () => {
    await admin.getByTestId('nav-admin').click();
    await admin.getByTestId('nav-users').click();
    await admin.getByTestId('user-new').click();
    await admin.getByTestId('user-email').fill(HOST.email);
    await admin.getByTestId('user-name').fill(HOST.name);
    await admin.getByTestId('user-password').fill(HOST.password);
    await admin.getByTestId('user-role').selectOption('host');
    await admin.getByTestId('user-save').click();
    await admin.locator('[data-testid="user-row"]').filter({ hasText: HOST.email }).waitFor();

    await admin.getByTestId('nav-destinations').click();
    await admin.getByTestId('dest-new').click();
    await admin.getByTestId('dest-name').fill('Local RTMP');
    await admin.getByTestId('dest-platform').selectOption('custom');
    await admin.getByTestId('dest-server-url').fill(rtmp.rtmpUrl('live'));
    await admin.getByTestId('dest-stream-key').fill('webinar-key-9876');
    await admin.getByTestId('dest-save').click();
    const row = admin.locator('[data-testid="dest-row"]').filter({ hasText: 'Local RTMP' });
    await row.waitFor();
    destinationId = (await row.getAttribute('data-destination-id')) ?? '';
    assert.ok(destinationId);
    assert.match(await row.getByTestId('dest-key-masked').innerText(), /••••9876/);
    assert.equal((await admin.content()).includes('webinar-key-9876'), false, 'the key is not on the page');
    await row.getByTestId('dest-test').click();
    const result = row.getByTestId('dest-test-result');
    await result.waitFor({ timeout: 30_000 });
    assert.equal(await result.getAttribute('data-ok'), 'true', await result.innerText());
  });

  it('an RTMPS destination with a self-signed certificate: Test says why in plain words; "Allow an untrusted certificate" (with its warning) makes it pass', async () => {
    await admin.getByTestId('nav-destinations').click();
    await admin.getByTestId('dest-new').click();
    await admin.getByTestId('dest-name').fill('Own RTMPS');
    await admin.getByTestId('dest-platform').selectOption('custom');
    await admin.getByTestId('dest-server-url').fill(rtmp.rtmpsUrl('live', 'selfSigned'));
    await admin.getByTestId('dest-stream-key').fill('private-key-2468');
    assert.equal(await admin.getByTestId('dest-allow-untrusted').isChecked(), false, 'off by default');
    assert.equal(await admin.getByTestId('dest-untrusted-warning').count(), 0);
    await admin.getByTestId('dest-save').click();
    const row = admin.locator('[data-testid="dest-row"]').filter({ hasText: 'Own RTMPS' });
    await row.waitFor();
    assert.equal(await row.getByTestId('dest-untrusted-badge').count(), 0);

    await row.getByTestId('dest-test').click();
    const result = row.getByTestId('dest-test-result');
    await result.waitFor({ timeout: 30_000 });
    assert.equal(await result.getAttribute('data-ok'), 'false');
    assert.equal(
      await result.innerText(),
      'The server\'s TLS certificate is not trusted (self-signed). If this is your own server, turn on "Allow an untrusted certificate" for this destination.',
    );
    assert.equal(rtmp.publishCount('private-key-2468'), 0, 'the key never reached the server');

    await row.getByTestId('dest-edit').click();
    await admin.getByTestId('dest-allow-untrusted').check();
    assert.match(await admin.getByTestId('dest-untrusted-warning').innerText(), /will not be checked.*stream key/s);
    await admin.getByTestId('dest-save').click();
    await row.getByTestId('dest-untrusted-badge').waitFor();
    await row.getByTestId('dest-test').click();
    await admin.locator('[data-testid="dest-row"]').filter({ hasText: 'Own RTMPS' }).locator('[data-testid="dest-test-result"][data-ok="true"]').waitFor({ timeout: 30_000 });
    assert.equal(rtmp.publishCount('private-key-2468'), 1);
  });

  it('a webinar scheduled ~12 s ahead goes live on its own with the host in it, stops at its end, and shows in history', async () => {
    const before = rtmp.publishCount('webinar-key-9876');
    const logoDir = mkdtempSync(join(tmpdir(), 'onair-e2e-logo-'));
    const id = await scheduleWebinar('Product launch', 12, 30, { png: makePng(logoDir, 'red@0.9', '160x80'), corner: 'bottom-left' });
    rmSync(logoDir, { recursive: true, force: true });
    assert.equal(await admin.locator(`[data-testid="webinar-row"][data-webinar-id="${id}"]`).getAttribute('data-status'), 'scheduled');

    // The host signs in and opens the host link from the webinar page.
    await admin.locator(`[data-testid="webinar-row"][data-webinar-id="${id}"]`).click();
    const hostUrl = (await admin.getByTestId('webinar-host-url').innerText()).trim();
    assert.match(hostUrl, /\/join\/r\w+$/);
    const roomId = hostUrl.slice(hostUrl.lastIndexOf('/') + 1);
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, HOST.email, HOST.password);
    await host.page.goto(hostUrl);
    await joinAs(host.page, HOST.name);

    // Nobody presses anything: at its start time it goes live.
    await waitFor(async () => (await webinarStatus(id)) === 'live', 'the webinar to go live', 40_000);
    await host.page.getByTestId('live-badge').waitFor({ timeout: 20_000 });
    await admin.locator('[data-testid="webinar-status"][data-status="live"]').waitFor({ timeout: 15_000 });
    const probed = await probeStream(`${rtmp.rtmpUrl('live')}/webinar-key-9876`, 4);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(probed.video?.width, 1280);
    assert.equal(probed.audio?.codec, 'aac');
    assert.equal(rtmp.publishCount('webinar-key-9876'), before + 1);
    // The logo chosen in the webinar form is on air in its corner, with nobody pressing anything.
    const live = await server.api<{ broadcast: { logo: { corner: string } | null } | null }>('GET', `/api/rooms/${roomId}/broadcast`, undefined, await server.adminToken());
    assert.equal(live.body.broadcast?.logo?.corner, 'bottom-left');

    // And at its end time it stops.
    await waitFor(async () => (await webinarStatus(id)) === 'ended', 'the webinar to end', 45_000);
    await waitFor(async () => rtmp.activePublishes('webinar-key-9876') === 0, 'the publish to end', 15_000);
    await host.page.getByTestId('live-badge').waitFor({ state: 'detached' });

    await admin.getByTestId('nav-history').click();
    const record = admin.locator(`[data-testid="history-row"][data-webinar-id="${id}"]`);
    await record.waitFor({ timeout: 15_000 });
    assert.equal(await record.getAttribute('data-trigger'), 'scheduled');
    const outcome = record.getByTestId('history-dest');
    assert.match(await outcome.innerText(), /Local RTMP/);
    assert.equal(await outcome.getAttribute('data-outcome'), 'stopped');
    await host.context.close();
  });

  it('a webinar scheduled before a server restart still goes live on its own after it', async () => {
    const before = rtmp.publishCount('webinar-key-9876');
    const id = await scheduleWebinar('After restart', 15, 20);
    await server.restart();
    await waitFor(async () => (await webinarStatus(id)) === 'live', 'the webinar to go live after the restart', 45_000);
    const probed = await probeStream(`${rtmp.rtmpUrl('live')}/webinar-key-9876`, 3);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(rtmp.publishCount('webinar-key-9876'), before + 1);
    await waitFor(async () => (await webinarStatus(id)) === 'ended', 'the webinar to end', 40_000);
    await waitFor(async () => rtmp.activePublishes('webinar-key-9876') === 0, 'the publish to end', 15_000);
  });
});
