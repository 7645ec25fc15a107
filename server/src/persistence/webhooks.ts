import type { Webhook, WebhookDelivery } from '@onair/shared';
import { randomBytes } from 'node:crypto';
import type { Keys } from './keys.js';
import { AppError } from '../errors.js';
import { registerSecret } from '../logger.js';
import { newId, type Db } from './db.js';

interface WebhookRow {
  id: string;
  url: string;
  description: string;
  secret_enc: string;
  secret_last4: string;
  enabled: number;
  created_at: string;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  ok: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number | null;
  will_retry: number;
  at: string;
}

/** A webhook endpoint as the dispatcher needs it. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  enabled: boolean;
}

export type NewDelivery = Omit<WebhookDelivery, 'id' | 'at'> & { webhookId: string };

/** Deliveries kept per endpoint (older ones are deleted as new ones are written). Default 50. */
export const DELIVERIES_KEPT = 50;

/** `whsec_` + 32 random bytes (base64url): what signs an endpoint's deliveries. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id,
  eventId: r.event_id,
  event: r.event_type,
  attempt: r.attempt,
  ok: r.ok === 1,
  statusCode: r.status_code,
  error: r.error,
  latencyMs: r.latency_ms,
  willRetry: r.will_retry === 1,
  at: r.at,
});

/**
 * Webhook endpoints and their recent deliveries. Signing secrets are stored encrypted (like stream
 * keys) and registered with the log redactor; only secret() decrypts.
 */
export class WebhooksRepo {
  constructor(
    private readonly db: Db,
    private readonly keys: Keys,
  ) {}

  create(input: { url: string; description: string }): { webhook: Webhook; secret: string } {
    const id = newId('wh');
    const secret = newWebhookSecret();
    registerSecret(secret);
    this.db
      .prepare('INSERT INTO webhooks (id, url, description, secret_enc, secret_last4, enabled, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)')
      .run(id, input.url, input.description, this.keys.encrypt(secret), secret.slice(-4), new Date().toISOString());
    return { webhook: this.get(id), secret };
  }

  private row(id: string): WebhookRow {
    const r = this.db.prepare('SELECT * FROM webhooks WHERE id = ? AND deleted_at IS NULL').get(id) as WebhookRow | undefined;
    if (!r) throw new AppError('WEBHOOK_NOT_FOUND', `No webhook with id ${id}.`);
    return r;
  }

  get(id: string): Webhook {
    return this.toWebhook(this.row(id));
  }

  list(): Webhook[] {
    return (this.db.prepare('SELECT * FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at').all() as WebhookRow[]).map((r) => this.toWebhook(r));
  }

  /** Enabled endpoints, for the dispatcher. */
  enabled(): WebhookEndpoint[] {
    return (this.db.prepare('SELECT id, url, enabled FROM webhooks WHERE deleted_at IS NULL AND enabled = 1').all() as WebhookRow[]).map((r) => ({
      id: r.id,
      url: r.url,
      enabled: true,
    }));
  }

  /**
   * The endpoint's current signing secret, null when it was deleted meanwhile. Throws
   * WEBHOOK_SECRET_UNREADABLE when it was sealed with another master secret.
   */
  secret(id: string): string | null {
    const r = this.db.prepare('SELECT secret_enc FROM webhooks WHERE id = ? AND deleted_at IS NULL').get(id) as { secret_enc: string } | undefined;
    if (!r) return null;
    let secret: string;
    try {
      secret = this.keys.decrypt(r.secret_enc);
    } catch {
      throw new AppError('WEBHOOK_SECRET_UNREADABLE', "This webhook's signing secret cannot be read: the server's master secret changed. Rotate it to make a new one.");
    }
    registerSecret(secret);
    return secret;
  }

  /** Replaces the signing secret; deliveries from now on are signed with the new one. */
  rotateSecret(id: string): string {
    this.row(id);
    const secret = newWebhookSecret();
    registerSecret(secret);
    this.db.prepare('UPDATE webhooks SET secret_enc = ?, secret_last4 = ? WHERE id = ?').run(this.keys.encrypt(secret), secret.slice(-4), id);
    return secret;
  }

  update(id: string, patch: { url?: string; description?: string; enabled?: boolean }): Webhook {
    const current = this.row(id);
    this.db
      .prepare('UPDATE webhooks SET url = ?, description = ?, enabled = ? WHERE id = ?')
      .run(patch.url ?? current.url, patch.description ?? current.description, patch.enabled === undefined ? current.enabled : patch.enabled ? 1 : 0, id);
    return this.get(id);
  }

  delete(id: string): void {
    this.row(id);
    this.db.prepare('UPDATE webhooks SET deleted_at = ? WHERE id = ?').run(new Date().toISOString(), id);
    this.db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?').run(id);
  }

  /** Records one attempt and keeps only the newest DELIVERIES_KEPT of the endpoint. */
  recordDelivery(d: NewDelivery): WebhookDelivery {
    const id = newId('whd');
    const at = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, attempt, ok, status_code, error, latency_ms, will_retry, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(id, d.webhookId, d.eventId, d.event, d.attempt, d.ok ? 1 : 0, d.statusCode, d.error, d.latencyMs, d.willRetry ? 1 : 0, at);
      this.db
        .prepare(
          `DELETE FROM webhook_deliveries WHERE webhook_id = ? AND rowid NOT IN
             (SELECT rowid FROM webhook_deliveries WHERE webhook_id = ? ORDER BY rowid DESC LIMIT ?)`,
        )
        .run(d.webhookId, d.webhookId, DELIVERIES_KEPT);
    })();
    return { id, at, eventId: d.eventId, event: d.event, attempt: d.attempt, ok: d.ok, statusCode: d.statusCode, error: d.error, latencyMs: d.latencyMs, willRetry: d.willRetry };
  }

  deliveries(webhookId: string, limit = DELIVERIES_KEPT): WebhookDelivery[] {
    return (this.db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY rowid DESC LIMIT ?').all(webhookId, limit) as DeliveryRow[]).map(toDelivery);
  }

  /** Registers every stored secret with the log redactor (at boot); returns the URLs of those that cannot be read. */
  registerAllSecrets(): string[] {
    const unreadable: string[] = [];
    for (const r of this.db.prepare('SELECT id, url FROM webhooks WHERE deleted_at IS NULL').all() as Array<{ id: string; url: string }>) {
      try {
        this.secret(r.id);
      } catch {
        unreadable.push(r.url);
      }
    }
    return unreadable;
  }

  private toWebhook(r: WebhookRow): Webhook {
    return {
      id: r.id,
      url: r.url,
      description: r.description,
      enabled: r.enabled === 1,
      secretMasked: `whsec_••••${r.secret_last4}`,
      createdAt: r.created_at,
      deliveries: this.deliveries(r.id),
    };
  }
}
