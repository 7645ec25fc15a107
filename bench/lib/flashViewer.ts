// A real Chromium participant that notes, on this machine's wall clock, when each watched tile
// shows a bright frame: the receiving end of the ingest benches' glass-to-glass latency.
import type { Browser, Page } from 'playwright-core';
import { newParticipant } from '../../e2e/fixtures/browser.js';
import type { App } from '../../server/src/app.js';

export interface FlashViewer {
  page: Page;
  /** Wall-clock times (ms) the tile of `name` turned bright. */
  seen(name: string): Promise<number[]>;
  close(): Promise<void>;
}

/** Mean red of a 16x9 thumbnail above this is a flash. */
const BRIGHT = 150;

/**
 * Joins the room through its invite link and watches the tiles of `names`: every frame each tile
 * presents (requestVideoFrameCallback) is drawn into a 16x9 canvas; a dark → bright change is noted
 * at performance.timeOrigin + its presentation time.
 */
export async function joinFlashViewer(bench: { app: App; url: string; browser: Browser }, roomId: string, names: string[]): Promise<FlashViewer> {
  const { page, context } = await newParticipant(bench.browser, bench.url);
  await page.goto(bench.app.invites.url(roomId).replace(bench.app.config.publicUrl, bench.url));
  await page.getByTestId('join-name').fill('Bench viewer');
  await page.getByTestId('join-submit').click();
  await page.locator('[data-testid="meeting-state"][data-state="joined"]').waitFor();
  for (const name of names) await page.locator(`[data-testid="tile"][data-peer-name="${name}"] video`).waitFor({ timeout: 30_000 });
  // A string, not a function: tsx's helpers (__name) do not exist in the page.
  await page.evaluate(`(() => {
    window.__flashSeen = {};
    window.__maxMean = {};
    for (const name of ${JSON.stringify(names)}) {
      const seen = (window.__flashSeen[name] = []);
      const video = document.querySelector('[data-testid="tile"][data-peer-name="' + name + '"] video');
      const canvas = document.createElement('canvas');
      canvas.width = 16;
      canvas.height = 9;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      let bright = false;
      const onFrame = (now) => {
        ctx.drawImage(video, 0, 0, 16, 9);
        const px = ctx.getImageData(0, 0, 16, 9).data;
        let sum = 0;
        for (let i = 0; i < px.length; i += 4) sum += px[i];
        const mean = sum / (px.length / 4);
        window.__maxMean[name] = Math.max(window.__maxMean[name] || 0, mean);
        if (mean > ${BRIGHT} && !bright) seen.push(performance.timeOrigin + now);
        bright = mean > ${BRIGHT};
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
  })()`);
  return {
    page,
    async seen(name) {
      const seen = ((await page.evaluate('window.__flashSeen')) as Record<string, number[]>)[name] ?? [];
      if (seen.length === 0) console.log(`no flash seen in the tile of ${name} (brightest frame: mean red ${String(await page.evaluate(`window.__maxMean[${JSON.stringify(name)}]`))})`);
      return seen;
    },
    close: () => context.close(),
  };
}

/** Each flash matched with the first bright frame seen after it (within 1.9 s, before the next one): its latency in ms, NaN if none. */
export function matchFlashes(sentAt: number[], seen: number[]): number[] {
  return sentAt.map((t) => {
    const s = seen.find((x) => x > t && x < t + 1900);
    return s === undefined ? Number.NaN : s - t;
  });
}
