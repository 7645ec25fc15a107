import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expectMediaFrom, joinAs, launchBrowser, newParticipant, signIn } from './fixtures/browser.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

/** The peer ids of the remote tiles a page shows. */
async function remotePeerIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="tile"][data-local="false"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-id') ?? ''));
}

async function remoteNames(page: Page): Promise<string[]> {
  const names = await page.locator('[data-testid="tile"][data-local="false"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-name') ?? ''));
  return names.sort();
}

describe('meeting in real Chromium (fake camera and microphone)', () => {
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    server = await startOnAir();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('three people join through the UI, each decodes video and receives audio from the other two, and a departure updates the grids', async () => {
    // The host signs in, creates a room and opens it.
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.getByTestId('room-name-input').fill('Team sync');
    await host.page.getByTestId('create-room').click();
    const item = host.page.getByTestId('room-item').filter({ hasText: 'Team sync' });
    await item.waitFor();
    const roomId = await item.getAttribute('data-room-id');
    assert.ok(roomId);
    const rooms = await server.api<Array<{ id: string; joinUrl: string }>>('GET', '/api/rooms', undefined, await server.adminToken());
    const joinUrl = rooms.body.find((r) => r.id === roomId)?.joinUrl;
    assert.ok(joinUrl, 'the room has a join link');

    await host.page.goto(`/join/${roomId}`);
    await host.page.getByTestId('preview-video').waitFor();
    await joinAs(host.page, 'Hana Host');

    // Two guests open the shared link.
    const guests = [];
    for (const name of ['Gil Guest', 'Pia Panelist']) {
      const g = await newParticipant(browser, server.url);
      await g.page.goto(joinUrl);
      await joinAs(g.page, name);
      guests.push(g);
    }
    const everyone = [host, ...guests];
    for (const p of everyone) {
      await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"][data-local="false"]').length === 2);
    }
    assert.deepEqual(await remoteNames(host.page), ['Gil Guest', 'Pia Panelist']);
    assert.deepEqual(await remoteNames(guests[0]!.page), ['Hana Host', 'Pia Panelist']);

    // Every page decodes video frames and receives audio from both others.
    for (const p of everyone) {
      const ids = await remotePeerIds(p.page);
      assert.equal(ids.length, 2);
      await expectMediaFrom(p.page, ids);
    }

    // One leaves: the other two grids drop that tile.
    await guests[1]!.page.getByTestId('btn-leave').click();
    for (const p of [host, guests[0]!]) {
      await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"][data-local="false"]').length === 1);
    }
    assert.deepEqual(await remoteNames(host.page), ['Gil Guest']);
    assert.deepEqual(await remoteNames(guests[0]!.page), ['Hana Host']);
    for (const p of everyone) await p.context.close();
  });

  it('a guest with a forged link sees a clear refusal and no join form', async () => {
    const created = await server.api<{ id: string }>('POST', '/api/rooms', { name: 'Private' }, await server.adminToken());
    const guest = await newParticipant(browser, server.url);
    await guest.page.goto(`/join/${created.body.id}?invite=eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJpbnZpdGUifQ.forged`);
    const error = guest.page.getByTestId('join-error');
    await error.waitFor();
    assert.match(await error.innerText(), /invitation link is not valid/i);
    assert.equal(await guest.page.getByTestId('join-submit').count(), 0);
    await guest.context.close();
  });
});
