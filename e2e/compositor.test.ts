import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { resolveFfmpegPath, resolveFfprobePath } from '../server/src/media/ffmpegPath.js';
import { joinAs, newParticipant } from './fixtures/browser.js';
import { hostAndGuest, liveStack } from './fixtures/liveStack.js';
import { encoders, run } from './fixtures/processes.js';

const KEY = `e2e-program-${randomBytes(4).toString('hex')}`;

describe('live compositor: one program through everything a room does (real Chromium, mediasoup, ffmpeg, nginx-rtmp)', () => {
  const stack = liveStack();

  it('join, leave, mute, camera off and on, two layout switches and a title edit: one publish, one encoder, no freeze over 1 s, keyframes exactly 2 s, no audio holes', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const dest = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Recorder', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY }, token);
    assert.equal(dest.status, 201);
    const { room, host, guest } = await hostAndGuest(stack, token, 'Program show');

    const wentLiveAt = Date.now();
    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${dest.body.id}"]`).check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await host.page.locator(`[data-testid="dest-status"][data-destination-id="${dest.body.id}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    const firstPublishMs = (rtmp.publishes.find((p) => p.name === KEY)?.at ?? NaN) - wentLiveAt;
    // A viewer at nginx keeps what the platform receives, from the first keyframe it is sent.
    const dir = mkdtempSync(join(tmpdir(), 'onair-e2e-program-'));
    const path = join(dir, 'viewer.flv');
    const viewer = spawn(resolveFfmpegPath(), ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', `${rtmp.rtmpUrl('live')}/${KEY}`, '-c', 'copy', '-f', 'flv', path], { stdio: 'ignore' });
    const viewerExited = new Promise((resolve) => viewer.once('exit', resolve));
    // Never leave the viewer behind (it would keep the test process alive) whatever fails below.
    const stopViewer = (): void => {
      if (viewer.exitCode === null && viewer.signalCode === null) viewer.kill('SIGKILL');
    };
    process.once('exit', stopViewer);
    try {

    // At no moment may a second encoder run: sample the server's children all along.
    const seen = new Set<number>();
    let most = 0;
    const sampler = setInterval(() => {
      const now = encoders(server.pid());
      for (const pid of now) seen.add(pid);
      most = Math.max(most, now.length);
    }, 100);

    const step = async (page: Page, what: () => Promise<unknown>) => {
      await what();
      await page.waitForTimeout(3500);
    };
    await host.page.waitForTimeout(4000);
    const third = await newParticipant(browser, server.url);
    await step(host.page, async () => {
      await third.page.goto(room.body.joinUrl);
      await joinAs(third.page, 'Pia Panelist');
    });
    await step(host.page, () => third.context.close());
    await step(host.page, () => host.page.getByTestId('btn-mic').click());
    await step(host.page, () => host.page.getByTestId('btn-camera').click());
    await step(host.page, () => host.page.getByTestId('btn-camera').click());
    await step(host.page, () => host.page.getByTestId('layout-select').first().selectOption('speaker'));
    await step(host.page, () => host.page.getByTestId('layout-select').first().selectOption('grid'));
    await step(host.page, async () => {
      await host.page.locator('details.overlay-edit summary').click();
      await host.page.locator('details.overlay-edit input').first().fill('Edited live');
      await host.page.locator('details.overlay-edit button').click();
    });
    clearInterval(sampler);
    const liveSeconds = (Date.now() - wentLiveAt) / 1000;
    await host.page.getByTestId('btn-stop-broadcast').click();
    const deadline = Date.now() + 15_000;
    while (rtmp.activePublishes(KEY) > 0 && Date.now() < deadline) await host.page.waitForTimeout(200);

    assert.equal(rtmp.publishCount(KEY), 1, 'exactly one publish for the whole run');
    assert.equal(most, 1, `never more than one encoder at a time (saw ${most})`);
    assert.equal(seen.size, 1, `one encoder process for the whole broadcast (saw ${[...seen].join(', ')})`);

    // nginx ends the viewer's stream when the publish ends; ffmpeg then finishes its file.
    await Promise.race([viewerExited, new Promise((r) => setTimeout(r, 3000))]);
    viewer.kill('SIGINT');
    await Promise.race([viewerExited, new Promise((r) => setTimeout(r, 3000))]);
    stopViewer();
    const packets = await run(resolveFfprobePath(), ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,flags', '-of', 'csv=p=0', path]);
    const rows = packets.split('\n').map((l) => l.split(','));
    const video = rows.filter((r) => r[0] === 'video').map((r) => ({ t: Number(r[1]), key: (r[2] ?? '').includes('K') }));
    const audio = rows.filter((r) => r[0] === 'audio').map((r) => Number(r[1]));
    const keyframes = video.filter((v) => v.key).map((v) => v.t);
    const gops = keyframes.slice(1).map((t, i) => t - (keyframes[i] ?? 0));
    const vSteps = video.slice(1).map((v, i) => v.t - (video[i]?.t ?? 0));
    const aSteps = audio.slice(1).map((t, i) => t - (audio[i] ?? 0));
    const duration = (video.at(-1)?.t ?? 0) - (video[0]?.t ?? 0);
    if (process.env.KEEP_OUTPUT) await run('cp', [path, process.env.KEEP_OUTPUT]);
    const freeze = await run(resolveFfmpegPath(), ['-hide_banner', '-nostats', '-i', path, '-map', '0:v', '-vf', 'freezedetect=n=0.003:d=0.3', '-f', 'null', '-']);
    const freezes = [...freeze.matchAll(/freeze_start: ([\d.]+)/g)].map((m) => Number(m[1]));
    console.log(
      'program e2e',
      JSON.stringify({
        firstPublishMs,
        liveSeconds,
        recordedSeconds: duration,
        maxVideoStepMs: Math.round(Math.max(...vSteps) * 1000),
        maxAudioStepMs: Math.round(Math.max(...aSteps) * 1000),
        gops: gops.map((g) => g.toFixed(3)),
        freezes: freezes.map((t, i) => `${t}+${[...freeze.matchAll(/freeze_duration: ([\d.]+)/g)][i]?.[1]}`),
      }),
    );
    // At least six whole GOPs: the viewer that records the program starts late when the 2 cores are
    // busy (18 s of a 41 s broadcast were recorded in one CI run), and the cadence is what counts.
    assert.ok(gops.length >= 6 && gops.every((g) => Math.abs(g - 2) <= 0.034), `keyframes exactly every 2 s: ${gops.map((g) => g.toFixed(3)).join(' ')}`);
    assert.ok(Math.max(...vSteps) <= 0.034 + 0.002, `no gap above one frame in the video timeline (max ${Math.max(...vSteps)})`);
    assert.ok(Math.max(...aSteps) <= 0.0214 + 0.002, `no audio timestamp holes (max step ${Math.max(...aSteps)})`);
    // The first seconds show name tiles until the cameras' first pictures are decoded. After that the
    // program never repeats a picture for long: a source that stalls shows its name tile after 1 s.
    // Shorter freezes remain possible when every camera stalls at once (on 2 busy cores the fake
    // cameras' own frame counters were seen to stop for 0.3–0.8 s in both tiles together); they are printed.
    const durations = [...freeze.matchAll(/freeze_duration: ([\d.]+)/g)].map((m) => Number(m[1]));
    const long = freezes.map((t, i) => ({ t, d: durations[i] ?? 0 })).filter((f) => f.t > 3 && f.d > 1.0);
    assert.deepEqual(long, [], 'no freeze above 1 s after the start');
    } finally {
      stopViewer();
      rmSync(dir, { recursive: true, force: true });
    }
    await host.context.close();
    await guest.context.close();
  });
});
