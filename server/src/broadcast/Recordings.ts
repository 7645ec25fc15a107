import type { ProgramKind, Recording, RecordingState } from '@onair/shared';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { newId, type Db } from '../persistence/db.js';

export interface RecordingsOptions {
  db: Db;
  /** Resolved on first use, so a server without ffmpeg still starts. */
  ffmpegPath: () => string;
  logger: Logger;
}

/** A recording with where it is on disk and whose room it belongs to (never sent to clients). */
export interface StoredRecording extends Recording {
  roomId: string;
  path: string;
}

interface RecordingRow {
  id: string;
  broadcast_id: string;
  room_id: string;
  file: string;
  format: string;
  state: string;
  bytes: number;
  duration_seconds: number | null;
  error: string | null;
  program: string;
  created_at: string;
}

export type RecordingsEvents = {
  /** A recording's remux ended: 'ready' (the MP4) or 'failed' (the FLV is kept). */
  finished: [StoredRecording];
};

/** How long close() lets a running remux finish before it is stopped (it is redone at the next start). */
const CLOSE_GRACE_MS = 15_000;

/**
 * The recordings of broadcasts: each starts as the FLV the broadcast's recording sink writes, is
 * remuxed to MP4 (`-c copy -movflags +faststart`, so players can seek before it has all arrived)
 * when the broadcast ends, and only then is the FLV removed; a failed remux keeps the FLV, which
 * stays downloadable, and says why. Remuxes cut short by a restart are redone at the next start.
 */
export class Recordings extends TypedEmitter<RecordingsEvents> {
  readonly #db: Db;
  readonly #ffmpegPath: () => string;
  readonly #logger: Logger;
  readonly #jobs = new Map<string, { done: Promise<void>; proc: FfmpegProcess | null }>();
  #closed = false;

  constructor(options: RecordingsOptions) {
    super(options.logger);
    this.#db = options.db;
    this.#ffmpegPath = options.ffmpegPath;
    this.#logger = options.logger;
  }

  /** A broadcast started recording into `flvPath`; returns the recording's id. */
  begin(broadcastId: string, roomId: string, flvPath: string, program: ProgramKind = 'landscape'): string {
    const id = newId('rec');
    this.#db
      .prepare('INSERT INTO recordings (id, broadcast_id, room_id, file, format, state, bytes, program, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)')
      .run(id, broadcastId, roomId, flvPath, 'flv', 'recording', program, new Date().toISOString());
    return id;
  }

  /** The broadcast that would have recorded never started: nothing was recorded. */
  discard(flvPath: string): void {
    rmSync(flvPath, { force: true });
  }

