import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhookReceiver.js';

const RUN = randomBytes(4).toString('hex');

describe('operations in the dashboard: webhooks, the Test checklist, the stop summary (real OnAir, nginx RTMP, Chromium)', () => {
  let rtmp: RtmpServer;
  let server: RunningServer;
  let browser: Browser;
  let receiver: WebhookReceiver;
  let admin: Page;
  let destinationId = '';

  before(async () => {
    rtmp = await startRtmpServer();
    receiver = await startWebhookReceiver();
    server = await startOnAir();
    browser = await launchBrowser();
    admin = (await newParticipant(browser, server.url)).page;
    await signIn(admin, ADMIN.email, ADMIN.password);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
    await rtmp?.stop();
  });

  it('webhooks: a bad URL is refused in words; an endpoint is added with its secret shown; Test delivery shows a signed delivery row', async () => {
    await admin.goto('/admin/webinars');
    await admin.getByTestId('nav-webhooks').click();
    await admin.getByTestId('webhook-empty').waitFor();
    await admin.getByTestId('webhook-new').click();
    await admin.getByTestId('webhook-url').fill('ftp://example.com/hook');
    await admin.getByTestId('webhook-save').click();
    assert.match(await admin.getByTestId('form-error').innerText(), /must start with http:\/\/ or https:\/\//);

    await admin.getByTestId('webhook-url').fill(receiver.url('/hook'));
    await admin.getByTestId('webhook-description').fill('e2e receiver');
    await admin.getByTestId('webhook-save').click();
    const row = admin.getByTestId('webhook-row');
    await row.waitFor();
    const secret = (await row.getByTestId('webhook-secret').innerText()).trim();
    assert.match(secret, /^whsec_[\w-]{43}$/, 'the new secret is shown once');
    receiver.secrets.set('/hook', secret);
    await row.getByTestId('webhook-reveal').click(); // hide
    assert.match(await row.getByTestId('webhook-secret').innerText(), /^whsec_••••/);

    await row.getByTestId('webhook-test').click();
    await row.locator('[data-testid="webhook-test-result"][data-ok="true"]').waitFor();
    const delivery = row.locator('[data-testid="webhook-delivery"][data-event="webhook.test"]');
    await delivery.waitFor();
    assert.equal(await delivery.getAttribute('data-ok'), 'true');
    assert.equal(await delivery.getAttribute('data-status'), '200');
    assert.match(await delivery.innerText(), /webhook\.test\s+1\s+200 OK\s+\d+ ms/);
    assert.equal(receiver.received.length, 1);
    assert.equal(receiver.received[0]?.signatureValid, true, 'the receiver verified the signature with the secret shown');
  });

  it('Test shows the preflight checklist, rule by rule', async () => {
    await admin.getByTestId('nav-destinations').click();
    await admin.getByTestId('dest-new').click();
    await admin.getByTestId('dest-platform').selectOption('custom');
    await admin.getByTestId('dest-name').fill('Local RTMP');
    await admin.getByTestId('dest-server-url').fill(rtmp.rtmpUrl('live'));
    await admin.getByTestId('dest-stream-key').fill(`ops-${RUN}-1234`);
    await admin.getByTestId('dest-save').click();
    const row = admin.locator('[data-testid="dest-row"]').filter({ hasText: 'Local RTMP' });
    await row.waitFor();
    destinationId = (await row.getAttribute('data-destination-id')) ?? '';
    await row.getByTestId('dest-test').click();
    await row.locator('[data-testid="dest-test-result"][data-ok="true"]').waitFor({ timeout: 40_000 });
    const rules = admin.getByTestId('dest-test-rule');
    const texts = await rules.allInnerTexts();
    assert.deepEqual(
      texts.map((t) => t.split(' — ')[0]?.replace(/^[✓✕–]\s*/, '')),
      ['H.264 High profile, level 4.1 or lower', '1280x720 at 30 fps', 'keyframe every 2 s', 'AAC-LC, 48 kHz, stereo', 'server accepted the stream'],
    );
    assert.deepEqual(await rules.evaluateAll((els) => els.map((e) => e.getAttribute('data-ok'))), ['true', 'true', 'true', 'true', 'true']);
  });

  it('stopping shows a summary in the Go live panel: duration, each destination, the recording', async () => {
    const token = await server.adminToken();
    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Summary show' }, token);
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Hana Host');
    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${destinationId}"]`).check();
    await host.page.getByTestId('broadcast-record').check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await host.page.locator(`[data-testid="dest-status"][data-destination-id="${destinationId}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    await host.page.waitForTimeout(2000);
    await host.page.getByTestId('btn-stop-broadcast').click();
    const summary = host.page.getByTestId('broadcast-summary');
    await summary.getByTestId('summary-duration').waitFor({ timeout: 15_000 });
    assert.match(await summary.getByTestId('summary-duration').innerText(), /^Ran for \d+ s/);
    const dest = summary.locator(`[data-testid="summary-dest"][data-destination-id="${destinationId}"]`);
    assert.equal(await dest.getAttribute('data-outcome'), 'stopped');
    assert.match(await dest.innerText(), /Local RTMP\s+Stopped cleanly\s+Live \d+ s/i);
    assert.match(await summary.getByTestId('summary-recording').innerText(), /Recording saved on the server as .+\.(flv|mp4)/);
    // The webhook heard about it too.
    const types = receiver.received.map((d) => (d.json as { type?: string }).type);
    assert.ok(types.includes('broadcast.started') && types.includes('broadcast.stopped'), types.join(', '));
    await host.context.close();
  });

  it('deleting a destination asks first', async () => {
    await admin.getByTestId('nav-destinations').click();
    const row = admin.locator(`[data-testid="dest-row"][data-destination-id="${destinationId}"]`);
    const dialogs: string[] = [];
    admin.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await row.getByTestId('dest-delete').click();
    await admin.waitForTimeout(300);
    assert.match(dialogs[0] ?? '', /^Delete “Local RTMP”\?/);
    assert.equal(await row.count(), 1, 'kept when the answer is no');
    admin.once('dialog', (d) => void d.accept());
    await row.getByTestId('dest-delete').click();
    await row.waitFor({ state: 'detached' });
  });
});
