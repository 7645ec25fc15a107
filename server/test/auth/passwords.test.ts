import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from '../../src/auth/passwords.js';
import { legacyHash } from './legacyHash.js';

describe('password hashes (scrypt)', () => {
  it('new hashes use at least OWASP\'s minimum cost (N=2^17, r=8, p=1) and verify', async () => {
    const stored = await hashPassword('correct horse');
    const [scheme, N, r, p] = stored.split('$');
    assert.equal(scheme, 'scrypt');
    assert.ok(Number(N) >= 2 ** 17, `N=${N}`);
    assert.ok(Number(r) >= 8 && Number(p) >= 1);
    assert.equal(await verifyPassword('correct horse', stored), true);
    assert.equal(await verifyPassword('correct horsf', stored), false);
    assert.equal(needsRehash(stored), false);
  });

  it('a hash stored with the old cost (N=2^15) still verifies, and asks to be re-hashed', async () => {
    const old = legacyHash('old password');
    assert.equal(await verifyPassword('old password', old), true);
    assert.equal(await verifyPassword('other password', old), false);
    assert.equal(needsRehash(old), true);
  });

  for (const [name, stored, expected] of [
    ['N below today', 'scrypt$32768$8$1$AAAA$AAAA', true],
    ['r below today', 'scrypt$131072$4$1$AAAA$AAAA', true],
    ['a shorter key', 'scrypt$131072$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA', true],
    ['not scrypt', 'bcrypt$10$abc', true],
    ['N not a power of two', 'scrypt$100000$8$1$AAAA$AAAA', true],
    ['empty', '', true],
    ['today\'s parameters', DUMMY_HASH, false],
    ['a higher cost than today', `scrypt$262144$8$1$AAAAAAAAAAAAAAAAAAAAAA==$${Buffer.alloc(32).toString('base64')}`, false],
  ] as const) {
    it(`needsRehash: ${name} → ${expected}`, () => {
      assert.equal(needsRehash(stored), expected);
    });
  }

  it('the dummy hash unknown emails are checked against has today\'s cost and matches no password', async () => {
    assert.equal(DUMMY_HASH.split('$').slice(0, 4).join('$'), (await hashPassword('x')).split('$').slice(0, 4).join('$'));
    assert.equal(await verifyPassword('', DUMMY_HASH), false);
    assert.equal(await verifyPassword('password', DUMMY_HASH), false);
  });

  it('a malformed stored hash verifies nothing (and does not throw)', async () => {
    for (const stored of ['', 'scrypt', 'scrypt$x$8$1$AAAA$AAAA', 'scrypt$32768$8$1$$', 'scrypt$32768$8$1$AAAA$AAAA$extra']) {
      assert.equal(await verifyPassword('p', stored), false, stored);
    }
  });
});
