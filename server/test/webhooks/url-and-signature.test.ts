import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';
import { signatureHeader, verifySignature } from '../../src/webhooks/signature.js';
import { validateWebhookUrl } from '../../src/webhooks/url.js';

describe('webhook URL validation (table)', () => {
  const accepted = ['https://hooks.example.com/onair', 'http://127.0.0.1:9000/hook', 'HTTPS://Example.com/a?b=c', '  https://example.com/x  '];
  for (const url of accepted) {
    it(`accepts ${JSON.stringify(url)}`, () => assert.equal(validateWebhookUrl(url), url.trim()));
  }
  const refused: Array<[string, RegExp]> = [
    ['', /Enter the URL/],
    ['example.com/hook', /must start with http:\/\/ or https:\/\//],
    ['ftp://example.com/hook', /must start with http:\/\/ or https:\/\//],
    ['javascript:alert(1)', /must start with http:\/\/ or https:\/\//],
    ['rtmp://a.rtmp.youtube.com/live2', /must start with http:\/\/ or https:\/\//],
    ['https://', /is not a valid URL/],
    ['https://exa mple.com/hook', /is not a valid URL/],
    ['https://user:secret@example.com/hook', /Leave the user name and password out/],
    ['https://example.com/hook#section', /never sent/],
  ];
  for (const [url, words] of refused) {
    it(`refuses ${JSON.stringify(url)} in plain words (INVALID_WEBHOOK_URL)`, () => {
      assert.throws(() => validateWebhookUrl(url), (e: unknown) => e instanceof AppError && e.code === 'INVALID_WEBHOOK_URL' && words.test(e.message));
    });
  }
});

describe('webhook signatures: HMAC-SHA256 over "<t>.<body>"', () => {
  const secret = 'whsec_test-secret-value';
  const body = JSON.stringify({ id: 'evt_1', type: 'webhook.test', createdAt: '2026-01-01T00:00:00.000Z', data: { webhookId: 'wh1', message: 'hi' } });
  const now = 1_767_225_600;

  it('the header is t=<unix>,v1=<64 hex> and verifies with the same secret and body', () => {
    const header = signatureHeader(secret, body, now);
    assert.match(header, /^t=1767225600,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(secret, header, body, now), true);
  });

  const forged: Array<[string, () => [string, string, string, number]]> = [
    ['another secret', () => ['whsec_wrong', signatureHeader(secret, body, now), body, now]],
    ['a changed body', () => [secret, signatureHeader(secret, body, now), body.replace('hi', 'ho'), now]],
    ['a replay 10 minutes later', () => [secret, signatureHeader(secret, body, now), body, now + 600]],
    ['a timestamp changed after signing', () => [secret, signatureHeader(secret, body, now).replace(`t=${now}`, `t=${now + 1}`), body, now]],
    ['no v1', () => [secret, `t=${now}`, body, now]],
    ['garbage', () => [secret, 'nonsense', body, now]],
  ];
  for (const [what, args] of forged) {
    it(`refuses ${what}`, () => assert.equal(verifySignature(...args()), false));
  }
});
