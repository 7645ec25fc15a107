import type { IceServer } from '@onair/shared';
import { createHmac } from 'node:crypto';
import type { TurnConfig } from '../config.js';

/**
 * Time-limited TURN credentials in coturn's shared-secret scheme (`use-auth-secret`, the "TURN REST
 * API" draft): the username is `<unix time the credentials expire>:<id>` and the password is
 * base64(HMAC-SHA1(secret, username)). coturn recomputes the password from its
 * `static-auth-secret` and refuses a username whose time has passed, so nothing is stored.
 */
export function turnCredentials(secret: string, id: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${Math.floor(expiresAtSeconds)}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** What a participant (`id`) gets to reach the TURN servers; none when TURN is not configured. */
export function iceServersFor(turn: TurnConfig | null, id: string, nowMs: number = Date.now()): IceServer[] {
  if (!turn) return [];
  return [{ urls: [...turn.urls], ...turnCredentials(turn.secret, id, nowMs / 1000 + turn.ttlSeconds) }];
}
