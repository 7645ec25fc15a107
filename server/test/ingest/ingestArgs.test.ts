import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildIngestArgs, LOW_LATENCY_INPUT } from '../../src/ingest/ingestArgs.js';

const video = { port: 40000, rtcpPort: 40001, payloadType: 102, ssrc: 1234 };
const audio = { port: 40002, rtcpPort: 40003, payloadType: 111, ssrc: 5678 };
const flv = ['-f', 'flv', '-i', 'pipe:0'];

/** The value after a flag, within the part of the command line that starts at `from`. */
function after(args: string[], flag: string, from = 0): string | undefined {
  const i = args.indexOf(flag, from);
  return i < 0 ? undefined : args[i + 1];
}

describe('buildIngestArgs', () => {
  for (const { name, input, check } of [
    {
      name: 'H.264 passthrough copies the video with SPS/PPS before each keyframe, AAC becomes Opus',
      input: { inputArgs: flv, video: { handling: 'passthrough' as const, target: video }, audio: { target: audio } },
      check: (args: string[]) => {
        assert.equal(after(args, '-c:v'), 'copy');
        assert.equal(after(args, '-bsf:v'), 'h264_mp4toannexb');
        assert.equal(after(args, '-c:a'), 'libopus');
        assert.ok(args.includes('rtp://127.0.0.1:40000?rtcpport=40001&pkt_size=1200'));
        assert.ok(args.includes('rtp://127.0.0.1:40002?rtcpport=40003&pkt_size=1200'));
        assert.equal(after(args, '-ssrc'), '1234');
        assert.equal(after(args, '-ssrc', args.indexOf('-c:a')), '5678');
      },
    },
    {
      name: 'transcode encodes VP8 in real time with a keyframe every second at the frame rate',
      input: { inputArgs: flv, video: { handling: 'transcode' as const, target: video }, audio: null, fps: 25 },
      check: (args: string[]) => {
        assert.equal(after(args, '-c:v'), 'libvpx');
        assert.equal(after(args, '-deadline'), 'realtime');
        assert.equal(after(args, '-g'), '25');
        assert.equal(after(args, '-lag-in-frames'), '0');
        assert.ok(!args.includes('-c:a'), 'no audio output for a source without audio');
      },
    },
    {
      name: 'audio only maps no video',
      input: { inputArgs: flv, video: null, audio: { target: audio } },
      check: (args: string[]) => {
        assert.ok(!args.includes('0:v:0'));
        assert.equal(after(args, '-map'), '0:a:0');
      },
    },
  ]) {
    it(name, () => {
      const args = buildIngestArgs(input);
      // The low-latency input flags come right before the caller's input.
      const i = args.indexOf('-i');
      assert.deepEqual(args.slice(i - 2 - LOW_LATENCY_INPUT.length, i - 2), LOW_LATENCY_INPUT);
      assert.ok(args.includes('+nobuffer+genpts'));
      check(args);
    });
  }
});
