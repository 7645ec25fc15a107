import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import type { Logger } from '../logger.js';

const run = promisify(execFile);

/** Makes a FIFO at `path` that only this user can open (Node has no mkfifo(): coreutils' `mkfifo`). */
export async function makeFifo(path: string): Promise<void> {
  await run('mkfifo', ['-m', '600', path]);
}

export interface FifoReadOptions {
  /** Where the bytes of the next read go (called before every read; at most its length is read). */
  target: () => Uint8Array;
  /** `bytes` were read into the start of the last target. */
  read: (bytes: number) => void;
  logger: Logger;
}

/**
 * A named pipe that a child process writes to (its write end is an fd to put in the child's stdio)
 * and this process reads straight into memory the caller chose beforehand, through net.Socket's
 * `onread` option. A child's ordinary stdio pipe hands every read over as a freshly allocated
 * chunk (64 KiB of backing store each): at 30 raw pictures a second per decoder that garbage was
 * a third of the server's compositing time, hence this. Node has no mkfifo(), so Debian's
 * `mkfifo` (coreutils) makes it.
 */
export class FifoReader {
  readonly #socket: Socket;
  #writeFd: number | null;
  #closed = false;

  private constructor(socket: Socket, writeFd: number) {
    this.#socket = socket;
    this.#writeFd = writeFd;
  }

  /** Makes the FIFO at `path` (in a directory of the caller's own) and opens both of its ends. */
  static async open(path: string, options: FifoReadOptions): Promise<FifoReader> {
    await makeFifo(path);
    // The read end first, non-blocking, so that opening the write end does not wait for a reader.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let writeFd: number;
    try {
      writeFd = openSync(path, constants.O_WRONLY);
    } catch (error) {
      closeSync(readFd);
      throw error;
    }
    const socket = new Socket({
      fd: readFd,
      readable: true,
      writable: false,
      onread: {
        buffer: options.target,
        // Returning false would stop reading; the reader always takes more.
        callback: (bytes: number) => {
          options.read(bytes);
          return true;
        },
      },
    });
    socket.on('error', (error) => options.logger.debug({ err: error }, 'fifo read error'));
    return new FifoReader(socket, writeFd);
  }

  /** The write end, for the child's stdio; null once released. */
  get writeFd(): number | null {
    return this.#writeFd;
  }

  /** Closes this process's copy of the write end (after spawning the child), so the child's exit ends the reads. */
  releaseWriteEnd(): void {
    if (this.#writeFd === null) return;
    closeSync(this.#writeFd);
    this.#writeFd = null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.releaseWriteEnd();
    this.#socket.destroy();
  }
}
