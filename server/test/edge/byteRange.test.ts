import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ifRangeMatches, parseByteRange, type RangeAnswer } from '../../src/edge/byteRange.js';

describe('parseByteRange: what a Range header asks of a 1000-byte file', () => {
  const full: RangeAnswer = { kind: 'full' };
  const unsatisfiable: RangeAnswer = { kind: 'unsatisfiable' };
  const part = (start: number, end: number): RangeAnswer => ({ kind: 'partial', start, end });
  const rows: Array<[string | undefined, RangeAnswer, string]> = [
    [undefined, full, 'no header: the whole file'],
    ['bytes=0-99', part(0, 99), 'the first 100 bytes'],
    ['bytes=100-199', part(100, 199), 'a middle slice'],
    ['bytes=900-', part(900, 999), 'open-ended: to the end'],
    ['bytes=-100', part(900, 999), 'suffix: the last 100 bytes'],
    ['bytes=-5000', part(0, 999), 'a suffix longer than the file: all of it'],
    ['bytes=990-5000', part(990, 999), 'an end past the file is cut to the last byte'],
    ['bytes=999-999', part(999, 999), 'the last byte alone'],
    ['bytes=1000-', unsatisfiable, 'starts at the size: nothing to send'],
    ['bytes=5000-6000', unsatisfiable, 'starts past the end'],
    ['bytes=-0', unsatisfiable, 'an empty suffix'],
    ['bytes=200-100', full, 'end before start: invalid, ignored'],
    ['bytes=0-1,5-6', full, 'several ranges: the whole file (allowed by RFC 9110)'],
    ['items=0-1', full, 'another unit: ignored'],
    ['bytes=', full, 'no numbers'],
    ['bytes=-', full, 'a lone dash'],
    ['bytes=abc-def', full, 'not numbers'],
    ['bytes=0-9999999999999999999', full, 'a number too long to be an offset'],
    [' Bytes = 10 - 19 ', part(10, 19), 'spaces and letter case'],
  ];
  for (const [header, answer, why] of rows) {
    it(`${JSON.stringify(header)} → ${JSON.stringify(answer)} (${why})`, () => {
      assert.deepEqual(parseByteRange(header, 1000), answer);
    });
  }

  it('an empty file has no range to give', () => {
    assert.deepEqual(parseByteRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseByteRange('bytes=-10', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseByteRange(undefined, 0), { kind: 'full' });
  });
});

describe('ifRangeMatches: the range applies only to the file the client saw', () => {
  const etag = '"3e8-18f"';
  const lastModified = 'Tue, 01 Apr 2026 10:00:00 GMT';
  const rows: Array<[string | undefined, boolean, string]> = [
    [undefined, true, 'no If-Range'],
    [etag, true, 'the same ETag'],
    ['"other"', false, 'another ETag: the file changed'],
    [`W/${etag}`, false, 'a weak ETag never matches (RFC 9110 §13.1.5)'],
    [lastModified, true, 'the same Last-Modified'],
    ['Wed, 02 Apr 2026 10:00:00 GMT', false, 'another date'],
  ];
  for (const [ifRange, matches, why] of rows) {
    it(`${JSON.stringify(ifRange)} → ${matches} (${why})`, () => {
      assert.equal(ifRangeMatches(ifRange, etag, lastModified), matches);
    });
  }
});
