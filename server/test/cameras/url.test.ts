import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { videoHandling } from '../../src/cameras/CameraPuller.js';
import { classifyCameraFailure } from '../../src/cameras/failures.js';
import { parseStreams } from '../../src/cameras/probe.js';
import { cameraInput, maskCameraUrl, parseCameraUrl, withCredentials } from '../../src/cameras/url.js';
import { AppError } from '../../src/errors.js';
import { redact } from '../../src/logger.js';

describe('parseCameraUrl', () => {
  const valid: Array<[string, string, { username: string; password: string } | null, number]> = [
    ['rtsp://192.168.1.20:554/stream1', 'rtsp://192.168.1.20:554/stream1', null, 554],
    ['  rtsp://cam.local/live/ch1?subtype=0  ', 'rtsp://cam.local/live/ch1?subtype=0', null, 554],
    ['rtsp://admin:p%40ss%3Aw@10.0.0.5/s', 'rtsp://10.0.0.5/s', { username: 'admin', password: 'p@ss:w' }, 554],
    ['rtsp://viewer@10.0.0.5:8554/s', 'rtsp://10.0.0.5:8554/s', { username: 'viewer', password: '' }, 8554],
    ['rtsps://cam.example/s', 'rtsps://cam.example/s', null, 322],
    ['RTSP://[::1]:8554/s', 'rtsp://[::1]:8554/s', null, 8554],
  ];
  for (const [input, url, credentials, port] of valid) {
    it(`accepts ${input.trim()}`, () => {
      const parsed = parseCameraUrl(input);
      assert.equal(parsed.address.url, url);
      assert.deepEqual(parsed.credentials, credentials);
      assert.equal(parsed.address.port, port);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /^url must not be empty/],
    ['http://cam.local/s', /^url must start with rtsp:\/\/ or rtsps:\/\/ \(it starts with http:\)/],
    ['rtmp://cam.local/s', /it starts with rtmp:/],
    ['cam.local/s', /^url must start with rtsp:\/\/ or rtsps:\/\//],
    ['rtsp:cam.local/s', /^url must have \/\/ after rtsp:/],
    ['rtsp://', /^url (has no host name|is not a valid address)/],
    ['rtsp://cam.local:70000/s', /^url (has a port|is not a valid address)/],
    ['rtsp://cam local/s', /^url must not contain spaces/],
    ['rtsp://cam.local/s#x', /^url must not contain #/],
    ['rtsp://u:%zz@cam.local/s', /^url has a user name or password with a broken %-escape|^url is not a valid address/],
  ];
  for (const [input, words] of invalid) {
    it(`refuses ${JSON.stringify(input)} with INVALID_RTSP_URL naming the field`, () => {
      assert.throws(() => parseCameraUrl(input), (e: unknown) => e instanceof AppError && e.code === 'INVALID_RTSP_URL' && words.test(e.message));
    });
  }
});

describe('camera URLs with credentials', () => {
  it('puts credentials back percent-encoded (quotes, spaces, @ and : included)', () => {
    assert.equal(withCredentials('rtsp://h/s', { username: "it's me", password: 'a@b:c!' }), 'rtsp://it%27s%20me:a%40b%3Ac%21@h/s');
    assert.equal(withCredentials('rtsp://h/s', { username: 'u', password: '' }), 'rtsp://u@h/s');
    assert.equal(withCredentials('rtsp://h/s', null), 'rtsp://h/s');
  });

  it('masks them for people and logs', () => {
    assert.equal(maskCameraUrl('rtsp://10.0.0.5/s', true), 'rtsp://••••:••••@10.0.0.5/s');
    assert.equal(maskCameraUrl('rtsp://10.0.0.5/s', false), 'rtsp://10.0.0.5/s');
    assert.equal(redact("[concat] Impossible to open 'rtsp://admin:hunter2@10.0.0.5/s'"), "[concat] Impossible to open 'rtsp://••••@10.0.0.5/s'");
  });

  it('hands ffmpeg the URL in an ffconcat script on stdin, never in its arguments', () => {
    const { args, stdin } = cameraInput('rtsp://10.0.0.5/s', { username: 'admin', password: "pa'ss" }, 'udp');
    assert.ok(!args.join(' ').includes('pa'), 'no credential in the arguments');
    assert.deepEqual(args.slice(-2), ['-i', 'pipe:0']);
    assert.match(stdin, /^ffconcat version 1\.0\nfile 'rtsp:\/\/admin:pa%27ss@10\.0\.0\.5\/s'\noption rtsp_transport udp\n/);
  });
});

describe('what ffmpeg says, in plain words', () => {
  const address = parseCameraUrl('rtsp://10.0.0.5:8554/s').address;
  const cases: Array<[string, string, RegExp]> = [
    ['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', 'unauthorized', /^The camera refused the user name or password\.$/],
    ['pipe:0: Server returned 404 Not Found', 'not_found', /no stream at this path/],
    ['[tcp @ 0x1] Connection to tcp://10.0.0.5:8554?timeout=0 failed: Connection refused', 'refused', /^Nothing answers at 10\.0\.0\.5:8554/],
    ['[tcp @ 0x1] Failed to resolve hostname cam.invalid: Name or service not known', 'unknown_host', /could not be found/],
    ['[tcp @ 0x1] Connection to tcp://10.0.0.5:8554 failed: Connection timed out', 'timeout', /did not answer in time/],
    ['[tcp @ 0x1] Connection to tcp://10.0.0.5:8554 failed: No route to host', 'unreachable', /cannot be reached/],
    ['pipe:0: Invalid data found when processing input', 'not_rtsp', /does not speak RTSP/],
    ['[rtsp @ 0x1] Unsupported codec with id 0 for input stream 0', 'unsupported_codec', /H\.264/],
  ];
  for (const [line, code, words] of cases) {
    it(`${code}: ${line.slice(0, 60)}`, () => {
      const failure = classifyCameraFailure([line], address);
      assert.equal(failure.code, code);
      assert.match(failure.message, words);
    });
  }
  it('a camera that was live and ends says it stopped sending', () => {
    assert.equal(classifyCameraFailure(['ffmpeg exited (code 0)'], address, true).code, 'ended');
  });
});

describe('the streams a camera sends', () => {
  it('reads codec and profile from ffmpeg’s description', () => {
    const streams = parseStreams([
      '  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(tv, smpte170m, progressive), 640x360 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 90k tbn',
      '  Stream #0:1: Audio: pcm_alaw, 8000 Hz, mono, s16, 64 kb/s',
    ]);
    assert.deepEqual(streams, { videoCodec: 'h264', videoProfile: 'Constrained Baseline', audioCodec: 'pcm_alaw' });
    assert.equal(parseStreams(['At least one output file must be specified']), null);
  });
  const handling: Array<[string, string | null, 'passthrough' | 'transcode' | null]> = [
    ['h264', 'Constrained Baseline', 'passthrough'],
    ['h264', 'Baseline', 'passthrough'],
    ['h264', 'High', 'transcode'],
    ['h264', 'Main', 'transcode'],
    ['hevc', 'Main', 'transcode'],
    ['mjpeg', null, 'transcode'],
  ];
  for (const [codec, profile, expected] of handling) {
    it(`${codec} ${profile ?? ''} → ${expected}`, () => assert.equal(videoHandling({ videoCodec: codec, videoProfile: profile, audioCodec: null }), expected));
  }
});
