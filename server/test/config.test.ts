import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    assert.deepEqual(c.mediasoup.ports, { kind: 'server', port: 40000 });
    assert.equal(c.turn, null);
    assert.deepEqual(c.ingest, { host: '127.0.0.1', rtmpPort: 1935, rtmpsPort: null, tls: null, publicHost: '127.0.0.1', graceMs: 10_000 });
  });

  it('RTMP ingest: 0 turns the listener off, RTMPS needs a certificate and key (default port 1936), the public host follows PUBLIC_URL', () => {
    assert.equal(loadConfig({ INGEST_RTMP_PORT: '0' }).ingest.rtmpPort, null);
    assert.equal(loadConfig({ PUBLIC_URL: 'https://meet.example.org' }).ingest.publicHost, 'meet.example.org');
    assert.equal(loadConfig({ PUBLIC_URL: 'https://meet.example.org', INGEST_PUBLIC_HOST: 'rtmp.example.org' }).ingest.publicHost, 'rtmp.example.org');
    const dir = mkdtempSync(join(tmpdir(), 'onair-config-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
      const c = loadConfig({ INGEST_TLS_CERT: cert, INGEST_TLS_KEY: key });
      assert.equal(c.ingest.rtmpsPort, 1936);
      assert.match(c.ingest.tls?.cert ?? '', /BEGIN CERTIFICATE/);
      for (const [env, variable] of [
        [{ INGEST_TLS_CERT: cert }, 'INGEST_TLS_KEY'],
        [{ INGEST_TLS_KEY: key }, 'INGEST_TLS_CERT'],
        [{ INGEST_TLS_CERT: key, INGEST_TLS_KEY: key }, 'INGEST_TLS_CERT'],
        [{ INGEST_TLS_CERT: cert, INGEST_TLS_KEY: join(dir, 'missing.pem') }, 'INGEST_TLS_KEY'],
        [{ INGEST_TLS_CERT: cert, INGEST_TLS_KEY: key, INGEST_RTMPS_PORT: '1935' }, 'INGEST_RTMPS_PORT'],
      ] as const) {
        assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${variable}:`), JSON.stringify(env));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('RTC_MIN_PORT or RTC_MAX_PORT switches from one port per worker to a per-transport range', () => {
    assert.deepEqual(loadConfig({ RTC_PORT: '50000' }).mediasoup.ports, { kind: 'server', port: 50000 });
    assert.deepEqual(loadConfig({ RTC_PORT: '0' }).mediasoup.ports, { kind: 'server', port: 0 });
    assert.deepEqual(loadConfig({ RTC_MIN_PORT: '41000' }).mediasoup.ports, { kind: 'range', min: 41000, max: 49999 });
    assert.deepEqual(loadConfig({ RTC_MIN_PORT: '41000', RTC_MAX_PORT: '42000' }).mediasoup.ports, { kind: 'range', min: 41000, max: 42000 });
  });

  it('TURN_URLS and TURN_SECRET give participants TURN servers', () => {
    const c = loadConfig({ TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:443?transport=tcp,turn:[::1]', TURN_SECRET: 'a-shared-secret-0123' });
    assert.deepEqual(c.turn, {
      urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443?transport=tcp', 'turn:[::1]'],
      secret: 'a-shared-secret-0123',
      ttlSeconds: 86400,
    });
    assert.equal(loadConfig({ TURN_URLS: 'turn:10.0.0.1', TURN_SECRET: 'a-shared-secret-0123', TURN_TTL_SECONDS: '3600' }).turn?.ttlSeconds, 3600);
  });

  it('trusts no proxy and limits sign-in and join by default; TRUST_PROXY takes true or proxy addresses/CIDRs', () => {
    const c = loadConfig({});
    assert.equal(c.trustProxy, false);
    assert.deepEqual(c.rateLimits, { loginPerAccount: 10, loginPerIp: 30, loginWindowSeconds: 900, joinPerMinute: 60 });
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8, loopback' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
  });

  for (const [env, variable] of [
    [{ TRUST_PROXY: '1' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: 'proxy.example.org' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '127.0.0.1,yes' }, 'TRUST_PROXY'],
    [{ LOGIN_RATE_LIMIT_PER_ACCOUNT: '0' }, 'LOGIN_RATE_LIMIT_PER_ACCOUNT'],
    [{ LOGIN_RATE_LIMIT_PER_IP: 'thirty' }, 'LOGIN_RATE_LIMIT_PER_IP'],
    [{ LOGIN_RATE_LIMIT_WINDOW_SECONDS: '0' }, 'LOGIN_RATE_LIMIT_WINDOW_SECONDS'],
    [{ JOIN_RATE_LIMIT_PER_MINUTE: '-1' }, 'JOIN_RATE_LIMIT_PER_MINUTE'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ RTC_LISTEN_IP: 'localhost' }, 'RTC_LISTEN_IP'],
    [{ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }, 'RTC_MAX_PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ONAIR_SECRET: 'short' }, 'ONAIR_SECRET'],
    [{ ADMIN_EMAIL: 'not-an-email' }, 'ADMIN_EMAIL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ MEDIASOUP_WORKERS: '0' }, 'MEDIASOUP_WORKERS'],
    [{ INGEST_RTMP_PORT: 'rtmp' }, 'INGEST_RTMP_PORT'],
    [{ INGEST_RTMP_PORT: '8080' }, 'INGEST_RTMP_PORT'],
    [{ INGEST_RTMPS_PORT: '1936' }, 'INGEST_RTMPS_PORT'],
    [{ INGEST_PUBLIC_HOST: 'rtmp://x' }, 'INGEST_PUBLIC_HOST'],
    [{ INGEST_GRACE_MS: '-5' }, 'INGEST_GRACE_MS'],
    [{ RTC_PORT: 'forty' }, 'RTC_PORT'],
    [{ RTC_PORT: '80' }, 'RTC_PORT'],
    [{ RTC_PORT: '65535', MEDIASOUP_WORKERS: '2' }, 'RTC_PORT'],
    [{ RTC_PORT: '40000', RTC_MIN_PORT: '41000' }, 'RTC_PORT'],
    [{ TURN_URLS: 'stun:turn.example.org' }, 'TURN_URLS'],
    [{ TURN_URLS: 'turn:turn.example.org:99999' }, 'TURN_URLS'],
    [{ TURN_URLS: 'turn:turn.example.org?transport=sctp' }, 'TURN_URLS'],
    [{ TURN_URLS: ' , ' , TURN_SECRET: 'a-shared-secret-0123' }, 'TURN_URLS'],
    [{ TURN_URLS: 'turn:turn.example.org' }, 'TURN_SECRET'],
    [{ TURN_SECRET: 'a-shared-secret-0123' }, 'TURN_SECRET'],
    [{ TURN_URLS: 'turn:turn.example.org', TURN_SECRET: 'short' }, 'TURN_SECRET'],
    [{ TURN_URLS: 'turn:turn.example.org', TURN_SECRET: 'a-shared-secret-0123', TURN_TTL_SECONDS: '5' }, 'TURN_TTL_SECONDS'],
  ] as const) {
    it(`a bad ${variable} stops the server with a message naming it`, () => {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${variable}:`),
      );
    });
  }
});
