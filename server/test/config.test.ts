import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('config is validated at boot', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(c.mediasoup.listenIp, '127.0.0.1');
    assert.equal(c.roomGraceMs, 15000);
  });

  for (const [env, variable] of [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ RTC_LISTEN_IP: 'localhost' }, 'RTC_LISTEN_IP'],
    [{ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }, 'RTC_MAX_PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ONAIR_SECRET: 'short' }, 'ONAIR_SECRET'],
    [{ ADMIN_EMAIL: 'not-an-email' }, 'ADMIN_EMAIL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ MEDIASOUP_WORKERS: '0' }, 'MEDIASOUP_WORKERS'],
  ] as const) {
    it(`a bad ${variable} stops the server with a message naming it`, () => {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${variable}:`),
      );
    });
  }
});
