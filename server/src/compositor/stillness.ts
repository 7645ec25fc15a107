/**
 * A run of output frames that showed one picture: the frame that last changed and the ones after it
 * that drew nothing new (no tile a new picture, the same scene).
 */
export interface StillRun {
  /** The output's frame index (from 0, one per frame sent to its encoders) of the frame that last changed. */
  fromFrame: number;
  /** Frames in the run, that one included (the run lasts frames / 30 s, as freezedetect measures a freeze). */
  frames: number;
  /**
   * Frames of the run in which a new picture had arrived from an on-air source since the frame
   * before. 0: the sources stood still (every camera stalled, paused or gone); more: the program
   * held pictures it had (a decoder's backlog in its jitter buffer, or a fault).
   */
  arrivals: number;
}

/**
 * Watches the program's picture for stillness, frame by frame, and reports each run of at least
 * `minFrames` once it ends. A viewer cannot tell a program that stopped from cameras that stopped;
 * the report can (the e2e tests read it against freezedetect). No allocation per frame.
 */
export class StillWatch {
  readonly #minFrames: number;
  readonly #report: (run: StillRun) => void;
  #index = -1;
  #from = 0;
  #frames = 0;
  #arrivals = 0;

  constructor(minFrames: number, report: (run: StillRun) => void) {
    this.#minFrames = minFrames;
    this.#report = report;
  }

  /** Frames watched so far (the next frame's index). */
  get frames(): number {
    return this.#index + 1;
  }

  /** One output frame: whether its picture differs from the frame before, and whether a source's new picture arrived since. */
  frame(changed: boolean, arrived: boolean): void {
    this.#index += 1;
    if (changed || this.#index === 0) {
      this.#end();
      this.#from = this.#index;
      this.#frames = 1;
      this.#arrivals = 0;
      return;
    }
    this.#frames += 1;
    if (arrived) this.#arrivals += 1;
  }

  /** Reports the run in progress (the output is closing). */
  flush(): void {
    this.#end();
    this.#frames = 0;
  }

  #end(): void {
    if (this.#frames >= this.#minFrames) this.#report({ fromFrame: this.#from, frames: this.#frames, arrivals: this.#arrivals });
  }
}
