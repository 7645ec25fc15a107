import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expectMediaFrom, inboundStats, joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { recordGivenCandidates, waitForTransportPaths, type GivenCandidate } from './fixtures/meetingPaths.js';
import { freeMediaPorts } from './fixtures/ports.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

async function remotePeerIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="tile"][data-local="false"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-id') ?? ''));
}

/** Milliseconds until the page has decoded a first video frame from each of `count` remote peers. */
async function untilFirstFrames(page: Page, count: number, since: number, timeoutMs = 30_000): Promise<number> {
  while (Date.now() - since < timeoutMs) {
    const decoding = new Set((await inboundStats(page)).filter((s) => s.kind === 'video' && s.framesDecoded > 0).map((s) => s.peerId));
    if (decoding.size >= count) return Date.now() - since;
    await page.waitForTimeout(50);
  }
  throw new Error(`no frames from ${count} peers within ${timeoutMs} ms`);
}

describe('one media port: a meeting with every WebRTC transport on its worker\'s single UDP/TCP port', () => {
  let server: RunningServer;
  let browser: Browser;
  let rtcPort: number;
  before(async () => {
    // Two workers, so worker 0 has RTC_PORT and worker 1 RTC_PORT + 1; the meeting's room is on worker 0.
    rtcPort = await freeMediaPorts(2);
    server = await startOnAir({ RTC_PORT: String(rtcPort), MEDIASOUP_WORKERS: '2' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('three people join through the UI, each decodes growing video from the other two, and every candidate is that one port', async (t) => {
    assert.match(server.output(), new RegExp(`WebRTC media on UDP ${rtcPort}, ${rtcPort + 1} and TCP ${rtcPort}, ${rtcPort + 1}`));

    const host = await newParticipant(browser, server.url);
    const given: GivenCandidate[][] = [recordGivenCandidates(host.page)];
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.getByTestId('room-name-input').fill('One port');
    await host.page.getByTestId('create-room').click();
    const item = host.page.getByTestId('room-item').filter({ hasText: 'One port' });
    await item.waitFor();
    const roomId = await item.getAttribute('data-room-id');
    assert.ok(roomId);
    const rooms = await server.api<Array<{ id: string; joinUrl: string }>>('GET', '/api/rooms', undefined, await server.adminToken());
    const joinUrl = rooms.body.find((r) => r.id === roomId)?.joinUrl;
    assert.ok(joinUrl, 'the room has a join link');

    await host.page.goto(`/join/${roomId}`);
    await host.page.getByTestId('preview-video').waitFor();
    await joinAs(host.page, 'Hana Host');

    const guests = [];
    let lastJoin = 0;
    for (const name of ['Gil Guest', 'Pia Panelist']) {
      const g = await newParticipant(browser, server.url);
      given.push(recordGivenCandidates(g.page));
      await g.page.goto(joinUrl);
      await g.page.getByTestId('join-name').waitFor();
      lastJoin = Date.now();
      await joinAs(g.page, name);
      guests.push(g);
    }
    const everyone = [host, ...guests];
    // The last to join: from pressing Join to a first decoded frame from both others.
    const firstFrameMs = await untilFirstFrames(guests[1]!.page, 2, lastJoin);
    t.diagnostic(`one port (${rtcPort}): join → first frames from both others in ${firstFrameMs} ms`);

    for (const p of everyone) {
      await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"][data-local="false"]').length === 2);
      const ids = await remotePeerIds(p.page);
      assert.equal(ids.length, 2);
      await expectMediaFrom(p.page, ids);
    }

    // Every candidate the server gave any of the three (send and receive transports, UDP and TCP)
    // is worker 0's one port, and every transport's selected path goes to it.
    for (const candidates of given) {
      assert.equal(candidates.length, 4, `a UDP and a TCP candidate for each of 2 transports: ${JSON.stringify(candidates)}`);
      assert.deepEqual(
        [...new Set(candidates.map((c) => `${c.protocol}/${c.address}:${c.port}`))].sort(),
        [`tcp/127.0.0.1:${rtcPort}`, `udp/127.0.0.1:${rtcPort}`],
      );
    }
    for (const p of everyone) {
      const paths = await waitForTransportPaths(p.page);
      for (const path of paths) assert.equal(path.remotePort, rtcPort, `${path.direction}: ${JSON.stringify(path)}`);
    }
    for (const p of everyone) await p.context.close();
  });
});
