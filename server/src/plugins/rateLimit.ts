import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';

/** How long to wait, in words: "40 seconds", "1 minute", "14 minutes". */
export function waitWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** The 429 a limited route answers: what was limited and how long until it may be tried again. */
export function rateLimited(what: string, retryInMs: number): AppError {
  return new AppError('RATE_LIMITED', `${what} Try again in ${waitWords(retryInMs)}.`);
}

/**
 * A route's `config.rateLimit`: at most `max` requests per client IP (`req.ip`, so behind a proxy
 * it follows TRUST_PROXY) per `windowMs`, counted in onRequest before any work is done; over it,
 * RATE_LIMITED with Retry-After. `what` starts the message ("Too many sign-in attempts.").
 */
export function perClientIp(max: number, windowMs: number, what: string): RateLimitOptions {
  return { max, timeWindow: windowMs, hook: 'onRequest', errorResponseBuilder: (_req, context) => rateLimited(what, context.ttl) };
}

export interface FailureLimitOptions {
  /** Failures allowed per key in a window. */
  max: number;
  windowMs: number;
  /** The key a request counts against (an account: `login:ada@example.org`). */
  key: (req: FastifyRequest) => string;
  /** Starts the refusal ("Too many sign-in attempts."). */
  what: string;
}

/**
 * A budget of failed attempts per key, kept in @fastify/rate-limit's store: only failures count,
 * so someone who signs in correctly never uses it up. The budget is checked before an attempt
 * runs, and attempts still running are reserved against it, so a burst of parallel guesses for
 * one account cannot overshoot it while their password checks are in progress.
 */
export class FailureLimit {
  private readonly counter: ReturnType<FastifyInstance['createRateLimit']>;
  private readonly inFlight = new Map<string, number>();

  constructor(
    app: FastifyInstance,
    private readonly options: FailureLimitOptions,
  ) {
    // A large cache: evicting a key would hand its budget back, so spraying other keys must not.
    const limiter: RateLimitOptions = { max: options.max, timeWindow: options.windowMs, keyGenerator: options.key, cache: 100_000 };
    this.counter = app.createRateLimit(limiter);
  }

  /**
   * Runs `attempt` unless its key has no failures left (then RATE_LIMITED with Retry-After, and
   * `attempt` does not run); counts it when it resolves false or throws. Returns its answer.
   */
  async run(req: FastifyRequest, reply: FastifyReply, attempt: () => Promise<boolean>): Promise<boolean> {
    const state = await this.counter(req, { increment: false });
    if (state.isAllowed) return attempt();
    const reserved = this.inFlight.get(state.key) ?? 0;
    if (state.remaining - reserved <= 0) {
      // Nothing counted yet for this key means only reservations are in the way: they end soon.
      const retryMs = state.ttl > 0 ? state.ttl : 1000;
      reply.header('retry-after', Math.ceil(retryMs / 1000));
      throw rateLimited(this.options.what, retryMs);
    }
    this.inFlight.set(state.key, reserved + 1);
    let ok = false;
    try {
      ok = await attempt();
      return ok;
    } finally {
      const left = (this.inFlight.get(state.key) ?? 1) - 1;
      if (left > 0) this.inFlight.set(state.key, left);
      else this.inFlight.delete(state.key);
      if (!ok) await this.counter(req);
    }
  }
}

/** @fastify/rate-limit with no global limit: each limited route declares its own. */
export default fp(
  async (app: FastifyInstance) => {
    await app.register(fastifyRateLimit, { global: false });
  },
  { name: 'onair-rate-limit', fastify: '5.x' },
);
