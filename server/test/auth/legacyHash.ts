import { randomBytes, scryptSync } from 'node:crypto';

/** A hash as OnAir stored them before the scrypt cost was raised (N=2^15, r=8, p=1). */
export function legacyHash(password: string, N = 1 << 15, r = 8, p = 1): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N, r, p, maxmem: 256 * N * r });
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}
