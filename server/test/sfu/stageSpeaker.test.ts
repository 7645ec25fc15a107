import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPEAKER_HOLD_MS, SPEAKER_MIN_INTERVAL_MS, StageSpeaker } from '../../src/sfu/StageSpeaker.js';
import { FakeClock } from '../fakeClock.js';

type Step = [atMs: number, heard: string | null] | [atMs: number, 'left', string];

/** Plays what the room hears at these instants and returns when the featured speaker changed, to whom. */
function play(steps: Step[], untilMs: number): Array<[number, string | null]> {
  const clock = new FakeClock();
  const changes: Array<[number, string | null]> = [];
  const floor = new StageSpeaker({ clock, onChange: (id) => changes.push([clock.now(), id]) });
  for (const step of steps) {
    clock.advance(step[0] - clock.now());
    if (step.length === 3) floor.left(step[2]);
    else floor.heard(step[1]);
  }
  clock.advance(untilMs - clock.now());
  floor.close();
  return changes;
}

const HOLD = SPEAKER_HOLD_MS;
const GAP = SPEAKER_MIN_INTERVAL_MS;

describe('StageSpeaker: the program features a speaker after the hold, at most once per interval (fake clock)', () => {
  const cases: Array<{ name: string; steps: Step[]; until: number; want: Array<[number, string | null]> }> = [
    { name: 'the first speaker takes the floor after the hold', steps: [[0, 'a']], until: 10_000, want: [[HOLD, 'a']] },
    { name: 'a turn shorter than the hold never reaches the program', steps: [[0, 'a'], [HOLD - 1, 'b']], until: HOLD + 100, want: [] },
    {
      name: 'a flip back to the one holding the floor cancels the newcomer',
      steps: [[0, 'a'], [HOLD + 100, 'b'], [HOLD + 1000, 'a'], [HOLD + 1200, 'b']],
      until: HOLD + 1200 + HOLD - 1,
      want: [[HOLD, 'a']],
    },
    {
      name: 'two people taking turns: each turn moves the big tile a hold after it starts',
      steps: [[0, 'a'], [6000, 'b'], [12_000, 'a']],
      until: 20_000,
      want: [[HOLD, 'a'], [6000 + HOLD, 'b'], [12_000 + HOLD, 'a']],
    },
    {
      name: 'a newcomer who holds the floor early waits for the interval since the last change',
      steps: [[0, 'a'], [HOLD + 500, 'b']],
      until: 20_000,
      want: [[HOLD, 'a'], [HOLD + GAP, 'b']],
    },
    {
      name: 'flipping every 300 ms between two people changes nothing after the first turn',
      steps: [[0, 'a'], ...Array.from({ length: 40 }, (_, i): Step => [3000 + i * 300, i % 2 === 0 ? 'b' : 'a'])],
      until: 3000 + 40 * 300,
      want: [[HOLD, 'a']],
    },
    {
      name: 'silence (or a backstage speaker, heard as null) keeps the floor and drops a pending turn',
      steps: [[0, 'a'], [5000, 'b'], [5000 + HOLD - 100, null]],
      until: 20_000,
      want: [[HOLD, 'a']],
    },
    {
      name: 'the speaker leaving gives up the floor (the leave is announced by the room) and the next one takes it after the hold',
      steps: [[0, 'a'], [5000, 'left', 'a'], [5000, 'b']],
      until: 20_000,
      want: [[HOLD, 'a'], [5000 + HOLD, 'b']],
    },
    {
      name: 'a pending newcomer who leaves never takes the floor',
      steps: [[0, 'a'], [5000, 'b'], [5500, 'left', 'b']],
      until: 20_000,
      want: [[HOLD, 'a']],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(play(c.steps, c.until), c.want);
    });
  }

  it('the floor holder is readable at any time; close() cancels a pending change', () => {
    const clock = new FakeClock();
    let calls = 0;
    const floor = new StageSpeaker({ clock, onChange: () => (calls += 1) });
    assert.equal(floor.peerId, null);
    floor.heard('a');
    clock.advance(HOLD);
    assert.equal(floor.peerId, 'a');
    floor.heard('b');
    floor.close();
    clock.advance(60_000);
    assert.equal(floor.peerId, 'a');
    assert.equal(calls, 1);
  });
});
