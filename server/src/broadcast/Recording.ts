import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../logger.js';
import type { FlvSink } from '../flv/FlvRelay.js';

/** Data waiting for the disk beyond this is dropped rather than held in memory. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/** Writes the relay's output to an .flv file: a sink like the destinations, not another encode. */
export class Recording implements FlvSink {
  readonly id = 'recording';
  readonly path: string;
  readonly #stream: WriteStream;
  readonly #logger: Logger;
  #bytes = 0;
  #dropped = 0;
  #failed = false;
  #closed = false;

  constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
    this.#stream = createWriteStream(path);
    this.#stream.on('error', (error) => {
      this.#failed = true;
      this.#logger.error({ err: error, path }, 'recording write failed');
    });
  }

  get bytes(): number {
    return this.#bytes;
  }

  get droppedBytes(): number {
    return this.#dropped;
  }

  get failed(): boolean {
    return this.#failed;
  }

  write(chunk: Buffer): void {
    if (this.#closed || this.#failed) return;
    if (this.#stream.writableLength > MAX_BACKLOG_BYTES) {
      this.#dropped += chunk.length;
      return;
    }
    this.#bytes += chunk.length;
    this.#stream.write(chunk);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#stream.end(() => resolve()));
  }
}
