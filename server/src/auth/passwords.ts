import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * scrypt cost: OWASP's password storage minimum (N=2^17, r=8, p=1): 128 MiB and about 0.3 s per
 * hash on one core. Hashes run on libuv's thread pool (4 threads by default), so at most four are
 * in memory at once; the sign-in rate limits keep a flood from queueing many more.
 */
const PARAMS: ScryptParams = { N: 1 << 17, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;

/** scrypt needs a little over 128·N·r + 128·r·p bytes and Node refuses to pass `maxmem`: leave room. */
function optionsFor({ N, r, p }: ScryptParams): ScryptOptions {
  return { N, r, p, maxmem: 2 * 128 * N * r + 128 * r * p };
}

function scryptAsync(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function format(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Reads `scrypt$N$r$p$salt$hash`; null when it is not one. */
function parse(stored: string): (ScryptParams & { salt: Buffer; key: Buffer }) | null {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key || rest.length > 0) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const valid =
    Number.isSafeInteger(params.N) && params.N > 1 && (params.N & (params.N - 1)) === 0 &&
    Number.isSafeInteger(params.r) && params.r > 0 &&
    Number.isSafeInteger(params.p) && params.p > 0;
  return valid ? { ...params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') } : null;
}

/** Returns `scrypt$N$r$p$salt$hash` (base64), with today's parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await scryptAsync(password, salt, KEY_LEN, optionsFor(PARAMS));
  return format(PARAMS, salt, key);
}

/** Checks a password against a stored hash, with the parameters stored in it. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || parsed.key.length === 0) return false;
  const key = await scryptAsync(password, parsed.salt, parsed.key.length, optionsFor(parsed));
  return timingSafeEqual(key, parsed.key);
}

/** True when `stored` was made with weaker parameters than today's: re-hash it at the next sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.N < PARAMS.N || parsed.r < PARAMS.r || parsed.p < PARAMS.p || parsed.key.length < KEY_LEN;
}

/**
 * A hash with today's parameters that no password matches (its key is all zeros): sign-in checks
 * unknown emails against it, so they take as long as known ones.
 */
export const DUMMY_HASH = format(PARAMS, Buffer.alloc(SALT_LEN), Buffer.alloc(KEY_LEN));
