import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BroadcastLayout } from '@onair/shared';
import { buildComposerArgs, buildFilterGraph, encoderArgs, DEFAULT_FONT_FILE } from '../../src/composer/ffmpegArgs.js';
import { effectiveLayout, FRAME_SIZES, featuredRects, gridRects, gridShape, type Rect } from '../../src/composer/layout.js';
import { compositionKey, planComposition, type PlanParticipant } from '../../src/composer/plan.js';
import { simulcastLayerFor } from '../../src/composer/Composer.js';
import { buildSdp } from '../../src/composer/sdp.js';

const frame = FRAME_SIZES['720p'];

function people(n: number, opts: { camera?: (i: number) => boolean; mic?: boolean; screenAt?: number } = {}): PlanParticipant[] {
  return Array.from({ length: n }, (_, i) => ({
    peerId: `p${i}`,
    displayName: `Person ${i}`,
    camera: (opts.camera?.(i) ?? true) ? `cam${i}` : null,
    screen: opts.screenAt === i ? `scr${i}` : null,
    mic: opts.mic === false ? null : `mic${i}`,
  }));
}

function plan(participants: PlanParticipant[], layout: BroadcastLayout = 'grid', extra: { title?: string; lowerThird?: string; speakerId?: string } = {}) {
  return planComposition({
    participants,
    layout,
    speakerId: extra.speakerId ?? null,
    resolution: '720p',
    title: extra.title ?? null,
    lowerThird: extra.lowerThird ?? null,
    slateText: 'Starting soon',
  });
}

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

describe('composition plan', () => {
  it('leaves paused cameras out of the inputs and gives them a name tile', () => {
    const c = plan(people(3, { camera: (i) => i !== 1 }));
    assert.deepEqual(c.inputs.map((i) => i.producerId), ['cam0', 'cam2', 'mic0', 'mic1', 'mic2']);
    assert.deepEqual(c.tiles.map((t) => t.content.kind), ['video', 'name', 'video']);
    assert.deepEqual(c.audio, [2, 3, 4]);
    assert.equal(c.slate, null);
  });

  it('shows the slate when nobody sends video, still mixing the microphones', () => {
    const c = plan(people(2, { camera: () => false }));
    assert.equal(c.slate, 'Starting soon');
    assert.equal(c.tiles.length, 0);
    assert.deepEqual(c.inputs.map((i) => i.kind), ['audio', 'audio']);
  });

  it('auto puts a screen share large with the cameras in a strip', () => {
    const c = plan(people(3, { screenAt: 2 }), 'auto');
    assert.equal(c.layout, 'screen');
    assert.equal(c.inputs[0]?.producerId, 'scr2');
    assert.deepEqual(c.tiles[0]?.rect, { x: 0, y: 0, w: 1280, h: 540 });
    assert.equal(c.tiles.length, 4);
  });

  it('speaker layout features the given speaker', () => {
    const c = plan(people(3), 'speaker', { speakerId: 'p2' });
    assert.equal(c.inputs[0]?.producerId, 'cam2');
    assert.equal(c.tiles[0]?.rect.h, 540);
  });

  it('caps the picture at 9 tiles but mixes everyone', () => {
    const c = plan(people(12));
    assert.equal(c.tiles.length, 9);
    assert.equal(c.audio.length, 12);
  });

  it('equal inputs give equal keys; a muted mic or a new title changes the key', () => {
    const base = compositionKey(plan(people(2)));
    assert.equal(compositionKey(plan(people(2))), base);
    assert.notEqual(compositionKey(plan(people(2, { mic: false }))), base);
    assert.notEqual(compositionKey(plan(people(2), 'grid', { title: 'Hi' })), base);
  });
});

