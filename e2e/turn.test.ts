import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expectMediaFrom, joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { waitForTransportPaths } from './fixtures/meetingPaths.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';
import { startTurnServer, type TurnServer } from './fixtures/turnServer.js';

async function remotePeerIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="tile"][data-local="false"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-id') ?? ''));
}

/** As a browser behind a strict firewall: ICE may only use TURN relays (the client's test-only switch). */
async function relayOnly(page: Page): Promise<void> {
  await page.addInitScript(() => {
    (window as unknown as { __onairIceTransportPolicy?: string }).__onairIceTransportPolicy = 'relay';
  });
}

describe('TURN: participants whose browsers may only relay still meet (real coturn on 127.0.0.1)', () => {
  let turn: TurnServer;
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    turn = await startTurnServer({ verbose: true });
    server = await startOnAir({ TURN_URLS: turn.url, TURN_SECRET: turn.secret });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await turn?.stop();
  });

  it('two relay-only browsers send and receive media both ways, and both transports run through a relay candidate', async () => {
    const host = await newParticipant(browser, server.url);
    await relayOnly(host.page);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.getByTestId('room-name-input').fill('Behind a firewall');
    await host.page.getByTestId('create-room').click();
    const item = host.page.getByTestId('room-item').filter({ hasText: 'Behind a firewall' });
    await item.waitFor();
    const roomId = await item.getAttribute('data-room-id');
    assert.ok(roomId);
    const rooms = await server.api<Array<{ id: string; joinUrl: string }>>('GET', '/api/rooms', undefined, await server.adminToken());
    const joinUrl = rooms.body.find((r) => r.id === roomId)?.joinUrl;
    assert.ok(joinUrl);

    await host.page.goto(`/join/${roomId}`);
    await joinAs(host.page, 'Hana Host');
    const guest = await newParticipant(browser, server.url);
    await relayOnly(guest.page);
    await guest.page.goto(joinUrl);
    await joinAs(guest.page, 'Gil Guest');

    try {
      for (const p of [host, guest]) {
        await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"][data-local="false"]').length === 1);
        await expectMediaFrom(p.page, await remotePeerIds(p.page));
        const paths = await waitForTransportPaths(p.page);
        assert.deepEqual(
          paths.map((x) => [x.direction, x.localCandidateType]),
          [
            ['send', 'relay'],
            ['recv', 'relay'],
          ],
        );
      }
    } catch (error) {
      throw new Error(`${String(error)}\n--- coturn log (tail) ---\n${turn.log().slice(-6000)}`);
    }
    // coturn saw the allocations, with OnAir's time-limited user names (<expiry>:<peer id>).
    assert.match(turn.log(), /ALLOCATE processed, success/);
    assert.match(turn.log(), /username=<\d{10}:[0-9a-f-]{36}>/);
    await host.context.close();
    await guest.context.close();
  });
});
