import { describe, expect, it } from 'vitest';
import { niceMax, polylinePoints, retryMarks, timeWindow, type Frame } from '../src/services/sparkline';

const frame = (over: Partial<Frame> = {}): Frame => ({ width: 300, height: 40, tMin: 0, windowSeconds: 300, vMax: 100, ...over });

describe('timeWindow: which 5 minutes the graph shows', () => {
  it.each([
    [[], 0, 'no samples: from 0'],
    [[2, 4, 6], 0, 'younger than the window: from 0, filling from the left'],
    [[296, 298, 300], 0, 'exactly the window'],
    [[400, 402], 102, 'older: ends at the newest sample'],
  ])('%j → tMin %d (%s)', (t, tMin) => {
    expect(timeWindow(t, 300)).toEqual({ tMin, windowSeconds: 300 });
  });
});

describe('niceMax: the top of the value axis', () => {
  it.each([
    [[], 40, 50, 'nothing yet: the floor, rounded up'],
    [[0, 0], 1, 2, 'all zero'],
    [[2480, 2510], 1, 3000, 'bitrate around 2.5 Mb/s'],
    [[30, 29.9], 40, 50, 'fps under the floor'],
    [[Number.NaN, 10], 1, 20, 'a NaN is ignored'],
  ])('%j, floor %d → %d (%s)', (values, floor, top) => {
    expect(niceMax(values, floor)).toBe(top);
  });
});

describe('polylinePoints: samples → "x,y" pairs', () => {
  it.each([
    [[0, 150, 300], [0, 50, 100], frame(), '0,40 150,20 300,0', 'left to right, 0 at the bottom, vMax at the top'],
    [[0, 150], [200, -5], frame(), '0,0 150,40', 'values are clamped to the axis'],
    [[90, 100, 200], [10, 20, 30], frame({ tMin: 100, windowSeconds: 100 }), '0,32 300,28', 'samples before the window are left out'],
    [[0, 1], [10], frame(), '0,36', 'arrays of different lengths stop at the shorter'],
    [[], [], frame(), '', 'no samples, no points'],
  ])('%j %j → %s (%s)', (t, v, f, points) => {
    expect(polylinePoints(t, v, f)).toBe(points);
  });
});

describe('retryMarks: where the retry count steps up', () => {
  const f = frame({ width: 6, windowSeconds: 6 });
  it.each([
    [[0, 2, 4, 6], [0, 0, 1, 1], f, [4], 'one retry'],
    [[0, 2, 4, 6], [0, 1, 3, 3], f, [2, 4], 'two steps, one of two retries'],
    [[0, 2], [2, 2], f, [], 'retries from before the first sample are not marked'],
    [[10, 20], [0, 1], frame({ tMin: 30 }), [], 'a step before the window'],
  ])('%j %j → %j (%s)', (t, retries, fr, marks) => {
    expect(retryMarks(t, retries, fr)).toEqual(marks);
  });
});
