import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { pino } from 'pino';
import { WarmPool, writeFifo } from '../../src/media/WarmPool.js';
import { FakeClock } from '../fakeClock.js';

const settle = () => new Promise((r) => setImmediate(r));

describe('WarmPool', () => {
  it('starts its spares once its owner has asked for none for a while, and replaces a taken one only after a quiet spell', async () => {
    const clock = new FakeClock();
    let started = 0;
    const discarded: number[] = [];
    const pool = new WarmPool<number>({ size: 2, refillAfterMs: 10_000, start: async () => (started += 1), usable: () => true, discard: (n) => discarded.push(n), clock, logger: pino({ level: 'silent' }) });
    assert.equal(pool.take(), null, 'nothing before the first spares');
    clock.advance(5_000);
    assert.equal(pool.take(), null, 'still nothing, and the first spares wait again');
    clock.advance(9_999);
    await settle();
    assert.equal(started, 0, 'no start-up while its owner keeps asking');
    clock.advance(1);
    for (let i = 0; i < 4; i += 1) await settle();
    assert.equal(pool.ready, 1, 'one start-up at a time…');
    clock.advance(1_000);
    for (let i = 0; i < 4; i += 1) await settle();
    assert.equal(pool.ready, 2, '…a second apart');
    assert.equal(pool.take(), 1);
    clock.advance(5_000);
    assert.equal(pool.take(), 2);
    assert.equal(pool.take(), null, 'empty: the caller starts its own');
    clock.advance(9_999);
    await settle();
    assert.equal(started, 2, 'no refill while takes keep coming');
    clock.advance(1);
    for (let i = 0; i < 4; i += 1) await settle();
    clock.advance(1_000);
    for (let i = 0; i < 4; i += 1) await settle();
    assert.equal(started, 4);
    pool.close();
    assert.deepEqual(discarded, [3, 4], 'close ends the spares nobody took');
  });

  it('writeFifo hands a waiting reader its text and says false when nobody reads the FIFO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-warm-'));
    try {
      const fifo = join(dir, 'in.fifo');
      execFileSync('mkfifo', [fifo]);
      assert.equal(writeFifo(fifo, 'nobody'), false);
      const reader = spawn('cat', [fifo]);
      let out = '';
      reader.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise((r) => reader.once('close', r));
      // cat opens the FIFO a moment after it starts.
      let written = false;
      for (let i = 0; i < 100 && !written; i += 1) {
        written = writeFifo(fifo, 'v=0\n');
        if (!written) await new Promise((r) => setTimeout(r, 20));
      }
      await exited;
      assert.equal(written, true);
      assert.equal(out, 'v=0\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
