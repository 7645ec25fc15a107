import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Keys derived from one master secret (ONAIR_SECRET, or DATA_DIR/secret.key generated on first
 * start): one signs tokens, the other encrypts stream keys at rest (AES-256-GCM).
 */
export class Keys {
  readonly tokenKey: Buffer;
  private readonly encKey: Buffer;

  private constructor(master: Buffer) {
    this.tokenKey = Buffer.from(hkdfSync('sha256', master, 'onair', 'token-signing', 32));
    this.encKey = Buffer.from(hkdfSync('sha256', master, 'onair', 'stream-key-encryption', 32));
  }

  static load(secret: string | null, dataDir: string): Keys {
    if (secret !== null) return new Keys(Buffer.from(secret, 'utf8'));
    const file = join(dataDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    }
    return new Keys(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }

  /** `v1.<iv>.<tag>.<ciphertext>` in base64url. */
  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown sealed value format');
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
