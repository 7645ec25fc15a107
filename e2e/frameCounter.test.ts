import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COUNTER_LOOP, counterStep, counterSteps, type CounterReading, type PictureSpot } from './fixtures/frameCounter.js';

/** The reading of the counter camera's steps that the compositor e2e judges by: the arithmetic alone (no browser, no recording). */
describe('the e2e frame counter: steps between readings, unwrapped by the program time between them', () => {
  const spot: PictureSpot = { rect: { x: 0, y: 0, w: 640, h: 360 }, scenes: ['grid 2 #1'] };
  const reading = (frame: number, counter: number): CounterReading => ({ frame, counter: counter % COUNTER_LOOP, spot });

  for (const [what, from, to, elapsed, step] of [
    ['the next frame', 10, 11, 1, 1],
    ['across the loop', COUNTER_LOOP - 1, 0, 1, 1],
    ['a step back', 100, 90, 1, -10],
    ['a step back across the loop', 5, COUNTER_LOOP - 5, 1, -10],
    ['160 frames on, 1 frame later: a step back of 80', 50, 210, 1, -80],
    ['160 frames on, after 138 frames without a reading (a name tile): 160 ahead, not 80 back', 50, 210, 138, 160],
    ['30 on, after a stall longer than the loop (270 frames)', 10, 40, 270, 270],
  ] as const) {
    it(`${what}: ${from} → ${to} after ${elapsed} frames is ${step > 0 ? '+' : ''}${step}`, () => {
      assert.equal(counterStep(from, to, elapsed), step);
    });
  }

  it('a camera that comes back 4.6 s after it stalled (its name tile meanwhile) is no step back; its lead and the gap are reported', () => {
    const readings = [...Array.from({ length: 30 }, (_, i) => reading(i, 100 + i)), ...Array.from({ length: 30 }, (_, i) => reading(168 + i, 100 + 168 + i))];
    const steps = counterSteps(readings, 3, 1);
    assert.deepEqual(steps.backwards, []);
    assert.equal(steps.worstBack, 0);
    assert.deepEqual(steps.jumps, []);
    assert.equal(steps.worstStep, 139);
    assert.deepEqual(steps.longestGap, { frames: 138, endedAt: 168 });
  });

  it('an older picture after a newer one is still a step back', () => {
    const readings = [reading(0, 200), reading(1, 201), reading(2, 121), reading(3, 122)];
    const steps = counterSteps(readings, 3, 1);
    assert.deepEqual(steps.backwards.map((b) => [b.frame, b.step]), [[2, -80]]);
  });
});
