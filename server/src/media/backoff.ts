/** The one backoff of the server: destination retries and webhook deliveries use it. */
export interface BackoffPolicy {
  /** First retry delay; doubles per failure. */
  baseDelayMs: number;
  /** Longest delay. */
  maxDelayMs: number;
  /** ± fraction of random jitter. */
  jitter: number;
}

/** Delay before retry number `attempt` (0-based): base·2^attempt capped, ± jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(raw * factor));
}
