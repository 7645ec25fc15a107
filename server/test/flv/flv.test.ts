import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  flvHeader,
  FlvParser,
  isAacSequenceHeader,
  isAvcSequenceHeader,
  isVideoKeyframe,
  serializeTag,
  TAG_AUDIO,
  TAG_SCRIPT,
  TAG_VIDEO,
  type FlvTag,
} from '../../src/flv/flv.js';
import { FlvRelay, type FlvSink } from '../../src/flv/FlvRelay.js';

const avcHeader = (marker = 1): FlvTag => ({ type: TAG_VIDEO, timestamp: 0, data: Buffer.from([0x17, 0, 0, 0, 0, marker]) });
const aacHeader = (): FlvTag => ({ type: TAG_AUDIO, timestamp: 0, data: Buffer.from([0xaf, 0, 0x11, 0x90]) });
const keyframe = (ts: number): FlvTag => ({ type: TAG_VIDEO, timestamp: ts, data: Buffer.from([0x17, 1, 0, 0, 0, 9]) });
const interframe = (ts: number): FlvTag => ({ type: TAG_VIDEO, timestamp: ts, data: Buffer.from([0x27, 1, 0, 0, 0, 8]) });
const audio = (ts: number): FlvTag => ({ type: TAG_AUDIO, timestamp: ts, data: Buffer.from([0xaf, 1, 7, 7]) });
const metadata = (): FlvTag => ({ type: TAG_SCRIPT, timestamp: 0, data: Buffer.from([2, 0, 10, ...Buffer.from('onMetaData')]) });

/** A sink that parses what it receives back into tags. */
function collectingSink(id: string): FlvSink & { tags: FlvTag[]; parser: FlvParser } {
  const parser = new FlvParser();
  const tags: FlvTag[] = [];
  return { id, tags, parser, write: (chunk) => tags.push(...parser.push(chunk)) };
}

describe('FLV parser', () => {
  it('parses tags split across arbitrary chunk boundaries', () => {
    const input = [metadata(), avcHeader(), aacHeader(), keyframe(0), audio(21), interframe(33), { ...interframe(0x1234567), timestamp: 0x1234567 }];
    const bytes = Buffer.concat([flvHeader(), ...input.map(serializeTag)]);
    for (const step of [1, 7, 13, 100, bytes.length]) {
      const parser = new FlvParser();
      const out: FlvTag[] = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...parser.push(bytes.subarray(i, i + step)));
      assert.deepEqual(out.map((t) => [t.type, t.timestamp, t.data.toString('hex')]), input.map((t) => [t.type, t.timestamp, t.data.toString('hex')]));
      assert.equal(parser.header?.length, 13);
    }
  });

  it('rejects a stream that is not FLV', () => {
    assert.throws(() => new FlvParser().push(Buffer.from('this is not flv at all')));
  });

  it('recognises sequence headers and keyframes', () => {
    assert.equal(isAvcSequenceHeader(avcHeader()), true);
    assert.equal(isVideoKeyframe(avcHeader()), false);
    assert.equal(isVideoKeyframe(keyframe(0)), true);
    assert.equal(isVideoKeyframe(interframe(0)), false);
    assert.equal(isAacSequenceHeader(aacHeader()), true);
    assert.equal(isAacSequenceHeader(audio(0)), false);
  });
});

