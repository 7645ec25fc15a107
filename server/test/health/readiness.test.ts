import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { notReadyMessage, readiness, type ReadinessSources } from '../../src/health/readiness.js';
import { startServer } from '../helpers.js';

describe('GET /api/ready (real SQLite, mediasoup worker and ffmpeg)', () => {
  it('answers 200 with every check passed, beside /api/health', async () => {
    const server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    try {
      const res = await server.app.inject({ method: 'GET', url: '/api/ready' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.ok, true);
      assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'ffmpeg', 'workers']);
      for (const check of Object.values(body.checks) as Array<{ ok: boolean; message: string }>) assert.equal(check.ok, true, check.message);
      assert.equal(body.checks.workers.message, '1 mediasoup worker running.');
      assert.equal((await server.app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
    } finally {
      await server.close();
    }
  });

  it('answers 503 naming ffmpeg when FFMPEG_PATH points to a missing binary', async () => {
    const server = await startServer({ FFMPEG_PATH: '/nonexistent/ffmpeg' }, undefined, { schedulerIntervalMs: 0 });
    try {
      const res = await server.app.inject({ method: 'GET', url: '/api/ready' });
      assert.equal(res.statusCode, 503);
      const body = res.json();
      assert.equal(body.ok, false);
      assert.equal(body.checks.ffmpeg.ok, false);
      assert.equal(body.checks.database.ok, true);
      assert.equal(body.checks.workers.ok, true);
      assert.equal(body.message, 'Not ready. ffmpeg: FFMPEG_PATH points to /nonexistent/ffmpeg, but there is no file there.');
    } finally {
      await server.close();
    }
  });
});

describe('readiness checks (injected sources)', () => {
  const fine: ReadinessSources = {
    queryDatabase: () => undefined,
    workers: () => [{ closed: false, died: false, pid: 1 }, { closed: false, died: false, pid: 2 }],
    resolveFfmpeg: () => process.execPath, // any executable file will do
  };
  const dir = mkdtempSync(join(tmpdir(), 'onair-ready-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const notExecutable = join(dir, 'ffmpeg');
  writeFileSync(notExecutable, 'not a program', { mode: 0o644 });
  const cases: Array<{ name: string; sources: Partial<ReadinessSources>; failed: string | null; message: RegExp }> = [
    { name: 'all fine', sources: {}, failed: null, message: /^$/ },
    {
      name: 'a closed database',
      sources: { queryDatabase: () => { throw new Error('The database connection is not open'); } },
      failed: 'database',
      message: /^database: The database does not answer \(The database connection is not open\)\.$/,
    },
    {
      name: 'a dead mediasoup worker',
      sources: { workers: () => [{ closed: false, died: false, pid: 1 }, { closed: true, died: true, pid: 2 }] },
      failed: 'workers',
      message: /^workers: mediasoup worker 1 of 2 is not running/,
    },
    { name: 'no worker at all', sources: { workers: () => [] }, failed: 'workers', message: /^workers: No mediasoup worker is running\.$/ },
    {
      name: 'no ffmpeg',
      sources: { resolveFfmpeg: () => { throw new Error('ffmpeg was not found. Install it.'); } },
      failed: 'ffmpeg',
      message: /^ffmpeg: ffmpeg was not found\. Install it\.$/,
    },
    { name: 'an ffmpeg that cannot be run', sources: { resolveFfmpeg: () => notExecutable }, failed: 'ffmpeg', message: /is not executable/ },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.failed ? `${c.failed} fails` : 'ready'}`, () => {
      const r = readiness({ ...fine, ...c.sources });
      assert.equal(r.ok, c.failed === null);
      for (const [name, check] of Object.entries(r.checks)) assert.equal(check.ok, name !== c.failed, name);
      assert.match(notReadyMessage(r), c.message);
    });
  }
});
