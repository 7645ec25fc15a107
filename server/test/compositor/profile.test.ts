import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastLayout } from '@onair/shared';
import { encoderArgs } from '../../src/compositor/profile.js';
import { effectiveLayout, FRAME_SIZES, featuredRects, gridRects, gridShape, type Rect } from '../../src/compositor/layout.js';
import { buildSdp } from '../../src/media/sdp.js';

const frame = FRAME_SIZES['720p'];
const inside = (r: Rect): boolean => r.x >= 0 && r.y >= 0 && r.x + r.w <= frame.width && r.y + r.h <= frame.height;
const overlap = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('layout geometry', () => {
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [2, 2, 1], [3, 2, 2], [4, 2, 2], [5, 3, 2], [6, 3, 2], [7, 3, 3], [8, 3, 3], [9, 3, 3]];
  for (const [n, cols, rows] of shapes) {
    it(`grid of ${n}: ${cols}×${rows}, even sizes, inside the frame, no overlap`, () => {
      assert.deepEqual(gridShape(n), { cols, rows });
      const rects = gridRects(n, frame);
      assert.equal(rects.length, n);
      for (const r of rects) {
        assert.ok(inside(r), JSON.stringify(r));
        assert.equal(r.w % 2, 0);
        assert.equal(r.h % 2, 0);
      }
      for (let i = 0; i < n; i += 1) for (let j = i + 1; j < n; j += 1) assert.equal(overlap(rects[i]!, rects[j]!), false);
    });
  }

  for (let n = 1; n <= 9; n += 1) {
    it(`featured layout of ${n}: one large tile on top, the others in a strip below`, () => {
      const rects = featuredRects(n, frame);
      assert.equal(rects.length, n);
      const [main, ...strip] = rects;
      assert.ok(main);
      if (n === 1) assert.deepEqual(main, { x: 0, y: 0, w: 1280, h: 720 });
      else assert.deepEqual(main, { x: 0, y: 0, w: 1280, h: 540 });
      for (const r of strip) {
        assert.ok(inside(r));
        assert.equal(r.y, 540);
        assert.ok(r.w * r.h < main.w * main.h);
      }
    });
  }

  const effective: Array<[BroadcastLayout, boolean, string]> = [
    ['auto', false, 'grid'], ['auto', true, 'screen'], ['screen', false, 'grid'], ['screen', true, 'screen'],
    ['speaker', true, 'speaker'], ['grid', true, 'grid'],
  ];
  for (const [layout, hasScreen, expected] of effective) {
    it(`${layout} with${hasScreen ? '' : 'out'} a screen share draws ${expected}`, () => {
      assert.equal(effectiveLayout(layout, hasScreen), expected);
    });
  }
});


describe('ffmpeg arguments', () => {
  it('720p: H.264 high 4.1, 4000k CBR-ish, 2 s GOP, AAC 48 kHz stereo 128k', () => {
    const args = encoderArgs('720p').join(' ');
    for (const part of [
      '-c:v libx264', '-preset veryfast', '-tune zerolatency', '-profile:v high', '-level:v 4.1', '-pix_fmt yuv420p',
      '-b:v 4000k', '-maxrate 4000k', '-bufsize 8000k', '-g 60', '-keyint_min 60', '-sc_threshold 0',
      '-force_key_frames expr:gte(t,n_forced*2)', '-c:a aac', '-b:a 128k', '-ar 48000', '-ac 2',
    ]) assert.ok(args.includes(part), part);
  });

  it('1080p uses 6000k', () => {
    assert.ok(encoderArgs('1080p').join(' ').includes('-b:v 6000k -maxrate 6000k -bufsize 12000k'));
  });

  it("the vertical program's encoder differs from the 16:9 one only in x264's preset and parameters (same bitrate, GOP, profile, audio)", () => {
    for (const resolution of ['720p', '1080p'] as const) {
      const x264 = (args: string[]) => args.filter((a, i) => a !== '-preset' && a !== '-x264-params' && args[i - 1] !== '-preset' && args[i - 1] !== '-x264-params');
      const vertical = encoderArgs(resolution, 'vertical');
      assert.deepEqual(x264(vertical), x264(encoderArgs(resolution)), resolution);
      assert.ok(vertical.join(' ').includes('-preset ultrafast -x264-params 8x8dct=1:deblock=0,0'), resolution);
    }
  });

});

describe('SDP', () => {
  it('one m-line per input with rtpmap, fmtp and the RTCP port', () => {
    const sdp = buildSdp([
      { kind: 'video', port: 30000, payloadType: 101, mimeType: 'video/VP8', clockRate: 90000 },
      { kind: 'video', port: 30002, payloadType: 103, mimeType: 'video/H264', clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 } },
      { kind: 'audio', port: 30004, payloadType: 100, mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } },
    ]);
    const lines = sdp.trim().split('\n');
    assert.equal(lines[0], 'v=0');
    assert.equal(lines.filter((l) => l.startsWith('m=')).length, 3);
    for (const expected of [
      'm=video 30000 RTP/AVP 101', 'a=rtpmap:101 VP8/90000', 'a=rtcp:30001',
      'm=video 30002 RTP/AVP 103', 'a=rtpmap:103 H264/90000', 'a=fmtp:103 packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1',
      'm=audio 30004 RTP/AVP 100', 'a=rtpmap:100 opus/48000/2', 'a=fmtp:100 useinbandfec=1',
    ]) assert.ok(lines.includes(expected), expected);
  });
});

