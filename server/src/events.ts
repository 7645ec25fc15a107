import { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

/**
 * EventEmitter with typed events. A listener that throws is logged and never breaks the emitter
 * (a room must not crash because one listener failed).
 */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  constructor(private readonly emitterLogger?: Logger) {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (error) {
        this.emitterLogger?.error({ err: error, event }, 'event listener threw');
      }
    }
  }

  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
