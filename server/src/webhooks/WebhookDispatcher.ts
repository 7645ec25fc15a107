import type { OnAirEvent, WebhookDelivery } from '@onair/shared';
import { backoffDelay, type BackoffPolicy } from '../media/backoff.js';
import { describeConnectionError } from '../destinations/errors.js';
import { AppError } from '../errors.js';
import type { ServerEvent, ServerEvents } from '../events/ServerEvents.js';
import { redact, type Logger } from '../logger.js';
import { newId } from '../persistence/db.js';
import type { NewDelivery, WebhooksRepo } from '../persistence/webhooks.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface WebhookDispatcherOptions {
  repo: WebhooksRepo;
  events: ServerEvents;
  logger: Logger;
  /** Tries per event and endpoint, the first one included. Default 5 (waits of 1, 2, 4 and 8 s between them). */
  maxAttempts?: number;
  /** Default: 1 s doubling, at most 16 s, ± 10 % jitter. */
  retry?: Partial<BackoffPolicy>;
  /** One delivery gives up after this. Default 10 000 ms. */
  timeoutMs?: number;
  /** Deliveries waiting or running per endpoint beyond which new events for it are dropped (and logged). Default 200. */
  maxPendingPerEndpoint?: number;
  random?: () => number;
}

const USER_AGENT = 'OnAir-Webhooks/0.1';

interface Pending {
  webhookId: string;
  abort: AbortController;
  timer: NodeJS.Timeout | null;
  /** Resolves when this attempt (and not its retries) has been recorded. */
  done: Promise<void>;
}

/**
 * Delivers every ServerEvent to every enabled webhook endpoint as a signed JSON POST, off the
 * publisher's path: publishing never waits for an endpoint. Each attempt is recorded (status or
 * error, latency); a network error, a timeout, 408, 429 or a 5xx is retried with backoff, other
 * answers are final. Every attempt of one event carries the same event id.
 */
