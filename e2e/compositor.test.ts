import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { MAX_FREEZE_MS } from '../server/src/compositor/ProgramOutput.js';
import { resolveFfmpegPath, resolveFfprobePath } from '../server/src/media/ffmpegPath.js';
import { joinAs, launchBrowser, newParticipant } from './fixtures/browser.js';
import { counterCameraFile, counterSteps, readRecording, THUMB } from './fixtures/frameCounter.js';
import { hostAndGuest, liveStack } from './fixtures/liveStack.js';
import { startLiveViewer, timelineDrift } from './fixtures/liveViewer.js';
import { explainFreezes, freezesIn, placeRuns, stillRuns } from './fixtures/freezes.js';
import { encoders, run } from './fixtures/processes.js';

/**
 * Frames a camera's picture may get ahead of the time it was on air for before it counts as a jump
 * cut: 20 frames (0.67 s). Measured (issue 9): a decoder starved of CPU stops reading its socket (up
 * to 2.5 s queued) and delivers the backlog at once; the tile now plays it at up to two frames per
 * output frame as far as its 16-picture queue holds it, and skips the rest. When a new decoder takes
 * a tile over from one that lags, the new one has nothing older than its first picture: the picture
 * stepped 17 frames ahead at one such handover (the old decoder 11 frames behind the new one, its
 * socket holding 71 KB). The fake camera itself sends consecutive pictures 6–64 frames apart under
 * load. Ticks the program drops (its encoder behind) add to it: the output skips those frames.
 */
const LEAD_TOLERANCE_FRAMES = 20;
/**
 * Frames a camera's picture may step back: 2 (67 ms). At load 16 one change near the end of the
 * journey (the switch back to grid or the title edit) showed a picture one frame older than the one
 * before it, and one clean-clone CI run (December 2026) read 195, 195, 195, 193, 198 at its output
 * frame 1050, 35 s in (near the switch back to grid or the title edit), and a later one 6 frames
 * back in the grown speaker tile. Two likely causes in the handover are mended since (see Known
 * limitations), neither confirmed; the late takeovers the server warns of are printed on a step back.
 */
const BACK_TOLERANCE_FRAMES = 2;

const KEY = `e2e-program-${randomBytes(4).toString('hex')}`;
const METRICS_TOKEN = randomBytes(16).toString('hex');

