import { describe, expect, it } from 'vitest';
import { Backoff, RECONNECT_POLICY, TRANSITIONS, transition, type RoomEvent, type RoomState } from '../src/composables/meeting/machine';

const STATES: RoomState[] = ['idle', 'joining', 'joined', 'reconnecting', 'closed'];
const EVENTS: RoomEvent[] = ['join', 'ready', 'lost', 'end', 'reset'];

describe('the meeting state machine', () => {
  it.each([
    ['idle', 'join', 'joining'],
    ['joining', 'ready', 'joined'],
    ['joining', 'end', 'closed'],
    ['joined', 'lost', 'reconnecting'],
    ['joined', 'end', 'closed'],
    ['reconnecting', 'ready', 'joined'],
    ['reconnecting', 'end', 'closed'],
    ['closed', 'reset', 'idle'],
  ] as const)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  it('refuses every other event in every state', () => {
    let allowed = 0;
    for (const state of STATES) {
      for (const event of EVENTS) {
        const next = transition(state, event);
        if (TRANSITIONS[state][event]) allowed++;
        else expect(next, `${state} --${event}-->`).toBeNull();
      }
    }
    expect(allowed).toBe(8);
  });
});

describe('reconnect backoff', () => {
  it('waits 1 s, then doubles up to 10 s, and gives up after about two minutes', () => {
    let now = 0;
    const backoff = new Backoff(RECONNECT_POLICY, now);
    const waits: number[] = [];
    for (;;) {
      waits.push(backoff.nextDelayMs);
      now += backoff.nextDelayMs + 100; // the attempt itself takes 100 ms and fails
      if (!backoff.failed(now)) break;
    }
    expect(waits.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    expect(now).toBeLessThanOrEqual(RECONNECT_POLICY.giveUpMs + RECONNECT_POLICY.maxDelayMs);
    expect(now).toBeGreaterThan(RECONNECT_POLICY.giveUpMs - RECONNECT_POLICY.maxDelayMs);
  });

  it('tries again at once after a renewed token, then starts over at the first delay', () => {
    const backoff = new Backoff(RECONNECT_POLICY, 0);
    backoff.failed(1000);
    backoff.immediately();
    expect(backoff.nextDelayMs).toBe(0);
    backoff.failed(1100);
    expect(backoff.nextDelayMs).toBe(1000);
  });
});
