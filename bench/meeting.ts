// Meeting benchmark: join time (Join click → first remote video frame decoded) and server CPU and
// memory (OnAir process + its mediasoup workers) with 2, 4, 8 and 12 participants in one room.
// Participants are Chromium pages with the fake camera sent at 320x180 so that 12 browsers fit on
// a 2-core machine next to the server; the server's forwarding work is the same per stream.
// Ratios are against the 2-participant run of the same process.
import type { Page } from 'playwright-core';
import { inboundStats, launchBrowser, newParticipant } from '../e2e/fixtures/browser.js';
import { startOnAir } from '../e2e/fixtures/server.js';
import { cores, sampleTree } from './proc.js';

const SIZES = (process.env.BENCH_SIZES ?? '2,4,8,12').split(',').map(Number);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);

const LOW_RES = `(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => original(c && c.video ? { ...c, video: { width: 320, height: 180, frameRate: 15 } } : c);
})();`;

async function firstRemoteFrame(page: Page, startedAt: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = await inboundStats(page);
    if (stats.some((s) => s.kind === 'video' && s.framesDecoded > 0)) return performance.now() - startedAt;
    await page.waitForTimeout(25);
  }
  return Number.NaN;
}

const server = await startOnAir({ MEDIASOUP_WORKERS: '1', LOG_LEVEL: 'error' });
const browser = await launchBrowser();
const token = await server.adminToken();
const rows: Array<{ n: number; joinMs: number; cpu: number; rssMiB: number }> = [];
try {
  for (const n of SIZES) {
    const room = await server.api<{ id: string; joinUrl: string }>('POST', '/api/rooms', { name: `bench-${n}` }, token);
    const pages: Page[] = [];
    let joinMs = Number.NaN;
    for (let i = 0; i < n; i++) {
      const { page } = await newParticipant(browser, server.url);
      await page.addInitScript(LOW_RES);
      await page.goto(room.body.joinUrl);
      await page.getByTestId('join-name').fill(`P${i + 1}`);
      const t0 = performance.now();
      await page.getByTestId('join-submit').click();
      if (i === n - 1) joinMs = await firstRemoteFrame(page, t0);
      else await page.locator('[data-testid="meeting-state"][data-state="joined"]').waitFor({ timeout: 60_000 });
      pages.push(page);
    }
    await pages[0]!.waitForTimeout(3000); // let simulcast and bandwidth estimation settle
    const a = sampleTree(server.pid());
    await pages[0]!.waitForTimeout(MEASURE_MS);
    const b = sampleTree(server.pid());
    rows.push({ n, joinMs, cpu: cores(a, b), rssMiB: b.rssBytes / 2 ** 20 });
    for (const p of pages) await p.context().close();
    await new Promise((r) => setTimeout(r, 3000));
  }
} finally {
  await browser.close();
  await server.close();
}

const base = rows[0]!;
console.log('participants | join → first remote frame | server CPU (cores) | server RSS (MiB) | CPU ×base | RSS ×base');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(12)} | ${r.joinMs.toFixed(0).padStart(22)} ms | ${r.cpu.toFixed(3).padStart(18)} | ${r.rssMiB.toFixed(0).padStart(16)} | ${(r.cpu / base.cpu).toFixed(2).padStart(9)} | ${(r.rssMiB / base.rssMiB).toFixed(2).padStart(9)}`,
  );
}
