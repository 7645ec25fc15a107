import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { bestShift, flashBeepSources, readLipSync } from './fixtures/lipSync.js';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';
import { run } from './fixtures/processes.js';

const KEY = `e2e-lipsync-${randomBytes(4).toString('hex')}`;

/** Capture instants (ms, the capture clock) of the flashes and beeps the sending page's tracks carry. */
interface Captured {
  /** On each track's own timestamp clock. */
  flashes: number[];
  beeps: number[];
  /** performance.now() − timestamp, the smallest seen per track: puts both clocks on the page's. */
  toPage: { video: number; audio: number };
}

describe('lip sync: a participant whose camera flashes while their microphone beeps (real Chromium, mediasoup, ffmpeg, nginx-rtmp)', () => {
  let rtmp: RtmpServer;
  let server: RunningServer;
  let browser: Browser;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onair-e2e-lipsync-'));
    const y4m = join(dir, 'flash.y4m');
    const wav = join(dir, 'beep.wav');
    const src = flashBeepSources('320x180', 30, 'aperiodic');
    // 24 s loops (four 6 s cycles of irregularly spaced events). The fake camera plays each loop one
    // frame long and drifts or stalls under load (see media.md), so the sending page's own capture
    // instants are the reference, not the files.
    await run(resolveFfmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', src.video, '-t', '24', '-pix_fmt', 'yuv420p', y4m]);
    await run(resolveFfmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', src.audio, '-t', '24', '-ac', '1', wav]);
    rtmp = await startRtmpServer();
    server = await startOnAir({ LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn' });
    browser = await launchBrowser([`--use-file-for-fake-video-capture=${y4m}`, `--use-file-for-fake-audio-capture=${wav}`]);
  });
  after(async () => {
    if (process.env.E2E_LOG_LEVEL) console.log(server?.output());
    await browser?.close();
    await server?.close();
    await rtmp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Under load the fake camera itself drifts behind its microphone at capture (flash − beep as
  // captured went 60 → 329 ms over 7 s once, then jumped with a stall): each flash is judged
  // against its own capture instant, never against the beep in the files.
  it('at nginx, each flash and its beep are within 40 ms of how they were captured', async () => {
    const token = await server.adminToken();
    const dest = await server.api<{ id: string }>('POST', '/api/destinations', { name: 'Recorder', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY }, token);
    assert.equal(dest.status, 201);
    const room = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Lip sync' }, token);
    const host = await newParticipant(browser, server.url);
    // Keep every stream the page's getUserMedia hands out, to read the capture timestamps of its tracks.
    await host.page.addInitScript(() => {
      const w = window as unknown as { __streams: MediaStream[] };
      w.__streams = [];
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => {
        const stream = await original(c);
        w.__streams.push(stream);
        return stream;
      };
    });
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.goto(`/join/${room.body.id}`);
    await joinAs(host.page, 'Flash Beep');
    // In the page: clones of the tracks handed to the peer connection, read frame by frame.
    await host.page.evaluate(() => {
      const w = window as unknown as { __streams: MediaStream[]; __captured: Captured };
      const tracks = w.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live');
      const video = tracks.filter((t) => t.kind === 'video').at(-1);
      const audio = tracks.filter((t) => t.kind === 'audio').at(-1);
      const captured: Captured = { flashes: [], beeps: [], toPage: { video: Infinity, audio: Infinity } };
      w.__captured = captured;
      // VideoFrame and AudioData timestamps count from different origins: each is put on
      // performance.now() through the smallest (read time − timestamp) seen on its track.
      const toPage = captured.toPage;
      const rawFlashes = captured.flashes;
      const rawBeeps = captured.beeps;
      type Processor = new (init: { track: MediaStreamTrack }) => { readable: ReadableStream };
      const MSTP = (window as unknown as { MediaStreamTrackProcessor: Processor }).MediaStreamTrackProcessor;
      if (video) {
        const reader = new MSTP({ track: video.clone() }).readable.getReader() as ReadableStreamDefaultReader<VideoFrame>;
        let dark = true;
        let buf = new Uint8Array(0);
        void (async () => {
          for (;;) {
            const { value: frame, done } = await reader.read();
            if (done || !frame) break;
            if (buf.length < frame.allocationSize()) buf = new Uint8Array(frame.allocationSize());
            toPage.video = Math.min(toPage.video, performance.now() - frame.timestamp / 1000);
            const layout = await frame.copyTo(buf);
            const { offset, stride } = layout[0]!;
            let sum = 0;
            let n = 0;
            for (let y = 0; y < frame.visibleRect!.height; y += 8) for (let x = 0; x < frame.visibleRect!.width; x += 8, n += 1) sum += buf[offset + y * stride + x]!;
            const mean = sum / n;
            if (dark && mean > 100) rawFlashes.push(frame.timestamp / 1000);
            dark = mean < 60;
            frame.close();
          }
        })();
      }
      if (audio) {
        const reader = new MSTP({ track: audio.clone() }).readable.getReader() as ReadableStreamDefaultReader<AudioData>;
        let quiet = 0;
        let samples = new Float32Array(0);
        void (async () => {
          for (;;) {
            const { value: data, done } = await reader.read();
            if (done || !data) break;
            if (samples.length < data.numberOfFrames) samples = new Float32Array(data.numberOfFrames);
            toPage.audio = Math.min(toPage.audio, performance.now() - (data.timestamp + (data.numberOfFrames * 1e6) / data.sampleRate) / 1000);
            data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
            const win = Math.round(data.sampleRate / 200);
            for (let i = 0; i + win <= data.numberOfFrames; i += win) {
              let sum = 0;
              for (let j = i; j < i + win; j += 1) sum += samples[j]! ** 2;
              const rms = Math.sqrt(sum / win);
              if (rms > 0.1 && quiet >= 40) rawBeeps.push(data.timestamp / 1000 + (i * 1000) / data.sampleRate);
              quiet = rms < 0.03 ? quiet + 1 : 0;
            }
            data.close();
          }
        })();
      }
    });

    await host.page.getByTestId('btn-golive').click();
    await host.page.locator(`[data-testid="dest-checkbox"][data-destination-id="${dest.body.id}"]`).check();
    await host.page.getByTestId('btn-start-broadcast').click();
    await host.page.locator(`[data-testid="dest-status"][data-destination-id="${dest.body.id}"][data-state="live"]`).waitFor({ timeout: 30_000 });
    const path = join(dir, 'viewer.flv');
    const viewer = spawn(resolveFfmpegPath(), ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', `${rtmp.rtmpUrl('live')}/${KEY}`, '-c', 'copy', '-t', '16', '-f', 'flv', path], { stdio: 'ignore' });
    const viewerExited = new Promise((resolve) => viewer.once('exit', resolve));
    const stopViewer = (): void => {
      if (viewer.exitCode === null && viewer.signalCode === null) viewer.kill('SIGKILL');
    };
    process.once('exit', stopViewer);
    try {
      await Promise.race([viewerExited, new Promise((r) => setTimeout(r, 25_000))]);
      const status = await server.api<{ broadcast: { composer: { sources?: Array<{ name: string; avOffsetMs: number | null; bufferMs: number | null }> } } | null }>('GET', `/api/rooms/${room.body.id}/broadcast`, undefined, token);
      const captured = await host.page.evaluate(() => (window as unknown as { __captured: Captured }).__captured);
      await host.page.getByTestId('btn-stop-broadcast').click();
      const out = await readLipSync(path, { ffmpegPath: resolveFfmpegPath(), skipMs: 1000 });
      // The sound's path has no drift: the shift that lays the recording's beeps onto the captured
      // beeps puts the recording on the page's clock. Each flash at nginx, shifted back, should then
      // fall on the instant its frame was captured: the difference is the pipeline's A/V error.
      const capFlashes = captured.flashes.map((t) => t + captured.toPage.video);
      const capBeeps = captured.beeps.map((t) => t + captured.toPage.audio);
      const shift = bestShift(capBeeps, out.beeps);
      const errors = out.flashes
        .map((f) => f - shift.shiftMs)
        .map((f) => capFlashes.reduce((best, c) => (Math.abs(f - c) < Math.abs(best) ? f - c : best), Infinity))
        .filter((d) => Math.abs(d) < 300);
      const median = [...errors].sort((x, y) => x - y)[Math.floor(errors.length / 2)] ?? NaN;
      // + = the picture comes late (the sound early), as in the status.
      console.log('lip sync e2e', JSON.stringify({ beepsMatched: shift.matched, of: out.beeps.length, errorsMs: errors.map(Math.round), medianMs: median, status: status.body.broadcast?.composer.sources }));
      assert.ok(capFlashes.length >= 5 && capBeeps.length >= 5, `the sending page saw its flashes and beeps (${capFlashes.length} flashes, ${capBeeps.length} beeps)`);
      assert.ok(shift.matched >= 5, `the recording's beeps line up with the captured ones (${shift.matched} of ${out.beeps.length})`);
      assert.ok(errors.length >= 5, `flashes at nginx matched with captured ones (${errors.length} of ${out.flashes.length})`);
      assert.ok(Math.abs(median) <= 40, `a flash at nginx is ${median} ms off where its beep puts it`);
      const source = status.body.broadcast?.composer.sources?.find((s) => s.name === 'Flash Beep');
      assert.ok(source && source.avOffsetMs !== null && Math.abs(source.avOffsetMs) <= 40, `the broadcast status shows the participant's A/V offset (${JSON.stringify(source)})`);
    } finally {
      stopViewer();
    }
    await host.context.close();
  });
});
