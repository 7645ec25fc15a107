import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { resolveFfprobePath } from '../server/src/media/ffmpegPath.js';
import { joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

const run = promisify(execFile);

/** How many points a graph's line has drawn. */
async function pointsOf(graph: Locator): Promise<number> {
  const points = (await graph.getByTestId('graph-line').getAttribute('points')) ?? '';
  return points.trim() === '' ? 0 : points.trim().split(/\s+/).length;
}

/** Waits until the graph has drawn more than `than` points; returns how many. */
async function morePoints(page: Page, graph: Locator, than: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await pointsOf(graph);
    if (n > than) return n;
    if (Date.now() > deadline) throw new Error(`the graph stayed at ${n} points (wanted more than ${than})`);
    await page.waitForTimeout(250);
  }
}

describe('health graphs and recordings in the browser (real nginx RTMP, real ffmpeg, real Chromium)', () => {
  let rtmp: RtmpServer;
  let server: RunningServer;
  let browser: Browser;
  let destinationId: string;
  before(async () => {
    rtmp = await startRtmpServer();
    server = await startOnAir({ LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn' });
    browser = await launchBrowser();
    const created = await server.api<{ id: string }>(
      'POST', '/api/destinations', { name: 'Local RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'health-key-1357' }, await server.adminToken(),
    );
    assert.equal(created.status, 201);
    destinationId = created.body.id;
  });
  after(async () => {
    if (process.env.E2E_LOG_LEVEL) console.log(server?.output());
    await browser?.close();
    await server?.close();
    await rtmp?.stop();
  });

  it('the Go live panel graphs the destination and the program (points grow); the recording is listed with size and duration, downloads as MP4, seeks, and an admin deletes it after confirming', async () => {
    const token = await server.adminToken();
    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Recorded show' }, token);
    const host = await newParticipant(browser, server.url);
    const page = host.page;
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.goto(`/join/${room.body.id}`);
    await joinAs(page, 'Hana Host');

    await page.getByTestId('btn-golive').click();
    await page.locator(`[data-testid="dest-checkbox"][data-destination-id="${destinationId}"]`).check();
    await page.getByTestId('broadcast-record').check();
    await page.getByTestId('btn-start-broadcast').click();
    await page.locator(`[data-testid="dest-status"][data-destination-id="${destinationId}"][data-state="live"]`).waitFor({ timeout: 30_000 });

    // One graph per destination, and the program's frame rate: both gain a point every 2 s.
    const graph = page.locator(`[data-testid="health-graph"][data-destination-id="${destinationId}"]`);
    const program = page.locator('[data-testid="program-health"] [data-testid="health-graph"]');
    const first = await morePoints(page, graph, 1);
    const programFirst = await morePoints(page, program, 0);
    const later = await morePoints(page, graph, first + 1, 10_000);
    assert.ok(later >= first + 2, `the destination's graph grew from ${first} to ${later} points`);
    assert.ok((await morePoints(page, program, programFirst)) > programFirst, "the program's graph grows");
    assert.equal(Number(await graph.getAttribute('data-points')), await pointsOf(graph));
    assert.match(await page.getByTestId('program-fps').innerText(), /^\d+ fps$/);
    // Closing and opening the panel again shows the same history at once (the server keeps it).
    await page.getByTestId('golive-panel').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('btn-golive').click();
    assert.ok((await pointsOf(graph)) >= later, 'a panel opened later still shows the last minutes');

    await page.getByTestId('btn-stop-broadcast').click();
    await page.getByTestId('btn-start-broadcast').waitFor({ timeout: 15_000 });

    // The history lists the recording once it has been converted to MP4.
    await page.goto('/admin/history');
    const row = page.locator('[data-testid="history-row"]').filter({ hasText: 'Recorded show' });
    const recording = row.locator('[data-testid="recording"]');
    for (let i = 0; i < 60 && (await recording.getAttribute('data-state').catch(() => null)) !== 'ready'; i++) {
      await page.waitForTimeout(500);
      if (i % 10 === 9) await page.reload();
    }
    assert.equal(await recording.getAttribute('data-state'), 'ready');
    const info = await recording.getByTestId('recording-info').innerText();
    assert.match(info, /^16:9 · MP4 · \d+(\.\d)? (KB|MB) · \d+ s$/, info);
    assert.match(await row.getByTestId('history-dest').innerText(), /avg [\d,.]+ kb\/s/, 'the history keeps the average bitrate');

    const [download] = await Promise.all([page.waitForEvent('download'), recording.getByTestId('recording-download').click()]);
    const saved = join(server.dataDir, 'downloaded.mp4');
    await download.saveAs(saved);
    const { stdout } = await run(resolveFfprobePath(), ['-v', 'error', '-of', 'json', '-show_entries', 'format=format_name,duration', saved]);
    const format = (JSON.parse(stdout) as { format: { format_name: string; duration: string } }).format;
    assert.match(format.format_name, /mp4/);
    type Record = { roomId: string; startedAt: string; stoppedAt: string | null; recordings: Array<{ durationSeconds: number | null }> };
    const record = (await server.api<Record[]>('GET', '/api/broadcasts', undefined, token)).body.find((b) => b.roomId === room.body.id)!;
    const length = (Date.parse(record.stoppedAt!) - Date.parse(record.startedAt)) / 1000;
    const duration = Number(format.duration);
    assert.ok(Math.abs(duration - (record.recordings[0]?.durationSeconds ?? 0)) <= 0.05, `the history shows the file's duration (${duration} s)`);
    // Here Chromium shares 2 cores with the encoder, which then runs up to ~1 s behind, and Stop
    // drops what is still inside it (server/test/broadcasting/recordings.test.ts checks ±0.5 s
    // without the browser's load): the recording may be short by that much, never long.
    assert.ok(duration <= length + 0.5 && duration >= length - 1.5, `ffprobe reads ${duration} s; the broadcast lasted ${length} s`);
    // The same link answers range requests, as a player seeking in it would send them.
    const seek = await page.evaluate(async (url) => {
      const res = await fetch(url, { headers: { Range: 'bytes=100-199' } });
      return { status: res.status, bytes: (await res.arrayBuffer()).byteLength, range: res.headers.get('content-range') };
    }, download.url());
    assert.equal(seek.status, 206);
    assert.equal(seek.bytes, 100);
    assert.match(seek.range ?? '', /^bytes 100-199\/\d+$/);

    // Deleting asks first: "Cancel" keeps it, "OK" removes the file.
    const file = join(server.dataDir, 'recordings', await recording.locator('.mono').innerText());
    assert.ok(existsSync(file), file);
    page.once('dialog', (d) => void d.dismiss());
    await recording.getByTestId('recording-delete').click();
    await page.waitForTimeout(500);
    assert.equal(await recording.getAttribute('data-state'), 'ready');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await recording.getByTestId('recording-delete').click();
    await row.locator('[data-testid="recording"][data-state="deleted"]').waitFor({ timeout: 10_000 });
    assert.match(asked, /^Delete the recording of "Recorded show"/);
    assert.equal(existsSync(file), false, 'the file is gone from the server');
    await host.context.close();
  });

  it("the admin's live view of a webinar graphs each destination and the program's frame rate", async () => {
    const token = await server.adminToken();
    const now = Date.now();
    const webinar = await server.api<{ id: string }>(
      'POST',
      '/api/webinars',
      {
        title: 'Watched webinar',
        startsAt: new Date(now + 2000).toISOString(),
        endsAt: new Date(now + 120_000).toISOString(),
        timeZone: 'UTC',
        destinationIds: [destinationId],
        autoStart: true,
        autoStop: true,
      },
      token,
    );
    assert.equal(webinar.status, 201, JSON.stringify(webinar.body));
    const admin = await newParticipant(browser, server.url);
    await signIn(admin.page, ADMIN.email, ADMIN.password);
    await admin.page.goto(`/admin/webinars/${webinar.body.id}`);
    await admin.page.locator('[data-testid="webinar-status"][data-status="live"]').waitFor({ timeout: 30_000 });
    const live = admin.page.getByTestId('live-health');
    await live.locator(`[data-testid="live-dest"][data-destination-id="${destinationId}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    const graph = live.locator(`[data-testid="health-graph"][data-destination-id="${destinationId}"]`);
    const first = await morePoints(admin.page, graph, 0);
    assert.ok((await morePoints(admin.page, graph, first + 1, 10_000)) >= first + 2, 'the graph grows at the status cadence');
    assert.ok((await pointsOf(live.locator('[data-testid="program-health"] [data-testid="health-graph"]'))) > 0);
    assert.match(await live.getByTestId('program-fps').innerText(), /^\d+ fps$/);
    assert.equal((await server.api('POST', `/api/webinars/${webinar.body.id}/cancel`, undefined, token)).status, 200);
    await live.waitFor({ state: 'detached', timeout: 15_000 });
    await admin.context.close();
  });
});
