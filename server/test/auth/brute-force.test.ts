import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashPassword } from '../../src/auth/passwords.js';
import { waitWords } from '../../src/plugins/rateLimit.js';
import { createRoom, startServer, type TestServer } from '../helpers.js';
import { legacyHash } from './legacyHash.js';

const PER_IP = 5;
const PER_ACCOUNT = 3;
const JOIN_PER_MINUTE = 4;

function signIn(server: TestServer, email: string, password: string, remoteAddress: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress, headers });
}

async function addHost(server: TestServer, email: string, password: string): Promise<void> {
  server.app.users.create({ email, name: email.split('@')[0] ?? email, role: 'host', passwordHash: await hashPassword(password) });
}

/** A 429 as a person reads it: RATE_LIMITED, a Retry-After in seconds, and when to try again in words. */
function assertRateLimited(res: LightMyRequestResponse, words: RegExp, maxRetrySeconds: number): void {
  assert.equal(res.statusCode, 429, res.body);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= maxRetrySeconds, `Retry-After: ${String(res.headers['retry-after'])}`);
  assert.equal(res.json().error.code, 'RATE_LIMITED');
  assert.match(res.json().error.message, words);
}

const SIGN_IN_WORDS = /^Too many sign-in attempts\. Try again in \d+ minutes?\.$/;

