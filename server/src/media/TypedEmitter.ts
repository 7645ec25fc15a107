import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';

/** Map of event name → listener argument tuple, e.g. `{ closed: []; status: [BroadcastStatus] }`. */
export type EventMap = { [event: string]: unknown[] };

/**
 * EventEmitter with typed events. A listener that throws is caught and logged, so one faulty
 * listener never crashes the entity that emitted the event.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
    this.#emitter.setMaxListeners(50);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    for (const listener of this.#emitter.listeners(event)) {
      try {
        listener(...args);
      } catch (error) {
        this.#logger?.error({ err: error, event }, 'event listener threw');
      }
    }
  }
}