describe('FlvRelay', () => {
  function feed(relay: FlvRelay, source: string, tags: FlvTag[]): void {
    for (const tag of tags) relay.push(source, tag);
  }

  it('starts the output at the first keyframe with timestamp 0', () => {
    const relay = new FlvRelay();
    const sink = collectingSink('s');
    relay.addSink(sink);
    relay.expect('a');
    feed(relay, 'a', [metadata(), avcHeader(), aacHeader(), audio(480), keyframe(500), audio(521), interframe(533)]);
    assert.equal(sink.parser.header?.length, 13);
    const media = sink.tags.filter((t) => t.type !== TAG_SCRIPT);
    assert.deepEqual(media.map((t) => t.timestamp), [0, 0, 0, 21, 33]);
    assert.equal(isAvcSequenceHeader(media[0]!), true);
    assert.equal(isAacSequenceHeader(media[1]!), true);
  });

  it('keeps forwarding the old source until the new one sends a keyframe, then continues the timeline', () => {
    let now = 0;
    const relay = new FlvRelay({ now: () => now });
    const sink = collectingSink('s');
    relay.addSink(sink);
    const switched: string[] = [];
    relay.on('switched', (info) => switched.push(`${info.from}->${info.to}`));
    relay.expect('a');
    feed(relay, 'a', [avcHeader(1), aacHeader(), keyframe(0), audio(10), interframe(33), interframe(66)]);
    now = 1000;
    relay.expect('b');
    // b starts at its own clock (5000) and sends audio before its first keyframe.
    feed(relay, 'b', [avcHeader(2), aacHeader(), audio(4990), interframe(4995)]);
    feed(relay, 'a', [interframe(100)]);
    now = 1040;
    feed(relay, 'b', [keyframe(5000), audio(5010), interframe(5033)]);
    feed(relay, 'a', [interframe(133)]); // after the switch: ignored
    assert.deepEqual(switched, ['null->a', 'a->b']);
    const out = sink.tags.filter((t) => t.type === TAG_VIDEO && !isAvcSequenceHeader(t)).map((t) => t.timestamp);
    assert.deepEqual(out, [0, 33, 66, 100, 133, 166]);
    const headers = sink.tags.filter(isAvcSequenceHeader);
    assert.equal(headers.length, 2, 'the new AVC sequence header is sent at the switch');
    assert.equal(headers[1]!.data.at(-1), 2);
    const timestamps = sink.tags.map((t) => t.timestamp);
    for (let i = 1; i < timestamps.length; i += 1) assert.ok(timestamps[i]! >= timestamps[i - 1]! - 40, 'no large backwards jump');
    const stats = relay.stats();
    assert.equal(stats.switches, 2);
    assert.equal(stats.lastSwitchGapMs, 40);
    assert.equal(stats.lastSwitchTimestampGapMs, 33);
    assert.equal(stats.activeSource, 'b');
  });

  it('gives a late sink the header, metadata and sequence headers, then the cached GOP at once and what follows', () => {
    const relay = new FlvRelay();
    relay.expect('a');
    feed(relay, 'a', [metadata(), avcHeader(), aacHeader(), keyframe(0), interframe(33), audio(40)]);
    const late = collectingSink('late');
    relay.addSink(late);
    feed(relay, 'a', [interframe(66), audio(70), keyframe(2000), interframe(2033)]);
    assert.equal(late.parser.header?.length, 13);
    assert.deepEqual(late.tags.map((t) => (t.type === TAG_SCRIPT ? 'meta' : isAvcSequenceHeader(t) ? 'avc' : isAacSequenceHeader(t) ? 'aac' : isVideoKeyframe(t) ? `K${t.timestamp}` : `${t.type}@${t.timestamp}`)), [
      'meta', 'avc', 'aac', 'K0', '9@33', '8@40', '9@66', '8@70', 'K2000', '9@2033',
    ]);
  });

  it('a late sink with no GOP cached yet waits for the next keyframe', () => {
    const relay = new FlvRelay();
    relay.expect('a');
    feed(relay, 'a', [metadata(), avcHeader(), aacHeader()]);
    const late = collectingSink('late');
    relay.addSink(late);
    feed(relay, 'a', [interframe(10), keyframe(33), interframe(66)]);
    // The first keyframe starts the output timeline at 0.
    assert.deepEqual(late.tags.filter((t) => t.type === TAG_VIDEO && !isAvcSequenceHeader(t)).map((t) => t.timestamp), [0, 33]);
  });

  it('a sink added before any source is initialised at the first switch', () => {
    const relay = new FlvRelay();
    const sink = collectingSink('early');
    relay.addSink(sink);
    assert.equal(sink.tags.length, 0);
    assert.equal(sink.parser.header, null);
    relay.expect('a');
    feed(relay, 'a', [avcHeader(), aacHeader(), keyframe(7)]);
    assert.ok(sink.parser.header);
    assert.equal(sink.tags.filter(isVideoKeyframe).length, 1);
  });

  it('after the live source is dropped (crash) the next source continues the timeline', () => {
    const relay = new FlvRelay();
    const sink = collectingSink('s');
    relay.addSink(sink);
    relay.expect('a');
    feed(relay, 'a', [avcHeader(), aacHeader(), keyframe(0), interframe(33)]);
    relay.dropSource('a');
    feed(relay, 'a', [interframe(66)]);
    relay.expect('b');
    feed(relay, 'b', [avcHeader(), aacHeader(), keyframe(0), interframe(33)]);
    const video = sink.tags.filter((t) => t.type === TAG_VIDEO && !isAvcSequenceHeader(t)).map((t) => t.timestamp);
    assert.deepEqual(video, [0, 33, 66, 99]);
  });

  it('drops the AVC end-of-sequence tag of a source', () => {
    const relay = new FlvRelay();
    const sink = collectingSink('s');
    relay.addSink(sink);
    relay.expect('a');
    feed(relay, 'a', [avcHeader(), aacHeader(), keyframe(0), { type: TAG_VIDEO, timestamp: 40, data: Buffer.from([0x17, 2, 0, 0, 0]) }]);
    assert.equal(sink.tags.some((t) => t.data[1] === 2), false);
  });

  it('tags from an unknown source are ignored and removed sinks get nothing more', () => {
    const relay = new FlvRelay();
    const sink = collectingSink('s');
    relay.addSink(sink);
    feed(relay, 'x', [avcHeader(), keyframe(0)]);
    assert.equal(sink.tags.length, 0);
    relay.expect('a');
    feed(relay, 'a', [avcHeader(), aacHeader(), keyframe(0)]);
    const count = sink.tags.length;
    relay.removeSink('s');
    feed(relay, 'a', [interframe(33)]);
    assert.equal(sink.tags.length, count);
  });
});
