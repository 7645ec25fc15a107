import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expectMediaFrom, inboundStats, joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { processesContaining } from './fixtures/processes.js';
import { startRtspCamera, type RtspCamera } from './fixtures/rtspServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

const CAMERA_PASSWORD = 'e2e-cam-Secret-42';

/** Frames decoded so far from the camera's video, in this page. */
async function cameraFrames(page: Page, peerId: string): Promise<number> {
  return (await inboundStats(page)).find((s) => s.peerId === peerId && s.kind === 'video')?.framesDecoded ?? 0;
}

describe('an IP camera over RTSP in a meeting (real gst-rtsp-server, OnAir, Chromium)', () => {
  let server: RunningServer;
  let browser: Browser;
  let camera: RtspCamera;
  before(async () => {
    [server, browser, camera] = await Promise.all([startOnAir(), launchBrowser(), startRtspCamera({ auth: 'basic', user: 'onair', password: CAMERA_PASSWORD })]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await camera?.stop();
  });

  it('a host adds a camera on the dashboard; in the meeting it is a participant whose video the browser decodes; killed it shows "retrying" with the reason, restarted it is live again', async () => {
    const { context, page: dashboard } = await newParticipant(browser, server.url);
    await signIn(dashboard, ADMIN.email, ADMIN.password);
    await dashboard.getByTestId('room-name-input').fill('Studio');
    await dashboard.getByTestId('create-room').click();
    const room = dashboard.getByTestId('room-item').filter({ hasText: 'Studio' });
    await room.waitFor();
    const roomId = await room.getAttribute('data-room-id');
    assert.ok(roomId);

    // A URL that is not RTSP is refused with words that name the field.
    await room.getByTestId('add-camera').click();
    await room.getByTestId('camera-name').fill('Stage camera');
    await room.getByTestId('camera-url').fill(`http://127.0.0.1:${camera.port}/cam`);
    await room.getByTestId('save-camera').click();
    await room.getByTestId('camera-form-error').filter({ hasText: 'url must start with rtsp:// or rtsps://' }).waitFor();

    await room.getByTestId('camera-url').fill(camera.url);
    await room.getByTestId('camera-username').fill('onair');
    await room.getByTestId('camera-password').fill(CAMERA_PASSWORD);
    await room.getByTestId('save-camera').click();
    const item = room.getByTestId('camera-item').filter({ hasText: 'Stage camera' });
    await item.waitFor();
    assert.equal(await item.getAttribute('data-state'), 'idle', 'nobody is in the room yet: not pulled');
    assert.ok((await item.textContent())?.includes(`rtsp://••••:••••@127.0.0.1:${camera.port}/cam`), 'the URL is shown masked');
    assert.ok(!(await dashboard.content()).includes(CAMERA_PASSWORD));
    const cameraId = await item.getAttribute('data-camera-id');
    const cameraPeer = `outside-${cameraId}`;

    // The host joins the meeting: the camera is pulled and decoded in the browser.
    const meeting = await context.newPage();
    await meeting.goto(`/join/${roomId}`);
    await joinAs(meeting, 'Hana Host');
    const tile = meeting.locator(`[data-testid="tile"][data-peer-id="${cameraPeer}"]`);
    await tile.waitFor();
    assert.equal(await tile.getAttribute('data-peer-name'), 'Stage camera');
    await expectMediaFrom(meeting, [cameraPeer], 40_000);
    await meeting.locator(`[data-testid="tile"][data-peer-id="${cameraPeer}"][data-outside-state="live"]`).waitFor();
    await item.locator('[data-testid="camera-state"]', { hasText: 'Live' }).waitFor({ timeout: 15_000 });
    assert.deepEqual(processesContaining(CAMERA_PASSWORD), [], 'no process shows the camera password in its arguments or environment');

    // The camera loses power: the dashboard says so in plain words, with the next attempt; the tile says "Reconnecting…".
    await camera.kill();
    await item.locator('[data-testid="camera-state"]', { hasText: 'Retrying' }).waitFor({ timeout: 20_000 });
    const error = await item.getByTestId('camera-error').textContent();
    assert.match(error ?? '', new RegExp(`stopped sending|Nothing answers at 127\\.0\\.0\\.1:${camera.port}`));
    await item.getByTestId('camera-next-attempt').waitFor();
    await meeting.locator(`[data-testid="tile"][data-peer-id="${cameraPeer}"][data-outside-state="reconnecting"]`).waitFor({ timeout: 20_000 });

    // It comes back: live again, and the browser decodes new frames.
    await camera.restart();
    await item.locator('[data-testid="camera-state"]', { hasText: 'Live' }).waitFor({ timeout: 45_000 });
    // A new feed (new producers, new consumers): its frames decoded grow across two samples.
    await expectMediaFrom(meeting, [cameraPeer], 30_000);
    assert.ok((await cameraFrames(meeting, cameraPeer)) > 0);
    assert.ok(!server.output().includes(CAMERA_PASSWORD), 'the server log never shows the camera password');
    await context.close();
  });
});
