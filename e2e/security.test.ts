import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { cspViolations, expectMediaFrom, joinAs, launchBrowser, newParticipant, signIn, watchCsp } from './fixtures/browser.js';
import { ADMIN, startOnAir, type RunningServer } from './fixtures/server.js';

describe('the pages keep to their Content-Security-Policy, and sign-in is rate limited (real Chromium)', () => {
  let server: RunningServer;
  let browser: Browser;
  before(async () => {
    server = await startOnAir({ LOGIN_RATE_LIMIT_PER_ACCOUNT: '3' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the watch sees a violation when a page breaks the policy (an inline script and a style attribute)', async () => {
    // A context of its own: what it catches must not fail the browser's own check at the end.
    const context = await browser.newContext({ baseURL: server.url });
    const seen = await watchCsp(context);
    const page = await context.newPage();
    await page.goto('/signin');
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.head.append(script);
      document.body.insertAdjacentHTML('beforeend', '<p style="color: red">styled</p>');
    });
    await page.waitForFunction(() => document.querySelector('p[style]') !== null);
    const deadline = Date.now() + 5000;
    while (seen.filter((v) => !v.startsWith('console')).length < 2 && Date.now() < deadline) await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan ?? false), false, 'the inline script did not run');
    assert.ok(seen.some((v) => v.startsWith('script-src-elem')), seen.join('\n'));
    assert.ok(seen.some((v) => v.startsWith('style-src-attr')), seen.join('\n'));
    assert.ok(seen.some((v) => v.startsWith('console')), 'Chromium logs it too');
    await context.close();
  });

  it('signing in, the rooms page, every dashboard page, the API docs and a two-person meeting raise no violation', async () => {
    const host = await newParticipant(browser, server.url);
    await signIn(host.page, ADMIN.email, ADMIN.password);
    await host.page.getByTestId('room-name-input').fill('Policy check');
    await host.page.getByTestId('create-room').click();
    const item = host.page.getByTestId('room-item').filter({ hasText: 'Policy check' });
    await item.waitFor();
    const roomId = await item.getAttribute('data-room-id');
    assert.ok(roomId);

    await host.page.goto('/admin/webinars');
    await host.page.getByTestId('webinar-new').click();
    await host.page.getByTestId('nav-history').click();
    await host.page.waitForURL('**/admin/history');
    await host.page.getByTestId('nav-destinations').click();
    await host.page.getByTestId('dest-new').click();
    await host.page.getByTestId('dest-name').waitFor();
    await host.page.getByTestId('nav-users').click();
    await host.page.getByTestId('user-row').first().waitFor();
    await host.page.getByTestId('user-new').click();
    await host.page.getByTestId('user-email').waitFor();

    await host.page.goto('/docs');
    await host.page.locator('.swagger-ui .opblock').first().waitFor();

    const rooms = await server.api<Array<{ id: string; joinUrl: string }>>('GET', '/api/rooms', undefined, await server.adminToken());
    const joinUrl = rooms.body.find((r) => r.id === roomId)?.joinUrl;
    assert.ok(joinUrl);
    await host.page.goto(`/join/${roomId}`);
    await joinAs(host.page, 'Hana Host');
    const guest = await newParticipant(browser, server.url);
    await guest.page.goto(joinUrl);
    await joinAs(guest.page, 'Gil Guest');
    for (const p of [host, guest]) {
      await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"][data-local="false"]').length === 1);
      const ids = await p.page.locator('[data-testid="tile"][data-local="false"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-id') ?? ''));
      await expectMediaFrom(p.page, ids);
    }

    assert.deepEqual(cspViolations(browser), []);
    for (const p of [host, guest]) await p.context.close();
  });

  it('after too many wrong passwords the sign-in page says how long to wait', async () => {
    const visitor = await newParticipant(browser, server.url);
    await visitor.page.goto('/signin');
    const attempt = async (password: string): Promise<string> => {
      await visitor.page.getByTestId('signin-email').fill('nobody@e2e.local');
      await visitor.page.getByTestId('signin-password').fill(password);
      const answered = visitor.page.waitForResponse((r) => r.url().endsWith('/api/auth/login'));
      await visitor.page.getByTestId('signin-submit').click();
      await answered;
      // The page hides the last error while it waits, then shows the new one and enables the button.
      await visitor.page.locator('[data-testid="signin-submit"]:enabled').waitFor();
      return (await visitor.page.getByTestId('signin-error').textContent())?.trim() ?? '';
    };
    for (let i = 1; i <= 3; i++) assert.match(await attempt(`guess ${i}`), /don't match an account/, `attempt ${i}`);
    assert.equal(await attempt('guess 4'), 'Too many sign-in attempts. Try again in 15 minutes.');
    await visitor.context.close();
  });
});
