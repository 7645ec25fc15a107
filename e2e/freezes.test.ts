import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainFreezes, freezesIn, placeRuns } from './fixtures/freezes.js';

// The e2e tests' freeze judgement (fixtures/freezes.ts) on made-up figures: no server, no recording.
describe('freezes set against the program\'s still runs', () => {
  // The recording (a viewer that joined late) reads the encoder's times 3.3 s earlier.
  const OFFSET = 3.3;
  const runs = [
    { t: 5.0, d: 0.4, arrivals: 0 },
    { t: 9.0, d: 1.4, arrivals: 0 },
    { t: 12.0, d: 0.5, arrivals: 9 },
  ];
  const freezes = runs.map((r) => ({ t: r.t - OFFSET, d: r.d }));

  it('reads freezedetect\'s log: each freeze\'s start and duration, in order', () => {
    const log = [
      '[freezedetect @ 0x5] lavfi.freezedetect.freeze_start: 9.48',
      '[freezedetect @ 0x5] lavfi.freezedetect.freeze_duration: 0.367',
      '[freezedetect @ 0x5] lavfi.freezedetect.freeze_end: 9.847',
      '[freezedetect @ 0x5] lavfi.freezedetect.freeze_start: 21.42',
      '[freezedetect @ 0x5] lavfi.freezedetect.freeze_duration: 2.334',
    ].join('\n');
    assert.deepEqual(freezesIn(log), [{ t: 9.48, d: 0.367 }, { t: 21.42, d: 2.334 }]);
  });

  it('puts the runs on the recording where they line up with its freezes', () => {
    const placed = placeRuns(runs, [...freezes, { t: 15, d: 0.6 }]);
    assert.ok(placed.offset !== null && Math.abs(placed.offset - OFFSET) < 1e-9, `offset ${placed.offset}`);
    assert.deepEqual(placed.runs.map((r) => Number(r.t.toFixed(3))), [1.7, 5.7, 8.7]);
  });

  it('never before the encoder began: a run cannot be moved later than it was to meet a freeze', () => {
    // The only freeze lies after the only run: lining them up would need the recording to start before the encoder.
    assert.deepEqual(placeRuns([{ t: 0.5, d: 0.6, arrivals: 0 }], [{ t: 7.9, d: 0.6 }]), { runs: [], offset: null });
  });

  it('a freeze the cameras account for (nothing arrived) is explained; one while pictures arrived, or with no run, is not', () => {
    const placed = placeRuns(runs, freezes).runs;
    const judged = explainFreezes([{ t: 5.7, d: 1.4 }, { t: 8.7, d: 0.5 }, { t: 20, d: 1.2 }], placed);
    assert.deepEqual(judged.map((f) => f.unexplained), [0, 0.5, 1.2]);
  });

  it('without a freeze or a run nothing is placed (every freeze stays unexplained)', () => {
    assert.deepEqual(placeRuns(runs, []), { runs: [], offset: null });
    assert.deepEqual(placeRuns([], freezes), { runs: [], offset: null });
    assert.deepEqual(explainFreezes([{ t: 1, d: 1.5 }], []).map((f) => f.unexplained), [1.5]);
  });
});