describe('filter graph', () => {
  for (let n = 1; n <= 9; n += 1) {
    for (const layout of ['grid', 'speaker'] as const) {
      it(`${layout} with ${n} tile(s): one chain per tile, stacked, fps right after stacking`, () => {
        const c = plan(people(n), layout);
        const { graph, texts } = buildFilterGraph(c, { fontFile: DEFAULT_FONT_FILE, textDir: '/tmp/x' });
        for (let i = 0; i < n; i += 1) assert.ok(graph.includes(`[t${i}]`));
        if (n > 1) assert.match(graph, new RegExp(`xstack=inputs=${n}:layout=[0-9_|]+:fill=black(,pad=[^\\[]+)?\\[stacked\\];\\[stacked\\]fps=30`));
        else assert.match(graph, /\[t0\]fps=30/);
        assert.match(graph, /force_original_aspect_ratio=decrease,pad=/);
        assert.match(graph, new RegExp(`amix=inputs=${n}:normalize=0`.replace('amix=inputs=1:normalize=0', 'aresample')));
        assert.equal(texts.length, n, 'one name per tile');
        assert.ok(graph.endsWith('[aout]'));
        assert.match(graph, /format=yuv420p\[vout\]/);
      });
    }
  }

  it('no audio at all: silence from anullsrc', () => {
    const { graph } = buildFilterGraph(plan(people(2, { mic: false })), { fontFile: null, textDir: '/tmp' });
    assert.match(graph, /anullsrc=r=48000:cl=stereo,aformat/);
    assert.doesNotMatch(graph, /arealtime/);
  });

  it('nothing at all: slate and silence paced in real time', () => {
    const { graph, texts } = buildFilterGraph(plan([]), { fontFile: DEFAULT_FONT_FILE, textDir: '/tmp' });
    assert.match(graph, /color=c=0x111827:s=1280x720:r=30,realtime,drawtext/);
    assert.match(graph, /anullsrc=r=48000:cl=stereo,arealtime/);
    assert.deepEqual(texts.map((t) => t.text), ['Starting soon']);
  });

  it('names, titles and lower thirds go through text files, never into the graph', () => {
    const evil = [{ peerId: 'x', displayName: "O'Brien: [a];b,c %{pts}", camera: 'c', screen: null, mic: null }];
    const { graph, texts } = buildFilterGraph(plan(evil, 'grid', { title: 'T:1', lowerThird: "it's live" }), { fontFile: DEFAULT_FONT_FILE, textDir: '/tmp/t' });
    assert.doesNotMatch(graph, /O'Brien|it's/);
    assert.deepEqual(texts.map((t) => t.text), ["O'Brien: [a];b,c %{pts}", 'T:1', "it's live"]);
    assert.match(graph, /expansion=none/);
  });

  it('without a font there is no drawtext', () => {
    const { graph, texts } = buildFilterGraph(plan(people(3)), { fontFile: null, textDir: '/tmp' });
    assert.doesNotMatch(graph, /drawtext/);
    assert.equal(texts.length, 0);
  });
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

  it('reads one SDP with the rtp whitelist and writes FLV to stdout', () => {
    const args = buildComposerArgs({ sdpPath: '/tmp/a.sdp', filterGraph: 'G', resolution: '720p' });
    const joined = args.join(' ');
    assert.ok(joined.includes('-protocol_whitelist file,udp,rtp'));
    assert.ok(joined.includes('-f sdp -i /tmp/a.sdp'));
    assert.ok(joined.includes('-filter_complex G -map [vout] -map [aout]'));
    assert.deepEqual(args.slice(-5), ['-f', 'flv', '-flvflags', 'no_duration_filesize+no_sequence_end', 'pipe:1']);
    assert.ok(!buildComposerArgs({ sdpPath: null, filterGraph: 'G', resolution: '720p' }).includes('-i'));
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

describe('filter graphs run in the real ffmpeg', () => {
  const cases: Array<[string, PlanParticipant[], BroadcastLayout]> = [
    ['grid of 1', people(1), 'grid'],
    ['grid of 4 with a name tile', people(4, { camera: (i) => i !== 2 }), 'grid'],
    ['grid of 9', people(9), 'grid'],
    ['speaker of 5', people(5), 'speaker'],
    ['screen share with 2 cameras', people(2, { screenAt: 0 }), 'auto'],
    ['slate, one microphone', people(1, { camera: () => false }), 'grid'],
    ['slate, no microphone', people(1, { camera: () => false, mic: false }), 'grid'],
  ];
  for (const [name, participants, layout] of cases) {
    it(`${name}: ffmpeg accepts the graph and produces 1280x720 frames`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'onair-graph-'));
      try {
        const c = plan(participants, layout, { title: 'Title', lowerThird: 'Lower third' });
        const { graph, texts } = buildFilterGraph(c, { fontFile: DEFAULT_FONT_FILE, textDir: dir });
        for (const t of texts) writeFileSync(t.path, t.text);
        // Stand in for the RTP inputs: one lavfi input with one output per m-line.
        const sources = c.inputs.map((input, i) => (input.kind === 'video' ? `testsrc2=s=320x240:r=30[out${i}]` : `sine=f=${300 + i * 100}:r=48000[out${i}]`));
        const inputArgs = sources.length > 0 ? ['-f', 'lavfi', '-i', sources.join(';')] : [];
        const run = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', ...inputArgs, '-filter_complex', graph, '-map', '[vout]', '-map', '[aout]', '-frames:v', '10', '-f', 'null', '-'], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(run.status, 0, run.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('simulcastLayerFor', () => {
  for (const [what, participants, layout, input, expected] of [
    ['one person filling the frame', people(1), 'grid', 0, 2],
    ['two people side by side', people(2), 'grid', 0, 1],
    ['a 2x2 grid tile', people(4), 'grid', 3, 1],
    ['a 3x3 grid tile', people(9), 'grid', 8, 1],
    ['the featured speaker', people(4), 'speaker', 0, 2],
    ['a thumbnail in the speaker strip', people(4), 'speaker', 1, 0],
  ] as const) {
    it(`picks layer ${expected} for ${what}`, () => {
      assert.equal(simulcastLayerFor(plan([...participants], layout), input, 3), expected);
    });
  }

  it('never asks for a layer the producer does not send', () => {
    assert.equal(simulcastLayerFor(plan(people(1)), 0, 2), 1);
    assert.equal(simulcastLayerFor(plan(people(1)), 0, 1), 0);
  });
});