export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  readonly #policy: BackoffPolicy;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #pending = new Set<Pending>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#policy = { baseDelayMs: 1000, maxDelayMs: 16_000, jitter: 0.1, ...options.retry };
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#unsubscribe = options.events.subscribe((event) => this.#onEvent(event));
  }

  /** Sends a `webhook.test` event to one endpoint now, once (no retries), and returns that attempt. */
  async test(webhookId: string): Promise<WebhookDelivery> {
    const event = envelope({ type: 'webhook.test', data: { webhookId, message: 'A test delivery from the OnAir dashboard.' } });
    const delivery = await this.#attempt(webhookId, event, JSON.stringify(event), 1, false);
    if (!delivery) throw new AppError('WEBHOOK_NOT_FOUND', `No webhook with id ${webhookId}.`);
    return delivery;
  }

  /** Stops retrying; lets attempts in flight finish for up to `drainMs` (default 0), then aborts them. */
  async close(drainMs = 0): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const p of this.#pending) {
      if (p.timer) {
        clearTimeout(p.timer);
        this.#pending.delete(p);
      }
    }
    const inFlight = [...this.#pending];
    if (inFlight.length > 0 && drainMs > 0) {
      await Promise.race([Promise.all(inFlight.map((p) => p.done)), new Promise((r) => setTimeout(r, drainMs).unref())]);
    }
    for (const p of this.#pending) p.abort.abort();
    await Promise.all(inFlight.map((p) => p.done));
  }

  #onEvent(event: ServerEvent): void {
    if (this.#closed) return;
    let endpoints: Array<{ id: string }>;
    try {
      endpoints = this.#options.repo.enabled();
    } catch (error) {
      this.#options.logger.error({ err: error }, 'webhooks: could not read the endpoints');
      return;
    }
    if (endpoints.length === 0) return;
    const full = envelope(event);
    const body = JSON.stringify(full);
    const limit = this.#options.maxPendingPerEndpoint ?? 200;
    for (const { id } of endpoints) {
      const waiting = [...this.#pending].filter((p) => p.webhookId === id).length;
      if (waiting >= limit) {
        this.#options.logger.warn({ webhook: id, event: full.type }, 'webhooks: too many deliveries waiting for this endpoint; event dropped');
        continue;
      }
      void this.#attempt(id, full, body, 1, true);
    }
  }

  /** One POST; records it and schedules the next attempt when it may be retried. Null when the endpoint is gone. */
  async #attempt(webhookId: string, event: OnAirEvent, body: string, attempt: number, retries: boolean): Promise<WebhookDelivery | null> {
    const { repo, logger } = this.#options;
    const endpoint = repo.enabled().find((e) => e.id === webhookId) ?? (retries ? null : safeGet(repo, webhookId));
    if (!endpoint) return null;
    let secret: string | null;
    try {
      secret = repo.secret(webhookId);
    } catch (e) {
      // Sealed with another master secret: nothing can be signed until it is rotated.
      const message = e instanceof Error ? e.message : String(e);
      return record(repo, logger, { webhookId, eventId: event.id, event: event.type, attempt, ok: false, statusCode: null, error: message, latencyMs: null, willRetry: false });
    }
    if (secret === null) return null;
    const abort = new AbortController();
    let resolveDone: () => void = () => undefined;
    const pending: Pending = { webhookId, abort, timer: null, done: new Promise<void>((r) => (resolveDone = r)) };
    this.#pending.add(pending);
    const timeout = setTimeout(() => abort.abort(new TimeoutError()), this.#timeoutMs);
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'onair-event': event.type,
          'onair-event-id': event.id,
          'onair-delivery-attempt': String(attempt),
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        redirect: 'manual',
        signal: abort.signal,
      });
      statusCode = res.status;
      // The answer's body does not matter; do not wait for (or buffer) it.
      void res.body?.cancel().catch(() => undefined);
      if (res.status >= 300 && res.status < 400) error = `The endpoint redirected (${res.status}); webhooks do not follow redirects, so use the final URL.`;
      else if (!res.ok) error = `The endpoint answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
    } catch (e) {
      error = describeFetchError(e, endpoint.url, this.#timeoutMs);
    } finally {
      clearTimeout(timeout);
    }
    const latencyMs = Math.round(performance.now() - started);
    const ok = error === null;
    const retryable = !ok && (statusCode === null || statusCode === 408 || statusCode === 429 || statusCode >= 500);
    const willRetry = retries && retryable && attempt < this.#maxAttempts && !this.#closed;
    const delivery = record(repo, logger, { webhookId, eventId: event.id, event: event.type, attempt, ok, statusCode, error: error === null ? null : redact(error), latencyMs, willRetry });
    if (!ok) logger.info({ webhook: webhookId, event: event.type, attempt, statusCode, error }, 'webhook delivery failed');
    if (willRetry) {
      pending.timer = setTimeout(() => {
        this.#pending.delete(pending);
        void this.#attempt(webhookId, event, body, attempt + 1, true);
      }, backoffDelay(attempt - 1, this.#policy, this.#options.random));
    } else {
      this.#pending.delete(pending);
    }
    resolveDone();
    return delivery;
  }
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** The envelope receivers get: a new event id (the same on every retry) and the time it happened. */
function envelope(event: ServerEvent): OnAirEvent {
  return { id: newId('evt_'), type: event.type, createdAt: new Date().toISOString(), data: event.data } as OnAirEvent;
}

function record(repo: WebhooksRepo, logger: Logger, delivery: NewDelivery): WebhookDelivery | null {
  try {
    return repo.recordDelivery(delivery);
  } catch (e) {
    // Deleted meanwhile, or the database is closing: nothing to record it against.
    logger.debug({ err: e, webhook: delivery.webhookId }, 'webhooks: delivery not recorded');
    return null;
  }
}

function safeGet(repo: WebhooksRepo, id: string): { id: string; url: string } | null {
  try {
    return repo.get(id);
  } catch {
    return null;
  }
}

function describeFetchError(error: unknown, url: string, timeoutMs: number): string {
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return 'the endpoint';
    }
  })();
  if (error instanceof TimeoutError || (error instanceof Error && error.name === 'TimeoutError')) {
    return `${host} did not answer within ${Math.round(timeoutMs / 1000)} s.`;
  }
  if (error instanceof Error && error.name === 'AbortError') return 'The server shut down before the endpoint answered.';
  const cause = error instanceof Error && 'cause' in error ? error.cause : error;
  const described = describeConnectionError(cause, host);
  if (described.kind === 'untrusted_certificate') return `The TLS certificate of ${host} is not trusted by this server.`;
  return described.message;
}
