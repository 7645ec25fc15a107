import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Keys } from '../../src/persistence/keys.js';
import { CameraService } from '../../src/cameras/CameraService.js';
import { AppError } from '../../src/errors.js';
import { systemClock } from '../../src/media/clock.js';
import { CamerasRepo } from '../../src/persistence/cameras.js';
import { openDb } from '../../src/persistence/db.js';

const SECRET = 'a-test-master-secret-of-32-characters!';

function setup(secret = SECRET) {
  const db = openDb(':memory:');
  db.prepare("INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ('u1', 'a@b.c', 'A', 'admin', 'x', '2026-01-01T00:00:00Z')").run();
  db.prepare("INSERT INTO rooms (id, name, owner_id, created_at) VALUES ('r1', 'Room', 'u1', '2026-01-01T00:00:00Z')").run();
  const repo = new CamerasRepo(db, Keys.load(secret, '/nonexistent'));
  // No room is open here: nothing is pulled, only the stored settings change.
  const service = new CameraService({
    repo,
    openRoom: () => undefined,
    join: () => assert.fail('no room is open'),
    ffmpegPath: () => 'ffmpeg',
    logger: pino({ level: 'silent' }),
    clock: systemClock,
  });
  return { db, repo, service };
}

describe('camera settings (stored credentials, a closed room: nothing pulled)', () => {
  it('credentials in the URL are split out; explicit fields win; a URL without credentials keeps the stored ones; username "" removes them', () => {
    const { repo, service } = setup();
    const cam = service.create('r1', { name: 'Cam', url: 'rtsp://admin:one@10.0.0.5/s' });
    assert.deepEqual(repo.credentials('r1', cam.id), { username: 'admin', password: 'one' });
    assert.equal(cam.url, 'rtsp://••••:••••@10.0.0.5/s');
    assert.equal(cam.status.state, 'idle');

    service.update('r1', cam.id, { url: 'rtsp://10.0.0.6/s2' });
    assert.deepEqual(repo.credentials('r1', cam.id), { username: 'admin', password: 'one' }, 'a new URL without credentials keeps them');
    assert.equal(service.get('r1', cam.id).url, 'rtsp://••••:••••@10.0.0.6/s2');

    service.update('r1', cam.id, { password: 'two' });
    assert.deepEqual(repo.credentials('r1', cam.id), { username: 'admin', password: 'two' }, 'a new password keeps the user name');

    service.update('r1', cam.id, { url: 'rtsp://viewer:three@10.0.0.6/s2', password: 'four' });
    assert.deepEqual(repo.credentials('r1', cam.id), { username: 'viewer', password: 'four' }, 'the field wins over the URL');

    const removed = service.update('r1', cam.id, { username: '' });
    assert.equal(removed.hasCredentials, false);
    assert.equal(removed.url, 'rtsp://10.0.0.6/s2');
    assert.equal(repo.credentials('r1', cam.id), null);

    const plain = service.create('r1', { name: 'Open', url: 'rtsp://10.0.0.7/s', transport: 'udp' });
    assert.deepEqual([plain.hasCredentials, plain.transport], [false, 'udp']);
  });

  it('credentials sealed under another master secret are refused in plain words (CAMERA_CREDENTIALS_UNREADABLE), the camera itself still listed', () => {
    const { db, service } = setup();
    const cam = service.create('r1', { name: 'Cam', url: 'rtsp://admin:one@10.0.0.5/s' });
    const other = new CamerasRepo(db, Keys.load('another-master-secret-of-32-characters', '/nonexistent'));
    assert.throws(
      () => other.credentials('r1', cam.id),
      (e: unknown) => e instanceof AppError && e.code === 'CAMERA_CREDENTIALS_UNREADABLE' && /Enter them again/.test(e.message),
    );
    assert.deepEqual(other.registerAllSecrets(), ['Cam']);
    assert.equal(other.listByRoom('r1').length, 1);
  });

  it('a camera of another room is not found through this one', () => {
    const { db, service } = setup();
    db.prepare("INSERT INTO rooms (id, name, owner_id, created_at) VALUES ('r2', 'Other', 'u1', '2026-01-01T00:00:00Z')").run();
    const cam = service.create('r2', { name: 'Theirs', url: 'rtsp://10.0.0.5/s' });
    assert.throws(() => service.get('r1', cam.id), (e: unknown) => e instanceof AppError && e.code === 'CAMERA_NOT_FOUND');
    assert.throws(() => service.update('r1', cam.id, { name: 'Mine' }), (e: unknown) => e instanceof AppError && e.code === 'CAMERA_NOT_FOUND');
  });
});
