import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startServer, type TestServer } from '../helpers.js';

/** The directives of a Content-Security-Policy header, by name. */
function csp(res: LightMyRequestResponse): Map<string, string[]> {
  const header = res.headers['content-security-policy'];
  assert.equal(typeof header, 'string', `no Content-Security-Policy on ${res.raw.req.url}`);
  const directives = new Map<string, string[]>();
  for (const part of String(header).split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

function assertHardened(res: LightMyRequestResponse, what: string): Map<string, string[]> {
  const policy = csp(res);
  assert.deepEqual(policy.get('frame-ancestors'), ["'none'"], `${what}: frame-ancestors`);
  assert.deepEqual(policy.get('script-src'), ["'self'"], `${what}: script-src (no inline, no eval)`);
  assert.deepEqual(policy.get('object-src'), ["'none'"], `${what}: object-src`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', `${what}: referrer-policy`);
  assert.equal(res.headers['x-frame-options'], 'DENY', `${what}: x-frame-options`);
  return policy;
}

describe('security headers on every kind of response', () => {
  let server: TestServer;
  let clientDir: string;
  before(async () => {
    // A stand-in for the built client, so this test does not depend on `npm run build`.
    clientDir = mkdtempSync(join(tmpdir(), 'onair-client-'));
    mkdirSync(join(clientDir, 'assets'));
    writeFileSync(join(clientDir, 'index.html'), '<!doctype html><title>OnAir</title><script type="module" src="/assets/index-abc.js"></script>');
    writeFileSync(join(clientDir, 'assets', 'index-abc.js'), 'console.log("hi");');
    server = await startServer({ CLIENT_DIR: clientDir, PUBLIC_URL: 'https://onair.example.org' });
  });
  after(async () => {
    await server.close();
    rmSync(clientDir, { recursive: true, force: true });
  });

  for (const [what, url, status] of [
    ['the client at /', '/', 200],
    ['a client route (SPA fallback)', '/join/x', 200],
    ['a static asset', '/assets/index-abc.js', 200],
    ['API JSON', '/api/health', 200],
    ['an unknown API route (404)', '/api/nothing-here', 404],
    ['an API error (401)', '/api/rooms', 401],
  ] as const) {
    it(`${what}: strict CSP, nosniff, no referrer, no framing`, async () => {
      const res = await server.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, status);
      const policy = assertHardened(res, what);
      assert.deepEqual(policy.get('default-src'), ["'self'"]);
      assert.deepEqual(policy.get('style-src'), ["'self'"]);
      assert.deepEqual(policy.get('img-src'), ["'self'", 'data:', 'blob:']);
      assert.deepEqual(policy.get('media-src'), ["'self'", 'blob:']);
      // The event page's player (hls.js) runs its transmuxer in a blob: worker; scripts stay 'self' only.
      assert.deepEqual(policy.get('worker-src'), ["'self'", 'blob:']);
      assert.deepEqual(policy.get('script-src'), ["'self'"]);
      assert.deepEqual(policy.get('connect-src'), ["'self'", 'wss://onair.example.org'], 'the signalling WebSocket of PUBLIC_URL');
      assert.deepEqual(policy.get('base-uri'), ["'self'"]);
      assert.deepEqual(policy.get('form-action'), ["'self'"]);
      assert.equal(policy.has('upgrade-insecure-requests'), false, 'plain-HTTP LAN installs keep working');
    });
  }

  it('a rate-limited answer (429) carries them too', async () => {
    let res: LightMyRequestResponse | null = null;
    for (let i = 0; i < 200 && res?.statusCode !== 429; i++) {
      res = await server.app.inject({ method: 'GET', url: '/api/rooms/rnope/preview', remoteAddress: '198.51.100.4' });
    }
    assert.equal(res?.statusCode, 429);
    assertHardened(res, '429');
  });

  for (const url of ['/docs', '/docs/static/swagger-ui.css', '/docs/json']) {
    it(`the API docs (${url}) have their own policy: inline styles for Swagger UI, still no inline script or framing`, async () => {
      const res = await server.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      const policy = assertHardened(res, url);
      assert.deepEqual(policy.get('style-src'), ["'self'", "'unsafe-inline'"]);
    });
  }
});
