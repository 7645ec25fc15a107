import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';
import { redact, registerSecret } from '../../src/logger.js';
import { buildPublishUrl, maskedUrl, maskStreamKey, parsePublishUrl, validateRtmpUrl } from '../../src/destinations/url.js';
import { resolvePublishTarget } from '../../src/destinations/PublishTarget.js';
import { DESTINATION_PRESETS, presetFor } from '@onair/shared';
import { classifyFfmpegFailure, describeConnectionError } from '../../src/destinations/errors.js';

describe('validateRtmpUrl', () => {
  const valid = [
    'rtmp://a.rtmp.youtube.com/live2',
    'rtmps://a.rtmps.youtube.com:443/live2',
    'rtmps://live-api-s.facebook.com:443/rtmp/',
    'rtmp://live.twitch.tv/app',
    'rtmp://127.0.0.1:1935/live',
    '  rtmp://host/app/sub  ',
    'RTMP://host/app',
  ];
  for (const url of valid) it(`accepts ${url.trim()}`, () => assert.doesNotThrow(() => validateRtmpUrl(url)));

  const invalid: Array<[string, RegExp]> = [
    ['', /Enter the server URL/],
    ['a.rtmp.youtube.com/live2', /must start with rtmp:\/\/ or rtmps:\/\//],
    ['https://a.rtmp.youtube.com/live2', /it starts with https:\/\//],
    ['rtmp:/host/app', /no host name/],
    ['rtmp:///app', /no host name|not a valid address/],
    ['rtmp://host', /no application path/],
    ['rtmp://host/', /no application path/],
    ['rtmp://user:pw@host/app', /user name or password/],
    ['rtmp://host:99999/app', /not a valid address|port/],
    ['rtmp://host/app name', /spaces/],
    ['rtmp://host/app#x', /#/],
  ];
  for (const [url, message] of invalid) {
    it(`rejects ${JSON.stringify(url)} with INVALID_RTMP_URL`, () => {
      assert.throws(() => validateRtmpUrl(url), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'INVALID_RTMP_URL');
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe('publish URLs and masking', () => {
  const cases: Array<[string, string, string, string]> = [
    ['rtmp://a.rtmp.youtube.com/live2', 'abcd-efgh-ijkl-mnop', 'rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop', 'rtmp://a.rtmp.youtube.com/live2/••••mnop'],
    ['rtmps://live-api-s.facebook.com:443/rtmp/', 'FB-123?s_bl=1', 'rtmps://live-api-s.facebook.com:443/rtmp/FB-123?s_bl=1', 'rtmps://live-api-s.facebook.com:443/rtmp/••••bl=1'],
    ['rtmp://live.twitch.tv/app/', ' live_42_secret ', 'rtmp://live.twitch.tv/app/live_42_secret', 'rtmp://live.twitch.tv/app/••••cret'],
    ['rtmp://host/app', 'abc', 'rtmp://host/app/abc', 'rtmp://host/app/••••'],
    ['rtmp://host/app/fullkey', '', 'rtmp://host/app/fullkey', 'rtmp://host/app/••••lkey'],
  ];
  for (const [server, key, publish, masked] of cases) {
    it(`${server} + key → ${masked}`, () => {
      assert.equal(buildPublishUrl(server, key), publish);
      assert.equal(maskedUrl(server, key), masked);
    });
  }

  it('maskStreamKey keeps only the last 4 characters', () => {
    assert.equal(maskStreamKey('abcdefgh1234'), '••••1234');
    assert.equal(maskStreamKey('1234'), '••••');
  });

  it('registered keys are redacted from any text (ffmpeg stderr included)', () => {
    registerSecret('super-secret-key-9876');
    const line = '[flv @ 0x1] rtmp://a.rtmp.youtube.com/live2/super-secret-key-9876: Input/output error';
    assert.equal(redact(line), '[flv @ 0x1] rtmp://a.rtmp.youtube.com/live2/••••9876: Input/output error');
  });
});

describe('presets', () => {
  it('cover YouTube (RTMP and RTMPS), Facebook, Twitch, LinkedIn, the vertical platforms (TikTok LIVE, Instagram) and custom', () => {
    assert.deepEqual(DESTINATION_PRESETS.map((p) => p.platform), ['youtube', 'youtube_rtmps', 'facebook', 'twitch', 'linkedin', 'tiktok', 'instagram', 'custom']);
  });

  const expected: Array<[Parameters<typeof presetFor>[0], string | null]> = [
    ['youtube', 'rtmp://a.rtmp.youtube.com/live2'],
    ['youtube_rtmps', 'rtmps://a.rtmps.youtube.com:443/live2'],
    ['facebook', 'rtmps://live-api-s.facebook.com:443/rtmp/'],
    ['twitch', 'rtmp://live.twitch.tv/app'],
    ['linkedin', null],
    ['custom', null],
  ];
  for (const [platform, url] of expected) {
    it(`${platform}: server URL ${url ?? '(entered by the person)'}, a label and help`, () => {
      const preset = presetFor(platform);
      assert.equal(preset.defaultServerUrl, url);
      assert.ok(preset.label.length > 0);
      assert.ok(preset.help.length > 20);
      if (url) assert.doesNotThrow(() => validateRtmpUrl(url));
    });
  }
});

describe('ffmpeg failures in plain words', () => {
  const url = 'rtmp://a.rtmp.youtube.com/live2/my-secret-key';
  const cases: Array<[string, string, string]> = [
    ['[tcp @ 0x1] Connection to tcp://a.rtmp.youtube.com:1935 failed: Connection refused\nrtmp://a.rtmp.youtube.com/live2/my-secret-key: Connection refused', 'transient', 'Could not connect to a.rtmp.youtube.com: connection refused.'],
    ['[tcp @ 0x1] Failed to resolve hostname a.rtmp.youtube.com: Name or service not known\nrtmp://x: Input/output error', 'not_found', 'Host not found: a.rtmp.youtube.com.'],
    ['rtmp://a.rtmp.youtube.com/live2/my-secret-key: Input/output error', 'refused', 'The platform refused the stream key (or the application path is wrong).'],
    ['[rtmp @ 0x1] Server error: Authentication failed', 'refused', 'The platform refused the stream key.'],
    ['[rtmp @ 0x1] NetStream.Publish.BadName', 'refused', 'The platform refused the stream key.'],
    ['[tls @ 0x1] Error in the push function. TLS handshake failed', 'transient', 'TLS handshake with a.rtmp.youtube.com failed.'],
    ['[tcp @ 0x1] Connection to tcp://x failed: Connection timed out', 'transient', 'a.rtmp.youtube.com did not answer in time.'],
    ['av_interleaved_write_frame(): Broken pipe', 'transient', 'The connection to a.rtmp.youtube.com was dropped.'],
  ];
  for (const [stderr, kind, message] of cases) {
    it(`${message}`, () => {
      const failure = classifyFfmpegFailure(stderr, url);
      assert.equal(failure.kind, kind);
      assert.equal(failure.message, message);
    });
  }

  it('an unknown failure quotes the last line without the stream key', () => {
    registerSecret('my-secret-key');
    const { message } = classifyFfmpegFailure('something odd happened to rtmp://a.rtmp.youtube.com/live2/my-secret-key', url);
    assert.match(message, /^Sending to a\.rtmp\.youtube\.com failed \(/);
    assert.doesNotMatch(message, /my-secret-key/);
  });
});

describe('publish URLs split for the RTMP client (application, tcUrl, stream name)', () => {
  const cases: Array<[string, Partial<ReturnType<typeof parsePublishUrl>>]> = [
    ['rtmp://a.rtmp.youtube.com/live2/abcd-efgh', { secure: false, hostname: 'a.rtmp.youtube.com', port: 1935, app: 'live2', tcUrl: 'rtmp://a.rtmp.youtube.com/live2', streamName: 'abcd-efgh' }],
    ['rtmps://a.rtmps.youtube.com:443/live2/abcd', { secure: true, port: 443, host: 'a.rtmps.youtube.com:443', app: 'live2', tcUrl: 'rtmps://a.rtmps.youtube.com:443/live2', streamName: 'abcd' }],
    ['rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-Ab?s_bl=1&s_sw=0', { app: 'rtmp', streamName: 'FB-123-0-Ab?s_bl=1&s_sw=0' }],
    ['rtmps://x.channel.media.azure.net:2935/live/0a1b2c/key-9', { port: 2935, app: 'live/0a1b2c', tcUrl: 'rtmps://x.channel.media.azure.net:2935/live/0a1b2c', streamName: 'key-9' }],
    ['rtmps://host/app/key', { secure: true, port: 443 }],
    ['rtmp://[::1]:1936/live/k', { hostname: '::1', port: 1936, host: '[::1]:1936', app: 'live' }],
    ['RTMP://host/app/k', { secure: false, tcUrl: 'rtmp://host/app', streamName: 'k' }],
  ];
  for (const [url, expected] of cases) {
    it(url, () => {
      const parsed = parsePublishUrl(url);
      for (const [field, value] of Object.entries(expected)) assert.equal(parsed[field as keyof typeof parsed], value, field);
    });
  }
  for (const url of ['rtmp://host/key-only', 'rtmp://host/app/', 'http://host/app/key']) {
    it(`refuses ${url}`, () => assert.throws(() => parsePublishUrl(url), AppError));
  }
});

describe('connection errors in plain words', () => {
  const error = (code: string, message = code): Error => Object.assign(new Error(message), { code });
  const untrusted = (reason: string): string =>
    `The server's TLS certificate is not trusted (${reason}). If this is your own server, turn on "Allow an untrusted certificate" for this destination.`;
  const cases: Array<[Error, string, string]> = [
    [error('DEPTH_ZERO_SELF_SIGNED_CERT'), 'untrusted_certificate', untrusted('self-signed')],
    [error('SELF_SIGNED_CERT_IN_CHAIN'), 'untrusted_certificate', untrusted('signed by a self-signed certificate that is not trusted')],
    [error('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'untrusted_certificate', untrusted('issued by an unknown authority')],
    [error('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'untrusted_certificate', untrusted('host name mismatch')],
    [error('CERT_HAS_EXPIRED'), 'untrusted_certificate', untrusted('expired')],
    [error('ECONNREFUSED'), 'transient', 'Could not connect to a.rtmp.youtube.com: connection refused.'],
    [error('ENOTFOUND'), 'not_found', 'Host not found: a.rtmp.youtube.com.'],
    [error('ECONNRESET'), 'transient', 'The connection to a.rtmp.youtube.com was dropped.'],
    [error('ETIMEDOUT'), 'transient', 'a.rtmp.youtube.com did not answer in time.'],
    [error('EHOSTUNREACH'), 'transient', 'a.rtmp.youtube.com cannot be reached from this server.'],
    [error('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), 'transient', 'TLS handshake with a.rtmp.youtube.com failed.'],
  ];
  for (const [err, kind, message] of cases) {
    it(`${(err as Error & { code: string }).code} → ${kind}`, () => {
      const failure = describeConnectionError(err, 'a.rtmp.youtube.com');
      assert.equal(failure.kind, kind);
      assert.equal(failure.message, message);
    });
  }
});

describe('resolvePublishTarget: a destination resolved once', () => {
  it('carries the publish URL (key registered for redaction), the masked URL, the program and whether TLS goes unverified', () => {
    const t = resolvePublishTarget({ id: 'd', name: 'YT', platform: 'youtube_rtmps', serverUrl: 'rtmps://a.rtmps.youtube.com/live2/', streamKey: 'resolve-key-9876', allowUntrustedCertificate: true });
    assert.equal(t.publishUrl, 'rtmps://a.rtmps.youtube.com/live2/resolve-key-9876');
    assert.equal(t.maskedUrl, 'rtmps://a.rtmps.youtube.com/live2/••••9876');
    assert.equal(t.program, 'landscape');
    assert.equal(t.unverifiedTls, true);
    assert.equal(redact(`pushing to ${t.publishUrl}`).includes('resolve-key-9876'), false);
    assert.equal(resolvePublishTarget({ id: 'e', name: 'Plain', platform: 'custom', serverUrl: 'rtmp://127.0.0.1/live', streamKey: 'k', allowUntrustedCertificate: true }).unverifiedTls, false);
    assert.throws(() => resolvePublishTarget({ id: 'f', name: 'Bad', platform: 'custom', serverUrl: 'http://x/live', streamKey: 'k' }), /rtmp:\/\/ or rtmps:\/\//);
  });
});
