import { accessSync, constants } from 'node:fs';

/** One readiness check: whether it passed, and in plain words what was found. */
export interface CheckResult {
  ok: boolean;
  message: string;
}

export interface Readiness {
  ok: boolean;
  checks: { database: CheckResult; workers: CheckResult; ffmpeg: CheckResult };
}

export interface ReadinessSources {
  /** Runs a trivial query; throws when the database does not answer. */
  queryDatabase: () => void;
  /** Each mediasoup worker, in pool order. */
  workers: () => ReadonlyArray<{ closed: boolean; died: boolean; pid: number }>;
  /** The ffmpeg binary that will be run; throws in plain words when there is none. */
  resolveFfmpeg: () => string;
}

function check(fn: () => string): CheckResult {
  try {
    return { ok: true, message: fn() };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Whether this process can serve a meeting and a broadcast now: database, mediasoup workers, ffmpeg. */
export function readiness(sources: ReadinessSources): Readiness {
  const database = check(() => {
    try {
      sources.queryDatabase();
    } catch (error) {
      throw new Error(`The database does not answer (${error instanceof Error ? error.message : String(error)}).`);
    }
    return 'The database answers.';
  });
  const workers = check(() => {
    const all = sources.workers();
    const down = all.map((w, index) => ({ w, index })).filter(({ w }) => w.closed || w.died);
    if (all.length === 0) throw new Error('No mediasoup worker is running.');
    if (down.length > 0) {
      const which = down.map(({ index }) => index).join(', ');
      throw new Error(`mediasoup worker ${which} of ${all.length} is not running (a dead worker is being replaced).`);
    }
    return `${all.length} mediasoup worker${all.length === 1 ? '' : 's'} running.`;
  });
  const ffmpeg = check(() => {
    const path = sources.resolveFfmpeg();
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new Error(`ffmpeg at ${path} cannot be run (it is not executable).`);
    }
    return `ffmpeg is ${path}.`;
  });
  return { ok: database.ok && workers.ok && ffmpeg.ok, checks: { database, workers, ffmpeg } };
}

/** The failed checks in one sentence, e.g. "ffmpeg: FFMPEG_PATH points to /x, but there is no file there." */
export function notReadyMessage(r: Readiness): string {
  return Object.entries(r.checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.message}`)
    .join(' ');
}
