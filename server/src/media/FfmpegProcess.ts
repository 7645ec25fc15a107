import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { redact, type Logger } from '../logger.js';
import { spawnChild } from './spawnChild.js';
import { TypedEmitter } from './TypedEmitter.js';

export type FfmpegProcessEvents = {
  /** The process ended (or could not start) before markReady() was called. */
  failed: [Error];
  /** The process ended on its own after markReady(). */
  died: [Error];
  /** One line of stderr, already redacted. */
  stderr: [string];
  /** One block of `-progress` output (key=value pairs), when progress was asked for. */
  progress: [Record<string, string>];
};

export interface FfmpegProcessOptions {
  ffmpegPath: string;
  args: string[];
  logger: Logger;
  /** Open stdin as a pipe (pushers read FLV from it). Default false. */
  stdin?: boolean;
  /** Open stdout as a pipe (the composer writes FLV to it). Default false. */
  stdout?: boolean;
  /** Open fd 3 for `-progress pipe:3`. Default false. */
  progress?: boolean;
  /** Extra pipes ffmpeg reads from (fd 3, 4, …; after the progress fd when there is one), e.g. `-f s16le -i pipe:3`. Default 0. */
  inputPipes?: number;
  /** Extra pipes ffmpeg writes to (after the input pipes), e.g. a second output `-f s16le pipe:3`. Default 0. */
  outputPipes?: number;
  /** An fd to give ffmpeg as its stdout instead of a pipe (a FIFO's write end: media/fifo.ts). Default none. */
  stdoutFd?: number;
  /** Fds to give ffmpeg as its output pipes, in order, instead of pipes (FIFO write ends). Default none. */
  outputFds?: number[];
  /**
   * Sees every stderr line first (unredacted); returning true consumes it (not logged, not kept for
   * error messages): for per-frame lines such as showinfo's. Default none.
   */
  onStderrLine?: (line: string) => boolean;
}

/** Stderr lines kept for error reporting. */
const KEPT_STDERR_LINES = 40;

/**
 * One ffmpeg child process, wrapped like mediasoup wraps its worker: it reports `failed` when it
 * ends before the owner calls markReady() and `died` when it ends afterwards; stderr goes to the
 * logger at debug level, redacted; close() detaches listeners, sends SIGTERM, then SIGKILL.
 */
export class FfmpegProcess extends TypedEmitter<FfmpegProcessEvents> {
  readonly #child: ChildProcess;
  readonly #logger: Logger;
  readonly #stderrTail: string[] = [];
  #ready = false;
  #firstInputPipe = 3;
  #firstOutputPipe = 3;
  #stderrHook: ((line: string) => boolean) | null = null;
  #closed = false;
  #exited = false;
  #exitCode: number | null = null;
  readonly #exitPromise: Promise<void>;

