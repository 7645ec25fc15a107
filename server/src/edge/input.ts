/**
 * What every REST body and signalling frame goes through before its schema is checked: JSON that
 * is bounded in depth before it becomes objects, parsed without prototype poisoning, and strings
 * trimmed so length limits (and "must not be empty") apply to what a person meant.
 */
import secureJson from 'secure-json-parse';
import { AppError } from '../errors.js';

/** Deepest nesting a REST body may have (the deepest schema needs 4). */
export const MAX_BODY_JSON_DEPTH = 8;

/**
 * The nesting depth of a JSON text, stopping as soon as it passes `limit`. A linear scan over the
 * characters (strings skipped), so a 1 MB frame of `[[[[...` costs microseconds and never reaches
 * JSON.parse or a recursive validator.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses JSON from an untrusted peer: too deep → `BAD_MESSAGE`, not JSON → `BAD_MESSAGE`,
 * `__proto__` / `constructor.prototype` keys → `BAD_MESSAGE` (secure-json-parse, as Fastify does).
 */
export function parseUntrustedJson(text: string, maxDepth: number): unknown {
  if (jsonDepthExceeds(text, maxDepth)) throw new AppError('BAD_MESSAGE', `The message is nested too deeply (at most ${maxDepth} levels).`);
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    if (error instanceof SyntaxError) throw new AppError('BAD_MESSAGE', 'The message is not valid JSON.');
    throw new AppError('BAD_MESSAGE', 'The message contains a forbidden key (__proto__ or constructor.prototype).');
  }
}

/** Fields that are taken exactly as typed: a password may start or end with a space. */
const UNTRIMMED_KEYS = new Set(['password', 'currentPassword']);

/**
 * Trims every string inside `value` in place (object values and array items, at any depth),
 * except the fields in UNTRIMMED_KEYS. Runs before schema validation, so `"   "` for a name or
 * stream key fails its `minLength: 1` and is refused instead of being stored as an empty string.
 */
export function trimStrings<T>(value: T): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      value[i] = typeof item === 'string' ? item.trim() : trimStrings(item);
    }
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'string') {
        if (!UNTRIMMED_KEYS.has(key)) record[key] = item.trim();
      } else if (typeof item === 'object' && item !== null) {
        trimStrings(item);
      }
    }
  }
  return value;
}