  /** The broadcast ended and its recording sink is closed: remux to MP4 (at most one job per recording). */
  finish(id: string): Promise<void> {
    const running = this.#jobs.get(id);
    if (running) return running.done;
    if (this.#closed) return Promise.resolve();
    const job = { done: Promise.resolve(), proc: null as FfmpegProcess | null };
    job.done = this.#remux(id, job)
      .then(() => {
        const done = this.find(id);
        if (done && (done.state === 'ready' || done.state === 'failed')) this.emit('finished', done);
      })
      .catch((error: unknown) => this.#logger.error({ err: error, recording: id }, 'recording remux failed unexpectedly'))
      .finally(() => this.#jobs.delete(id));
    this.#jobs.set(id, job);
    return job.done;
  }

  /** At start: recordings left 'recording' or 'processing' by a stop or crash are remuxed now. */
  resumeInterrupted(): void {
    const rows = this.#db.prepare("SELECT id FROM recordings WHERE state IN ('recording', 'processing')").all() as Array<{ id: string }>;
    for (const { id } of rows) void this.finish(id);
  }

  find(id: string): StoredRecording | null {
    const row = this.#db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRow | undefined;
    return row ? { ...toRecording(row), roomId: row.room_id, path: row.file } : null;
  }

  get(id: string): StoredRecording {
    const recording = this.find(id);
    if (!recording) throw new AppError('NOT_FOUND', 'That recording does not exist.');
    return recording;
  }

  /** The recordings of these broadcasts, oldest first, by broadcast id. */
  forBroadcasts(broadcastIds: readonly string[]): Map<string, Recording[]> {
    const byBroadcast = new Map<string, Recording[]>();
    if (broadcastIds.length === 0) return byBroadcast;
    const rows = this.#db
      .prepare(`SELECT * FROM recordings WHERE broadcast_id IN (${broadcastIds.map(() => '?').join(',')}) ORDER BY created_at`)
      .all(...broadcastIds) as RecordingRow[];
    for (const row of rows) {
      const list = byBroadcast.get(row.broadcast_id) ?? [];
      list.push(toRecording(row));
      byBroadcast.set(row.broadcast_id, list);
    }
    return byBroadcast;
  }

  /** Removes the recording's files; the history keeps the entry, marked deleted. */
  delete(id: string): void {
    const recording = this.get(id);
    if (recording.state === 'deleted') return;
    if (recording.state === 'recording' || recording.state === 'processing') {
      throw new AppError('RECORDING_NOT_READY', 'This recording is still being written. Delete it once the broadcast has ended and it has been converted.');
    }
    for (const path of new Set([recording.path, flvPathOf(recording.path), `${mp4PathOf(recording.path)}.part`])) rmSync(path, { force: true });
    this.#db.prepare("UPDATE recordings SET state = 'deleted', deleted_at = ? WHERE id = ?").run(new Date().toISOString(), id);
    this.#logger.info({ recording: id }, 'recording deleted');
  }

  /** Waits up to CLOSE_GRACE_MS for running remuxes, then stops them (they are redone at the next start). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const jobs = [...this.#jobs.values()];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([Promise.all(jobs.map((j) => j.done)), timedOut]);
    clearTimeout(timer);
    await Promise.all(jobs.map((j) => j.proc?.close({ graceMs: 1000 })));
  }

  async #remux(id: string, job: { proc: FfmpegProcess | null }): Promise<void> {
    const recording = this.find(id);
    if (!recording || (recording.state !== 'recording' && recording.state !== 'processing')) return;
    const flv = recording.path;
    const mp4 = mp4PathOf(flv);
    const partial = `${mp4}.part`;
    if (!existsSync(flv)) {
      // A restart between the rename and the database update leaves only the MP4.
      if (existsSync(mp4)) return this.#ready(id, mp4, null);
      return this.#failed(id, flv, 'The recording file is missing from the server.');
    }
    this.#update(id, { state: 'processing', bytes: statSync(flv).size });
    const proc = FfmpegProcess.spawn({
      ffmpegPath: this.#ffmpegPath(),
      args: ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', flv, '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '-progress', 'pipe:3', partial],
      progress: true,
      logger: this.#logger.child({ recording: id }),
    });
    job.proc = proc;
    let durationUs: number | null = null;
    proc.on('progress', (block) => {
      const us = Number(block.out_time_us);
      if (Number.isFinite(us) && us > 0) durationUs = us;
    });
    const code = await proc.waitForExit();
    job.proc = null;
    if (this.#closed && code !== 0) {
      rmSync(partial, { force: true });
      return; // stopped by close(): redone at the next start
    }
    if (code !== 0 || !existsSync(partial) || statSync(partial).size === 0) {
      rmSync(partial, { force: true });
      const why = proc.stderrTail().filter((l) => l.trim()).slice(-1)[0]?.slice(0, 200) ?? `ffmpeg exited with ${code ?? 'a signal'}`;
      this.#logger.warn({ recording: id, code, why }, 'recording remux failed; the FLV is kept');
      return this.#failed(id, flv, `Converting the recording to MP4 failed (${why}). The original FLV file is kept and can be downloaded.`);
    }
    renameSync(partial, mp4);
    this.#ready(id, mp4, durationUs === null ? null : durationUs / 1e6);
    rmSync(flv, { force: true });
    this.#logger.info({ recording: id, file: mp4 }, 'recording remuxed to MP4');
  }

  #ready(id: string, mp4: string, durationSeconds: number | null): void {
    this.#update(id, { state: 'ready', file: mp4, format: 'mp4', bytes: statSync(mp4).size, durationSeconds, error: null });
  }

  #failed(id: string, flv: string, error: string): void {
    this.#update(id, { state: 'failed', file: flv, format: 'flv', bytes: existsSync(flv) ? statSync(flv).size : 0, error });
  }

  #update(
    id: string,
    fields: { state: RecordingState; file?: string; format?: 'mp4' | 'flv'; bytes: number; durationSeconds?: number | null; error?: string | null },
  ): void {
    const row = this.#db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRow | undefined;
    if (!row) return;
    const file = fields.file ?? row.file;
    this.#db
      .prepare('UPDATE recordings SET state = ?, file = ?, format = ?, bytes = ?, duration_seconds = ?, error = ? WHERE id = ?')
      .run(
        fields.state,
        file,
        fields.format ?? row.format,
        fields.bytes,
        fields.durationSeconds === undefined ? row.duration_seconds : fields.durationSeconds === null ? null : Math.round(fields.durationSeconds * 1000) / 1000,
        fields.error === undefined ? row.error : fields.error,
        id,
      );
    // The history's recordingFile names the file that is there now.
    this.#db.prepare('UPDATE broadcasts SET recording_file = ? WHERE id = ?').run(file, row.broadcast_id);
  }
}

const RECORDING_STATES: readonly RecordingState[] = ['recording', 'processing', 'ready', 'failed', 'deleted'];

function mp4PathOf(path: string): string {
  return path.replace(/\.(flv|mp4)$/i, '') + '.mp4';
}

function flvPathOf(path: string): string {
  return path.replace(/\.(flv|mp4)$/i, '') + '.flv';
}

function toRecording(row: RecordingRow): Recording {
  return {
    id: row.id,
    broadcastId: row.broadcast_id,
    state: RECORDING_STATES.find((state) => state === row.state) ?? 'failed',
    format: row.format === 'mp4' ? 'mp4' : 'flv',
    fileName: basename(row.file),
    bytes: row.bytes,
    durationSeconds: row.duration_seconds,
    error: row.error,
    program: row.program === 'vertical' ? 'vertical' : 'landscape',
    createdAt: row.created_at,
  };
}