  private constructor(child: ChildProcess, logger: Logger) {
    super(logger);
    this.#child = child;
    this.#logger = logger;
    this.#exitPromise = new Promise((resolve) => {
      child.once('close', () => resolve());
      child.once('error', () => resolve());
    });
  }

  static spawn(options: FfmpegProcessOptions): FfmpegProcess {
    const child = spawnChild(options.ffmpegPath, options.args, {
      stdio: [
        options.stdin ? 'pipe' : 'ignore',
        options.stdoutFd ?? (options.stdout ? 'pipe' : 'ignore'),
        'pipe',
        ...(options.progress ? (['pipe'] as const) : []),
        ...Array.from({ length: options.inputPipes ?? 0 }, () => 'pipe' as const),
        ...Array.from({ length: options.outputPipes ?? 0 }, (_, i) => options.outputFds?.[i] ?? ('pipe' as const)),
      ],
    });
    const proc = new FfmpegProcess(child, options.logger);
    proc.#firstInputPipe = options.progress ? 4 : 3;
    proc.#firstOutputPipe = proc.#firstInputPipe + (options.inputPipes ?? 0);
    proc.#stderrHook = options.onStderrLine ?? null;
    proc.#wire(options.progress ?? false);
    return proc;
  }

  /** The n-th extra input pipe (0 → the first of `inputPipes`), or null when there is none. */
  inputPipe(n: number): Writable | null {
    const stream = this.#child.stdio[this.#firstInputPipe + n];
    return stream && 'write' in stream ? (stream as Writable) : null;
  }

  /** The n-th extra output pipe (0 → the first of `outputPipes`), or null when there is none. */
  outputPipe(n: number): Readable | null {
    const stream = this.#child.stdio[this.#firstOutputPipe + n];
    return stream && 'read' in stream ? (stream as Readable) : null;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get stdin(): Writable | null {
    return this.#child.stdin;
  }

  get stdout(): Readable | null {
    return this.#child.stdout;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get exited(): boolean {
    return this.#exited;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for the process to end (a one-shot job such as a remux): its exit code, null when killed or when it could not start. */
  async waitForExit(): Promise<number | null> {
    await this.#exitPromise;
    return this.#exitCode;
  }

  /** The last stderr lines, redacted, oldest first. */
  stderrTail(): string[] {
    return [...this.#stderrTail];
  }

  /** Marks the process as started; an exit after this is reported as `died`, not `failed`. */
  markReady(): void {
    this.#ready = true;
  }

  /**
   * Stops the process. With `endStdin` the process is first given `graceMs` to finish on its own
   * (a pusher then closes its FLV stream cleanly); then SIGTERM, then SIGKILL after `graceMs`.
   */
  async close(options: { endStdin?: boolean; graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return this.#exitPromise;
    this.#closed = true;
    this.removeAllListeners();
    const graceMs = options.graceMs ?? 2000;
    if (this.#exited) return;
    const stdin = this.#child.stdin;
    if (options.endStdin && stdin && !stdin.destroyed) {
      stdin.end();
      if (await this.#waitExit(graceMs)) return;
    } else {
      stdin?.destroy();
    }
    this.#child.kill('SIGTERM');
    if (await this.#waitExit(graceMs)) return;
    this.#child.kill('SIGKILL');
    await this.#exitPromise;
  }

  async #waitExit(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.#exitPromise.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  #wire(progress: boolean): void {
    const child = this.#child;
    // EPIPE on a pipe whose reader died is reported through 'exit'; never crash the server on it.
    child.stdin?.on('error', (error) => this.#logger.debug({ err: error }, 'ffmpeg stdin error'));
    for (const stream of child.stdio.slice(3)) stream?.on('error', (error: Error) => this.#logger.debug({ err: error }, 'ffmpeg pipe error'));
    child.stdout?.on('error', (error) => this.#logger.debug({ err: error }, 'ffmpeg stdout error'));

    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r\n|\r|\n/);
      partial = lines.pop() ?? '';
      for (const raw of lines) this.#onStderrLine(raw);
    });

    const progressStream = progress ? child.stdio[3] : null;
    if (progressStream && 'setEncoding' in progressStream) {
      let block: Record<string, string> = {};
      let rest = '';
      progressStream.setEncoding('utf8');
      progressStream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const eq = line.indexOf('=');
          if (eq < 0) continue;
          const key = line.slice(0, eq).trim();
          block[key] = line.slice(eq + 1).trim();
          if (key === 'progress') {
            if (!this.#closed) this.emit('progress', block);
            block = {};
          }
        }
      });
      progressStream.on('error', () => undefined);
    }

    child.once('error', (error) => {
      this.#exited = true;
      const message = `Could not start ffmpeg (${error.message}).`;
      if (!this.#closed) this.emit(this.#ready ? 'died' : 'failed', new Error(message));
    });
    child.once('close', (code, signal) => {
      if (partial) this.#onStderrLine(partial);
      this.#exited = true;
      this.#exitCode = code;
      if (this.#closed) return;
      const last = this.#stderrTail.filter((l) => l.trim()).slice(-3).join(' | ');
      const error = new Error(`ffmpeg exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`);
      this.emit(this.#ready ? 'died' : 'failed', error);
    });
  }

  #onStderrLine(raw: string): void {
    if (this.#stderrHook?.(raw)) return;
    const line = redact(raw);
    if (!line.trim()) return;
    this.#stderrTail.push(line);
    if (this.#stderrTail.length > KEPT_STDERR_LINES) this.#stderrTail.shift();
    this.#logger.debug({ ffmpeg: this.#child.pid }, line);
    if (!this.#closed) this.emit('stderr', line);
  }
}
