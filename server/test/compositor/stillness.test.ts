import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StillWatch, type StillRun } from '../../src/compositor/stillness.js';

/** Frames as letters: C changed, s still with nothing new from the sources, a still while a new picture had arrived. */
function watch(frames: string, minFrames = 3): StillRun[] {
  const runs: StillRun[] = [];
  const w = new StillWatch(minFrames, (run) => runs.push(run));
  for (const f of frames) w.frame(f === 'C', f === 'a');
  w.flush();
  return runs;
}

describe('the program standing still: runs of unchanged frames (table)', () => {
  const cases: Array<[string, string, StillRun[]]> = [
    ['every frame new: none', 'CCCCCC', []],
    ['a run shorter than the least reported: none', 'CCsCC', []],
    ['the cameras stalled: the frame that changed last and the still ones after it, nothing arrived', 'CCsssC', [{ fromFrame: 1, frames: 4, arrivals: 0 }]],
    ['pictures arrived but were not shown: counted', 'CsasaC', [{ fromFrame: 0, frames: 5, arrivals: 2 }]],
    ['two runs, and the one in progress when it closes', 'CssCCsss', [{ fromFrame: 0, frames: 3, arrivals: 0 }, { fromFrame: 4, frames: 4, arrivals: 0 }]],
    ['the first frame starts a run even unchanged', 'sssC', [{ fromFrame: 0, frames: 3, arrivals: 0 }]],
  ];
  for (const [name, frames, want] of cases) it(name, () => assert.deepEqual(watch(frames), want));

  it('counts the frames it watched (the next frame\'s index)', () => {
    const w = new StillWatch(3, () => undefined);
    assert.equal(w.frames, 0);
    for (const f of 'CssC') w.frame(f === 'C', false);
    assert.equal(w.frames, 4);
  });
});