describe('live compositor: one program through everything a room does (real Chromium, mediasoup, ffmpeg, nginx-rtmp)', () => {
  // At debug level: the decoders' takeovers and layer switches and the program's still runs are printed from the server's log.
  const stack = liveStack(() => ({ METRICS_TOKEN, LOG_LEVEL: 'debug' }));

  it('a screen share, join, leave, mute, camera off and on, two layout switches and a title edit: one publish, one encoder, no freeze over 1 s the cameras do not account for, keyframes exactly 2 s, no audio holes, no jump cut in a camera, timeline on the wall clock', async () => {
    const { rtmp, server, browser } = stack;
    const token = await server.adminToken();
    const dest = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Recorder', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY }, token);
    assert.equal(dest.status, 201);
    // The guest's camera shows its own frame number (in a browser of its own: the fake camera file is a browser flag).
    const counterBrowser = await launchBrowser([`--use-file-for-fake-video-capture=${await counterCameraFile(resolveFfmpegPath())}`]);
    const dir = mkdtempSync(join(tmpdir(), 'onair-e2e-program-'));
    const path = join(dir, 'viewer.flv');
    let viewer: ReturnType<typeof startLiveViewer> | undefined;
    let sampler: NodeJS.Timeout | undefined;
    try {
    const { room, host, guest } = await hostAndGuest(stack, token, 'Program show', counterBrowser);
    const wentLiveAt = Date.now();
    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${dest.body.id}"]`).check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await host.page.locator(`[data-testid="dest-status"][data-destination-id="${dest.body.id}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    const firstPublishMs = (rtmp.publishes.find((p) => p.name === KEY)?.at ?? NaN) - wentLiveAt;
    // A viewer at nginx keeps what the platform receives, from the first keyframe it is sent, and
    // notes when each packet arrived.
    viewer = startLiveViewer(`${rtmp.rtmpUrl('live')}/${KEY}`, path);

    // At no moment may a second encoder run: sample the server's children all along.
    const seen = new Set<number>();
    let most = 0;
    sampler = setInterval(() => {
      const now = encoders(server.pid());
      for (const pid of now) seen.add(pid);
      most = Math.max(most, now.length);
    }, 100);

    const step = async (page: Page, what: () => Promise<unknown>, ms = 3500) => {
      await what();
      await page.waitForTimeout(ms);
    };
    await host.page.waitForTimeout(4000);
    // The host shares a screen (Chromium's fake screen) while the layout is auto: the screen layout.
    let sharedAt = NaN;
    let unsharedAt = NaN;
    // Shared for 5 s: on busy cores the screen's new decoder took up to 2.7 s to show its first picture.
    await step(
      host.page,
      async () => {
        await host.page.getByTestId('btn-screen').click();
        await host.page.locator('[data-testid="btn-screen"][data-on="true"]').waitFor();
        sharedAt = performance.now();
      },
      5000,
    );
    await step(host.page, async () => {
      unsharedAt = performance.now();
      await host.page.getByTestId('btn-screen').click();
      await host.page.locator('[data-testid="btn-screen"][data-on="false"]').waitFor();
    });
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
    // What the program itself counted: ticks it dropped because the encoder fell behind (the timeline then falls behind the wall clock).
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const programFrames = Object.fromEntries(
      [...metrics.matchAll(/^onair_composer_(frames|dropped_frames|repeated_frames)_total\{[^}]*\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const liveSeconds = (Date.now() - wentLiveAt) / 1000;
    await host.page.getByTestId('btn-stop-broadcast').click();
    const deadline = Date.now() + 15_000;
    while (rtmp.activePublishes(KEY) > 0 && Date.now() < deadline) await host.page.waitForTimeout(200);

    assert.equal(rtmp.publishCount(KEY), 1, 'exactly one publish for the whole run');
    assert.equal(most, 1, `never more than one encoder at a time (saw ${most})`);
    assert.equal(seen.size, 1, `one encoder process for the whole broadcast (saw ${[...seen].join(', ')})`);

    // nginx ends the viewer's stream when the publish ends; ffmpeg then finishes its file.
    await Promise.race([viewer.exited, new Promise((r) => setTimeout(r, 3000))]);
    await viewer.stop();
    const videoDrift = timelineDrift(viewer.packets.filter((p) => p.kind === 'video'));
    const audioDrift = timelineDrift(viewer.packets.filter((p) => p.kind === 'audio'));
    const packets = await run(resolveFfprobePath(), ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,flags', '-of', 'csv=p=0', path]);
    const rows = packets.split('\n').map((l) => l.split(','));
    const video = rows.filter((r) => r[0] === 'video').map((r) => ({ t: Number(r[1]), key: (r[2] ?? '').includes('K') }));
    const audio = rows.filter((r) => r[0] === 'audio').map((r) => Number(r[1]));
    const keyframes = video.filter((v) => v.key).map((v) => v.t);
    const gops = keyframes.slice(1).map((t, i) => t - (keyframes[i] ?? 0));
    const vSteps = video.slice(1).map((v, i) => v.t - (video[i]?.t ?? 0));
    const aSteps = audio.slice(1).map((t, i) => t - (audio[i] ?? 0));
    const t0 = video[0]?.t ?? 0;
    const duration = (video.at(-1)?.t ?? 0) - t0;
    if (process.env.KEEP_OUTPUT) {
      await run('cp', [path, process.env.KEEP_OUTPUT]);
      writeFileSync(`${process.env.KEEP_OUTPUT}.packets.json`, JSON.stringify(viewer.packets));
    }
    // One decode of the recording: freezedetect, and the guest's frame number read from every frame.
    const recording = await readRecording(resolveFfmpegPath(), path, 'freezedetect=n=0.003:d=0.3');
    const freezes = freezesIn(recording.log);
    // What the server saw of the same moments: runs of frames that drew nothing new, and whether a
    // camera sent a picture meanwhile, put on the recording's timeline (placeRuns).
    const placed = placeRuns(stillRuns(server.output(), 'landscape'), freezes);
    const runs = placed.runs;
    const dropped = programFrames.dropped_frames ?? 0;
    const counter = counterSteps(recording.readings, LEAD_TOLERANCE_FRAMES + dropped, BACK_TOLERANCE_FRAMES);
    // The recording's frames while the screen was shared: those whose packet reached the viewer from
    // the share until a second and a half after it ended (the program's latency). Frame n is the
    // n-th video packet; counting 30 a second from the first instead put the window up to 3 s late
    // in a run whose program had dropped 147 ticks (the recording then has fewer frames than seconds × 30).
    const arrivals = viewer.packets.filter((p) => p.kind === 'video').map((p) => p.at);
    const shareFrames = recording.readings.filter((r) => (arrivals[r.frame] ?? -Infinity) >= sharedAt && (arrivals[r.frame] ?? Infinity) <= unsharedAt + 1500);
    const inScreenLayout = shareFrames.filter((r) => r.spot.scenes.some((s) => s.startsWith('screen 3 ')));
    // …and its main tile (the top three quarters) showed the fake screen's turning disc, not a still name tile.
    const moved = (f: number): number => {
      const now = recording.thumbs[f];
      const before = recording.thumbs[f - 15];
      let most = 0;
      for (let i = 0; now && before && i < THUMB.width * Math.round(540 * THUMB.scale); i += 1) most = Math.max(most, Math.abs((now[i] ?? 0) - (before[i] ?? 0)));
      return most;
    };
    const screenMoving = inScreenLayout.filter((r) => inScreenLayout.some((o) => o.frame === r.frame - 15) && moved(r.frame) > 40).length;
    console.log(
      'program e2e',
      JSON.stringify({
        firstPublishMs,
        liveSeconds,
        recordedSeconds: duration,
        maxVideoStepMs: Math.round(Math.max(...vSteps) * 1000),
        maxAudioStepMs: Math.round(Math.max(...aSteps) * 1000),
        gops: gops.map((g) => g.toFixed(3)),
        freezes: freezes.map((f) => `${(f.t - t0).toFixed(2)}+${f.d}`),
        // On the same clock (s after the recording's first frame); "/n": n frames had a camera's new picture arrive.
        stills: runs.filter((r) => r.t >= t0).map((r) => `${(r.t - t0).toFixed(2)}+${r.d.toFixed(2)}${r.arrivals > 0 ? `/${r.arrivals}` : ''}`),
        stillsOffset: placed.offset,
        serverLogBytes: server.output().length,
        programFrames,
        timeline: { video: videoDrift, audio: audioDrift },
        counter: {
          frames: recording.frames,
          readings: counter.readings,
          worstStep: counter.worstStep,
          worstLead: counter.worstLead,
          worstBack: counter.worstBack,
          backwards: counter.backwards,
          jumps: counter.jumps,
          longestGap: counter.longestGap,
          duringShare: `${inScreenLayout.length}/${shareFrames.length} in the screen layout, ${screenMoving} with the screen moving`,
        },
      }),
    );
    // At least six whole GOPs: the viewer that records the program starts late when the 2 cores are
    // busy (18 s of a 41 s broadcast were recorded in one CI run), and the cadence is what counts.
    assert.ok(gops.length >= 6 && gops.every((g) => Math.abs(g - 2) <= 0.034), `keyframes exactly every 2 s: ${gops.map((g) => g.toFixed(3)).join(' ')}`);
    assert.ok(Math.max(...vSteps) <= 0.034 + 0.002, `no gap above one frame in the video timeline (max ${Math.max(...vSteps)})`);
    assert.ok(Math.max(...aSteps) <= 0.0214 + 0.002, `no audio timestamp holes (max step ${Math.max(...aSteps)})`);
    // The program's timeline is the wall clock: neither runs ahead of the other by more than 0.2 s,
    // apart from the ticks the program says it dropped because its encoder fell behind (each puts the
    // output 1/30 s further behind: on 2 cores shared with other suites, 0–0.7 s over a run).
    const droppedMs = (dropped * 1000) / 30;
    assert.ok(videoDrift.seconds >= 10 && videoDrift.driftMs - droppedMs <= 200, `the video timeline stays within 0.2 s of the wall clock (${JSON.stringify(videoDrift)}, ${dropped} ticks dropped)`);
    assert.ok(audioDrift.seconds >= 10 && audioDrift.driftMs - droppedMs <= 200, `the audio timeline stays within 0.2 s of the wall clock (${JSON.stringify(audioDrift)}, ${dropped} ticks dropped)`);
    // The first seconds show name tiles until the cameras' first pictures are decoded. After that the
    // program never repeats a picture for long: a source that stalls shows its name tile after STALL_MS (0.7 s).
    // Shorter freezes remain possible when every camera stalls at once (on 2 busy cores the fake
    // cameras' own frame counters were seen to stop for 0.3–0.8 s in both tiles together); they are printed.
    // A longer one is judged against the server's still runs: only the part in which the cameras sent
    // pictures counts against the program (see explainFreezes; both are printed).
    const long = freezes.filter((f) => f.t - t0 > 3 && f.d > MAX_FREEZE_MS / 1000);
    const explained = explainFreezes(long, runs);
    if (long.length > 0) console.log('compositor e2e: freezes above 1 s against the program\'s still runs', JSON.stringify(explained));
    assert.deepEqual(explained.filter((f) => f.unexplained > MAX_FREEZE_MS / 1000), [], `no freeze above ${MAX_FREEZE_MS / 1000} s after the start that the cameras do not account for`);
    // The guest's picture only moves forward through every change: no older picture after a newer one
    // (a replaced decoder's), no picture from ahead of the time it was on air for.
    assert.ok(counter.readings >= recording.frames / 2, `the guest's frame number is read from most of the recording (${counter.readings} of ${recording.frames} frames)`);
    // A step back is most likely a decoder taking a tile over before it kept up: the server warns of each such takeover.
    // When each step back reached the viewer (epoch ms, the server log's "time"), and the decoders' takeovers and layer switches.
    const epoch = Date.now() - performance.now();
    if (counter.backwards.length > 0) console.log('compositor e2e: step backs reached the viewer at', counter.backwards.map((b) => Math.round(epoch + (arrivals[b.frame] ?? NaN))));
    console.log('compositor e2e: takeovers and layer switches in the server log', server.output().split('\n').filter((l) => l.includes('takes the tile over') || l.includes('layers changed')));
    assert.deepEqual(counter.backwards, [], `the guest's picture never steps back by more than ${BACK_TOLERANCE_FRAMES} frame`);
    // A decoder starved of CPU lags, and when it catches up the jitter buffer's bound (150 ms) brings
    // the picture back at once: a jump ahead of up to 1.4 s was seen when the program itself did not
    // run in real time (load 13-16). As in the lip-sync test, jumps are judged only when it did.
    const realTime = (programFrames.repeated_frames ?? 0) + dropped <= (programFrames.frames ?? 0) * 0.05;
    if (realTime) assert.deepEqual(counter.jumps, [], `the guest's picture never jumps ahead by more than ${LEAD_TOLERANCE_FRAMES} frames (+${dropped} dropped ticks)`);
    else console.log(`the program did not run in real time (${programFrames.repeated_frames} repeated, ${dropped} dropped of ${programFrames.frames} ticks): the guest's jumps ahead are not judged`);
    // While the screen was shared the program was in the screen layout (the guest in its strip) for at
    // least half a second, and the screen tile moved (a name tile would not): on busy cores 7–80 of
    // the ~105 frames of a 3.5 s share (the guest's new decoder taking a moment), before the share
    // lasted 5 s and the window was read by arrival.
    assert.ok(inScreenLayout.length >= 15, `the program laid out the screen share (${inScreenLayout.length} of ${shareFrames.length} frames with the guest in the screen layout's strip)`);
    assert.ok(screenMoving >= 3, `the program showed the shared screen's picture (${screenMoving} frames with it moving)`);
    await host.context.close();
    await guest.context.close();
    } finally {
      clearInterval(sampler);
      await viewer?.stop();
      rmSync(dir, { recursive: true, force: true });
      await counterBrowser.close();
    }
  });
});