describe('sign-in and join are rate limited (brute force)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      LOGIN_RATE_LIMIT_PER_IP: String(PER_IP),
      LOGIN_RATE_LIMIT_PER_ACCOUNT: String(PER_ACCOUNT),
      JOIN_RATE_LIMIT_PER_MINUTE: String(JOIN_PER_MINUTE),
    });
    await addHost(server, 'hana@test.local', 'hana password');
  });
  after(async () => {
    await server.close();
  });

  it('a burst of wrong passwords from one address gets 429 with Retry-After and plain words; another account on another address still signs in', async () => {
    for (let i = 0; i < PER_IP; i++) {
      const res = await signIn(server, `guess${i}@test.local`, 'wrong', '198.51.100.1');
      assert.equal(res.statusCode, 401, `attempt ${i + 1}`);
    }
    const limited = await signIn(server, 'guess-next@test.local', 'wrong', '198.51.100.1');
    assertRateLimited(limited, SIGN_IN_WORDS, 15 * 60);
    assert.match(limited.json().error.message, /Try again in 15 minutes\./);
    // Even the right password of a real account is refused from that address now.
    assert.equal((await signIn(server, 'hana@test.local', 'hana password', '198.51.100.1')).statusCode, 429);

    const elsewhere = await signIn(server, 'hana@test.local', 'hana password', '198.51.100.2');
    assert.equal(elsewhere.statusCode, 200, elsewhere.body);
  });

  it('wrong passwords for one account from many addresses lock that account (any letter case), not the others', async () => {
    await addHost(server, 'ivy@test.local', 'ivy password');
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const res = await signIn(server, i === 1 ? 'IVY@Test.Local' : 'ivy@test.local', 'wrong', `203.0.113.${10 + i}`);
      assert.equal(res.statusCode, 401, `attempt ${i + 1}`);
    }
    // The next attempt, from a fresh address and with the right password, is not even checked.
    assertRateLimited(await signIn(server, 'ivy@test.local', 'ivy password', '203.0.113.50'), SIGN_IN_WORDS, 15 * 60);
    const other = await signIn(server, 'hana@test.local', 'hana password', '203.0.113.50');
    assert.equal(other.statusCode, 200, other.body);
  });

  it('successful sign-ins do not use up the account\'s budget; only failures do', async () => {
    await addHost(server, 'sam@test.local', 'sam password');
    let n = 0;
    const from = () => `192.0.2.${++n}`;
    for (let i = 0; i < PER_ACCOUNT - 1; i++) assert.equal((await signIn(server, 'sam@test.local', 'wrong', from())).statusCode, 401);
    for (let i = 0; i < PER_ACCOUNT + 2; i++) assert.equal((await signIn(server, 'sam@test.local', 'sam password', from())).statusCode, 200);
    // The last failure the budget allows, then even the right password waits.
    assert.equal((await signIn(server, 'sam@test.local', 'wrong', from())).statusCode, 401);
    assert.equal((await signIn(server, 'sam@test.local', 'sam password', from())).statusCode, 429);
  });

  it('parallel guesses for one account cannot overshoot its budget', async () => {
    await addHost(server, 'pat@test.local', 'pat password');
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => signIn(server, 'pat@test.local', `wrong ${i}`, `100.64.0.${i + 1}`)));
    const codes = replies.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [...Array<number>(PER_ACCOUNT).fill(401), ...Array<number>(8 - PER_ACCOUNT).fill(429)]);
  });

  it('join and the room preview are limited per address', async () => {
    const room = await createRoom(server, 'Limits');
    const preview = (ip: string) => server.app.inject({ method: 'GET', url: `/api/rooms/${room.id}/preview?invite=${encodeURIComponent(room.invite)}`, remoteAddress: ip });
    const join = (ip: string) =>
      server.app.inject({ method: 'POST', url: `/api/rooms/${room.id}/join`, payload: { displayName: 'Gus', invite: room.invite }, remoteAddress: ip });
    for (let i = 0; i < JOIN_PER_MINUTE; i++) {
      assert.equal((await preview('198.51.100.77')).statusCode, 200);
      assert.equal((await join('198.51.100.77')).statusCode, 200);
    }
    const words = /^Too many attempts to join a meeting\. Try again in (\d+ seconds|1 minute)\.$/;
    assertRateLimited(await preview('198.51.100.77'), words, 60);
    assertRateLimited(await join('198.51.100.77'), words, 60);
    assert.equal((await join('198.51.100.78')).statusCode, 200);
  });

  it('X-Forwarded-For is ignored without TRUST_PROXY: the socket address is the key', async () => {
    for (let i = 0; i < PER_IP; i++) {
      const res = await signIn(server, `xff${i}@test.local`, 'wrong', '198.51.100.9', { 'x-forwarded-for': `10.0.0.${i}` });
      assert.equal(res.statusCode, 401);
    }
    const res = await signIn(server, 'xff@test.local', 'wrong', '198.51.100.9', { 'x-forwarded-for': '10.0.0.99' });
    assert.equal(res.statusCode, 429);
  });

  it('an old N=2^15 hash signs in and is stored again with today\'s cost (sessions stay valid)', async () => {
    const { users } = server.app;
    const old = legacyHash('legacy password');
    users.create({ email: 'lee@test.local', name: 'Lee', role: 'host', passwordHash: old });
    const before = users.findWithHashByEmail('lee@test.local');
    assert.ok(before);

    const first = await signIn(server, 'lee@test.local', 'legacy password', '192.0.2.200');
    assert.equal(first.statusCode, 200, first.body);
    const upgraded = users.findWithHashByEmail('lee@test.local');
    assert.ok(upgraded);
    assert.notEqual(upgraded.passwordHash, old);
    assert.match(upgraded.passwordHash, /^scrypt\$131072\$8\$1\$/);
    assert.equal(upgraded.tokenVersion, before.tokenVersion, 'the first session is not revoked');
    const me = await server.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${first.json().token}` } });
    assert.equal(me.statusCode, 200);

    assert.equal((await signIn(server, 'lee@test.local', 'legacy password', '192.0.2.201')).statusCode, 200);
    assert.equal((await signIn(server, 'lee@test.local', 'not it', '192.0.2.202')).statusCode, 401);
  });
});

describe('behind a trusted proxy (TRUST_PROXY)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ TRUST_PROXY: '127.0.0.1', LOGIN_RATE_LIMIT_PER_IP: '2', LOGIN_RATE_LIMIT_PER_ACCOUNT: '100' });
  });
  after(async () => {
    await server.close();
  });

  it('X-Forwarded-For from the proxy decides the rate-limit key; from anyone else it is ignored', async () => {
    const viaProxy = (client: string) => signIn(server, 'nobody@test.local', 'wrong', '127.0.0.1', { 'x-forwarded-for': client });
    assert.equal((await viaProxy('203.0.113.7')).statusCode, 401);
    assert.equal((await viaProxy('203.0.113.7')).statusCode, 401);
    assert.equal((await viaProxy('203.0.113.7')).statusCode, 429);
    assert.equal((await viaProxy('203.0.113.8')).statusCode, 401, 'another client behind the same proxy has its own budget');

    const direct = (forged: string) => signIn(server, 'nobody@test.local', 'wrong', '198.51.100.30', { 'x-forwarded-for': forged });
    assert.equal((await direct('10.1.1.1')).statusCode, 401);
    assert.equal((await direct('10.1.1.2')).statusCode, 401);
    assert.equal((await direct('10.1.1.3')).statusCode, 429);
  });
});

describe('waitWords', () => {
  for (const [ms, words] of [
    [0, '1 second'],
    [400, '1 second'],
    [1000, '1 second'],
    [1001, '2 seconds'],
    [40_000, '40 seconds'],
    [59_001, '1 minute'],
    [60_000, '1 minute'],
    [60_001, '2 minutes'],
    [14 * 60_000 - 1, '14 minutes'],
    [15 * 60_000, '15 minutes'],
  ] as const) {
    it(`${ms} ms → "${words}"`, () => assert.equal(waitWords(ms), words));
  }
});
