import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { newParticipant, signIn, watchCsp } from './fixtures/browser.js';
import { liveStack } from './fixtures/liveStack.js';
import { ADMIN } from './fixtures/server.js';

/** What the viewer's <video> reports: the player's own clock and the frames it has decoded. */
async function playback(page: Page): Promise<{ currentTime: number; frames: number; width: number }> {
  return page.getByTestId('watch-video').evaluate((el) => {
    const video = el as HTMLVideoElement;
    return { currentTime: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth };
  });
}

describe('the OnAir event page: a webinar goes live with its event page on and a viewer watches it on a phone (real Chromium, hls.js, ffmpeg, nginx-rtmp)', () => {
  const stack = liveStack();

  it('the viewer sees "starting soon" or "live", then plays (currentTime advances, frames decoded), counts as a viewer, and sees "ended" after Stop', async () => {
    const { server, rtmp, browser } = stack;
    const token = await server.adminToken();
    const dest = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Recorder', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: `e2e-event-${randomBytes(4).toString('hex')}` }, token);
    assert.equal(dest.status, 201);

    // The admin schedules the webinar in the form, with the event page on and an address of their own.
    const admin = (await newParticipant(browser, server.url)).page;
    await signIn(admin, ADMIN.email, ADMIN.password);
    await admin.goto('/admin/webinars');
    await admin.getByTestId('webinar-new').click();
    await admin.getByTestId('webinar-title').fill('Spring launch');
    await admin.getByTestId('webinar-description').fill('Our new product, live, with questions at the end.');
    await admin.getByTestId('webinar-timezone').selectOption('UTC');
    await admin.getByTestId('webinar-start').fill(new Date(Date.now() + 2000).toISOString().slice(0, 19));
    await admin.getByTestId('webinar-end').fill(new Date(Date.now() + 3600_000).toISOString().slice(0, 19));
    await admin.locator(`[data-testid="webinar-destination"][data-destination-id="${dest.body.id}"]`).check();
    await admin.getByTestId('webinar-eventpage').check();
    await admin.getByTestId('webinar-eventslug').fill('spring-launch-live');
    await admin.getByTestId('webinar-save').click();
    const row = admin.locator('[data-testid="webinar-row"]').filter({ hasText: 'Spring launch' });
    await row.waitFor();
    const webinarId = (await row.getAttribute('data-webinar-id')) ?? '';

    // A viewer on a phone, no account.
    const phone = await browser.newContext({ baseURL: server.url, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const violations = await watchCsp(phone);
    const viewer = await phone.newPage();
    viewer.setDefaultTimeout(30_000);
    await viewer.goto('/watch/no-such-event-here');
    await viewer.locator('[data-testid="watch-state"][data-state="missing"]').waitFor();
    assert.match(await viewer.locator('main').innerText(), /No such event/);

    await viewer.goto('/watch/spring-launch-live');
    assert.equal(await viewer.getByTestId('watch-title').innerText(), 'Spring launch');
    assert.match(await viewer.getByTestId('watch-description').innerText(), /Our new product/);
    await viewer.locator('[data-testid="watch-state"][data-state="live"]').waitFor({ timeout: 45_000 });
    await viewer.getByTestId('watch-video').waitFor();
    let before = await playback(viewer);
    const deadline = Date.now() + 30_000;
    while (before.frames === 0 && Date.now() < deadline) {
      await viewer.waitForTimeout(500);
      before = await playback(viewer);
    }
    await viewer.waitForTimeout(3000);
    const after = await playback(viewer);
    assert.ok(after.currentTime > before.currentTime + 1.5, `currentTime advances: ${before.currentTime} → ${after.currentTime}`);
    assert.ok(after.frames > before.frames + 30, `frames are decoded: ${before.frames} → ${after.frames}`);
    assert.equal(after.width, 1280, 'the program itself (720p), not a second encode');
    const viewers = Number(await viewer.getByTestId('watch-viewers').getAttribute('data-viewers'));
    assert.ok(viewers >= 1, `the viewer counts (${viewers})`);
    const overflow = await viewer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page fits the phone's width (overflows by ${overflow}px)`);

    // The admin's page of the live webinar shows the event page and its viewers; then they stop it.
    await admin.goto(`/admin/webinars/${webinarId}`);
    await admin.getByTestId('webinar-event-url').waitFor();
    assert.match(await admin.getByTestId('webinar-event-url').innerText(), /\/watch\/spring-launch-live$/);
    const counted = admin.locator('[data-testid="broadcast-eventpage-viewers"]:not([data-viewers="0"])');
    await counted.waitFor({ timeout: 20_000 });
    assert.ok(Number(await counted.getAttribute('data-viewers')) >= 1);
    await admin.getByTestId('webinar-cancel').click();
    await viewer.locator('[data-testid="watch-state"][data-state="ended"]').waitFor({ timeout: 20_000 });
    assert.match(await viewer.locator('main').innerText(), /This event has ended/);

    // A private event: without its link, or with a forged one, the page says so in plain words.
    const board = await server.api<{ eventSlug: string }>('POST', '/api/webinars', {
      title: 'Board meeting', startsAt: new Date(Date.now() + 3600_000).toISOString(), endsAt: new Date(Date.now() + 7200_000).toISOString(),
      timeZone: 'UTC', destinationIds: [], eventPage: true, eventPrivate: true,
    }, token);
    assert.equal(board.status, 201);
    await viewer.goto(`/watch/${board.body.eventSlug}`);
    await viewer.locator('[data-testid="watch-state"][data-state="denied"]').waitFor();
    assert.match(await viewer.locator('main').innerText(), /This event is private[\s\S]*link the organiser sent you/);
    await viewer.goto(`/watch/${board.body.eventSlug}?token=forged.token.value`);
    await viewer.locator('[data-testid="watch-state"][data-state="denied"]').waitFor();
    assert.match(await viewer.locator('main').innerText(), /not valid/);
    await phone.close();
    assert.deepEqual(violations, [], 'the event page keeps to the Content-Security-Policy (hls.js worker and media are blob: URLs)');
  });
});
