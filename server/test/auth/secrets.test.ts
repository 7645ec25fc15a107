import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Keys } from '../../src/persistence/keys.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { openDb } from '../../src/persistence/db.js';
import { DestinationsRepo } from '../../src/persistence/destinations.js';
import { redact, registerSecret } from '../../src/logger.js';
import { AppError } from '../../src/errors.js';

describe('secrets', () => {
  it('passwords are hashed with scrypt and verified', async () => {
    const hash = await hashPassword('hunter2hunter2');
    assert.match(hash, /^scrypt\$131072\$8\$1\$/);
    assert.equal(await verifyPassword('hunter2hunter2', hash), true);
    assert.equal(await verifyPassword('hunter3hunter3', hash), false);
  });

  it('stream keys are stored encrypted in SQLite and come back only through withKey()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-keys-'));
    const keys = Keys.load(null, dir);
    const db = openDb(join(dir, 'onair.db'));
    const repo = new DestinationsRepo(db, keys);
    const d = repo.create({ name: 'YouTube', platform: 'youtube', serverUrl: 'rtmp://a.rtmp.youtube.com/live2', streamKey: 'abcd-efgh-ijkl-mnop' });
    assert.equal(d.streamKeyMasked, '••••mnop');
    assert.equal(JSON.stringify(d).includes('abcd-efgh'), false);
    db.close();
    const file = readdirSync(dir)
      .filter((f) => f.startsWith('onair.db'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
      .join('');
    assert.equal(file.includes('abcd-efgh-ijkl-mnop'), false, 'the key is not in the database file in clear');
    const reopened = new DestinationsRepo(openDb(join(dir, 'onair.db')), Keys.load(null, dir));
    assert.equal(reopened.withKey(d.id).streamKey, 'abcd-efgh-ijkl-mnop');
  });

  it('a lost or changed master secret leaves the server starting: only those keys are unreadable, in words, until entered again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-keys-'));
    const db = openDb(join(dir, 'onair.db'));
    const before = new DestinationsRepo(db, Keys.load('first secret '.repeat(4), dir));
    const d = before.create({ name: 'Twitch', platform: 'twitch', serverUrl: 'rtmp://live.twitch.tv/app', streamKey: 'live_abc_123' });
    const after = new DestinationsRepo(db, Keys.load('another secret '.repeat(4), dir));
    assert.deepEqual(after.registerAllSecrets(), ['Twitch']);
    assert.throws(() => after.withKey(d.id), (e: unknown) => e instanceof AppError && e.code === 'STREAM_KEY_UNREADABLE' && /Enter the stream key again/.test(e.message));
    after.update(d.id, { streamKey: 'live_new_456' });
    assert.equal(after.withKey(d.id).streamKey, 'live_new_456');
    assert.deepEqual(after.registerAllSecrets(), []);
    db.close();
  });

  it('a tampered sealed value does not decrypt', () => {
    const keys = Keys.load('x'.repeat(40), '/nonexistent');
    const sealed = keys.encrypt('secret-key');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    assert.throws(() => keys.decrypt(tampered));
  });

  it('registered secrets are redacted from any text', () => {
    registerSecret('live_123456789_SECRETKEY');
    assert.equal(redact('publishing to rtmp://live.twitch.tv/app/live_123456789_SECRETKEY now'), 'publishing to rtmp://live.twitch.tv/app/••••TKEY now');
  });
});
