import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { joinAs, newParticipant, signIn } from './fixtures/browser.js';
import { ADMIN } from './fixtures/server.js';
import { liveStack } from './fixtures/liveStack.js';
import { run } from './fixtures/processes.js';

const KEY = `e2e-slate-${randomBytes(4).toString('hex')}`;

interface FrameColour {
  t: number;
  y: number;
  u: number;
  v: number;
}

/** Each frame's average Y, U, V on the program's own timeline (the viewer kept the RTMP timestamps). */
async function frameColours(path: string, dir: string): Promise<FrameColour[]> {
  const stats = join(dir, 'stats.txt');
  await run(resolveFfmpegPath(), ['-hide_banner', '-nostats', '-copyts', '-i', path, '-map', '0:v', '-vf', `signalstats,metadata=mode=print:file=${stats}`, '-f', 'null', '-']);
  const frames: FrameColour[] = [];
  let current: FrameColour | null = null;
  for (const line of readFileSync(stats, 'utf8').split('\n')) {
    const head = /pts_time:([\d.]+)/.exec(line);
    if (head) {
      current = { t: Number(head[1]), y: 0, u: 0, v: 0 };
      frames.push(current);
      continue;
    }
    const m = /lavfi\.signalstats\.(YAVG|UAVG|VAVG)=([\d.]+)/.exec(line);
    if (m && current) current[m[1] === 'YAVG' ? 'y' : m[1] === 'UAVG' ? 'u' : 'v'] = Number(m[2]);
  }
  return frames;
}

/**
 * The slate ("We'll be right back": white text on 0x111827) averages to Y ≈ 37.5, U ≈ 136, V ≈ 124.
 * A full-frame name tile (0x1f2937, a stalled camera) is brighter (Y ≈ 50) and redder (V ≈ 122.6);
 * Chromium's fake camera is far from both.
 */
function isSlate(f: FrameColour): boolean {
  return f.y >= 30 && f.y <= 44 && Math.abs(f.u - 136) <= 1.5 && Math.abs(f.v - 124) <= 1;
}

async function goLive(page: Page, destinationId: string): Promise<void> {
  await page.getByTestId('btn-golive').click();
  await page.locator(`[data-testid="dest-checkbox"][data-destination-id="${destinationId}"]`).check();
  await page.getByTestId('btn-start-broadcast').click();
  await page.locator(`[data-testid="dest-status"][data-destination-id="${destinationId}"][data-state="live"]`).waitFor({ timeout: 30_000 });
}

describe("the host's browser closes mid-broadcast (real Chromium, mediasoup, ffmpeg, nginx-rtmp)", () => {
  const stack = liveStack();

  it('the slate is on air within 1 s and the destination stays live; the host rejoins and the program returns; one publish throughout', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const dest = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Recorder', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY }, token);
    assert.equal(dest.status, 201);
    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Slate show' }, token);

    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Hana Host');
    await goLive(host.page, dest.body.id);
    const live = await server.api<{ broadcast: { startedAt: string } | null }>('GET', `/api/rooms/${room.body.id}/broadcast`, undefined, token);
    const startedAt = Date.parse(live.body.broadcast?.startedAt ?? '');
    assert.ok(Number.isFinite(startedAt));

    // A viewer at nginx keeps what the platform receives, with the program's own timestamps.
    const dir = mkdtempSync(join(tmpdir(), 'onair-e2e-slate-'));
    const path = join(dir, 'viewer.flv');
    const viewer = spawn(resolveFfmpegPath(), ['-hide_banner', '-nostdin', '-loglevel', 'error', '-copyts', '-i', `${rtmp.rtmpUrl('live')}/${KEY}`, '-c', 'copy', '-copyts', '-f', 'flv', path], { stdio: 'ignore' });
    const viewerExited = new Promise((resolve) => viewer.once('exit', resolve));
    const stopViewer = (): void => {
      if (viewer.exitCode === null && viewer.signalCode === null) viewer.kill('SIGKILL');
    };
    process.once('exit', stopViewer);
    try {
      // The host's camera is on air for a while.
      await host.page.waitForTimeout(5000);
      const closedAt = Date.now();
      await host.context.close();
      await new Promise((r) => setTimeout(r, 6000));
      assert.equal(rtmp.activePublishes(KEY), 1, 'the destination stays live on the slate');

      const back = await newParticipant(browser, server.url);
      await signIn(back.page, ADMIN.email, ADMIN.password);
      await back.page.goto(`/join/${room.body.id}`);
      const rejoinedAt = Date.now();
      await joinAs(back.page, 'Hana Host');
      await back.page.waitForTimeout(6000);
      await back.page.getByTestId('btn-golive').click();
      await back.page.getByTestId('btn-stop-broadcast').click();
      const deadline = Date.now() + 15_000;
      while (rtmp.activePublishes(KEY) > 0 && Date.now() < deadline) await back.page.waitForTimeout(200);
      assert.equal(rtmp.publishCount(KEY), 1, 'exactly one publish for the whole run');

      await Promise.race([viewerExited, new Promise((r) => setTimeout(r, 3000))]);
      viewer.kill('SIGINT');
      await Promise.race([viewerExited, new Promise((r) => setTimeout(r, 3000))]);
      stopViewer();
      await back.context.close();

      // The program's timeline starts when Go live was pressed (within the encoder's start-up).
      const closeT = (closedAt - startedAt) / 1000;
      const rejoinT = (rejoinedAt - startedAt) / 1000;
      const frames = await frameColours(path, dir);
      const before = frames.filter((f) => f.t > closeT - 3 && f.t < closeT - 0.2);
      const firstSlate = frames.find((f) => f.t >= closeT - 0.2 && isSlate(f));
      const during = frames.filter((f) => f.t > closeT + 1.2 && f.t < rejoinT);
      const returned = frames.filter((f) => f.t > rejoinT + 4);
      // Runs of slate / not-slate frames, for the log.
      const runs: string[] = [];
      for (const f of frames) {
        const kind = isSlate(f) ? 'slate' : 'program';
        const last = runs.at(-1);
        if (!last?.startsWith(kind)) runs.push(`${kind}@${f.t.toFixed(2)}(y${f.y.toFixed(0)} u${f.u.toFixed(0)} v${f.v.toFixed(0)})`);
      }
      console.log(
        'slate e2e',
        runs.slice(0, 20).join(' '),
        JSON.stringify({
          closeT,
          rejoinT,
          slateAfterS: firstSlate ? Math.round((firstSlate.t - closeT) * 1000) / 1000 : null,
          camera: before.at(-1),
          slate: during[0],
          back: returned[0],
        }),
      );
      assert.ok(before.length > 30 && before.every((f) => !isSlate(f)), 'the host on air before the browser closed');
      assert.ok(firstSlate, 'the slate came on air');
      assert.ok(firstSlate.t - closeT <= 1.0, `the slate on air within 1 s (after ${(firstSlate.t - closeT).toFixed(3)} s)`);
      assert.ok(during.length > 60 && during.every(isSlate), 'the slate stays on air until the host is back');
      assert.ok(returned.length > 30 && returned.every((f) => !isSlate(f)), 'the program returns once the host is back');
    } finally {
      stopViewer();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
