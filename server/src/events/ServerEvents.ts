import type { OnAirEventData, OnAirEventType } from '@onair/shared';
import type { Logger } from '../logger.js';

/** One fact as published: its type and the type's data (the envelope's id and time are the subscriber's). */
export type ServerEvent = { [K in OnAirEventType]: { type: K; data: OnAirEventData<K> } }[OnAirEventType];

/**
 * The facts the server tells the outside world about (broadcast started/stopped, a destination's
 * state, a webinar going live/missed/ended, a recording ready). The broadcast service and the
 * scheduler publish; webhooks (and anything else) subscribe, so publishers never know who listens.
 * A subscriber that throws is logged and never reaches the publisher.
 */
export class ServerEvents {
  readonly #listeners = new Set<(event: ServerEvent) => void>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  publish<K extends OnAirEventType>(type: K, data: OnAirEventData<K>): void {
    const event = { type, data } as ServerEvent;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error, event: type }, 'event subscriber threw');
      }
    }
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
