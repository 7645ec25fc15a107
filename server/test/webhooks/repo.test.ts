import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Keys } from '../../src/persistence/keys.js';
import { AppError } from '../../src/errors.js';
import { ServerEvents } from '../../src/events/ServerEvents.js';
import { redact } from '../../src/logger.js';
import { openDb } from '../../src/persistence/db.js';
import { DELIVERIES_KEPT, WebhooksRepo } from '../../src/persistence/webhooks.js';
import { WebhookDispatcher } from '../../src/webhooks/WebhookDispatcher.js';

const logger = pino({ level: 'silent' });

describe('webhook endpoints in SQLite (secrets sealed with the master secret)', () => {
  it('the secret is stored encrypted, redacted from logs, and the list keeps the newest deliveries only', () => {
    const db = openDb(':memory:');
    const repo = new WebhooksRepo(db, Keys.load('a-master-secret-of-at-least-32-chars!', '/nonexistent'));
    const { webhook, secret } = repo.create({ url: 'https://example.com/hook', description: '' });
    const stored = db.prepare('SELECT secret_enc FROM webhooks WHERE id = ?').get(webhook.id) as { secret_enc: string };
    assert.equal(stored.secret_enc.includes(secret), false);
    assert.equal(redact(`signing with ${secret}`), `signing with ••••${secret.slice(-4)}`);
    for (let i = 0; i < DELIVERIES_KEPT + 5; i += 1) {
      repo.recordDelivery({ webhookId: webhook.id, eventId: `evt_${i}`, event: 'webhook.test', attempt: 1, ok: true, statusCode: 200, error: null, latencyMs: 3, willRetry: false });
    }
    const deliveries = repo.get(webhook.id).deliveries;
    assert.equal(deliveries.length, DELIVERIES_KEPT);
    assert.equal(deliveries[0]?.eventId, `evt_${DELIVERIES_KEPT + 4}`, 'newest first');
  });

  it('a changed master secret does not stop the server: the endpoint is reported, and each delivery says to rotate', async () => {
    const db = openDb(':memory:');
    const before = new WebhooksRepo(db, Keys.load('a-master-secret-of-at-least-32-chars!', '/nonexistent'));
    const { webhook } = before.create({ url: 'https://example.com/hook', description: '' });
    const after = new WebhooksRepo(db, Keys.load('another-master-secret-of-32-chars-or-more', '/nonexistent'));
    assert.deepEqual(after.registerAllSecrets(), ['https://example.com/hook']);
    assert.throws(() => after.secret(webhook.id), (e: unknown) => e instanceof AppError && e.code === 'WEBHOOK_SECRET_UNREADABLE');
    const dispatcher = new WebhookDispatcher({ repo: after, events: new ServerEvents(logger), logger });
    const delivery = await dispatcher.test(webhook.id);
    assert.deepEqual([delivery.ok, delivery.statusCode, delivery.willRetry], [false, null, false]);
    assert.match(delivery.error ?? '', /master secret changed\. Rotate it/);
    after.rotateSecret(webhook.id);
    assert.match(after.secret(webhook.id) ?? '', /^whsec_/);
    await dispatcher.close();
  });
});
