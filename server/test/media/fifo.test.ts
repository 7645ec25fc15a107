import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FifoReader } from '../../src/media/fifo.js';

describe('FifoReader', () => {
  it('a child writing to the FIFO fills the memory the reader chose, picture by picture, with no chunk of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-fifo-'));
    try {
      // Three "pictures" of 100,000 bytes each, 1, 2 and 3, written by a real child process.
      const size = 100_000;
      const pictures = [Buffer.alloc(size), Buffer.alloc(size)];
      const seen: number[] = [];
      let current = 0;
      let filled = 0;
      const reader = await FifoReader.open(join(dir, 'video.fifo'), {
        target: () => pictures[current]!.subarray(filled),
        read: (n) => {
          filled += n;
          if (filled < size) return;
          const picture = pictures[current]!;
          assert.ok(picture.every((b) => b === picture[0]), 'a picture holds only its own bytes');
          seen.push(picture[0]!);
          filled = 0;
          current = 1 - current;
        },
        logger: pino({ level: 'silent' }),
      });
      const writeFd = reader.writeFd;
      assert.ok(writeFd !== null);
      const script = `for (const v of [1, 2, 3]) process.stdout.write(Buffer.alloc(${size}, v));`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', writeFd, 'inherit'] });
      reader.releaseWriteEnd();
      assert.equal(reader.writeFd, null);
      await new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 10_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, [1, 2, 3]);
      reader.close();
      reader.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
