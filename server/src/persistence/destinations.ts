import type { Destination, Platform, ProgramKind } from '@onair/shared';
import type { Keys } from './keys.js';
import { AppError } from '../errors.js';
import { registerSecret } from '../logger.js';
import { newId, type Db } from './db.js';

interface DestinationRow {
  id: string;
  name: string;
  platform: Platform;
  server_url: string;
  stream_key_enc: string;
  stream_key_last4: string;
  allow_untrusted_certificate: number;
  program: string;
  created_at: string;
}

const programOf = (r: DestinationRow): ProgramKind => (r.program === 'vertical' ? 'vertical' : 'landscape');

export interface DestinationWithKey {
  id: string;
  name: string;
  platform: Platform;
  serverUrl: string;
  streamKey: string;
  allowUntrustedCertificate: boolean;
  program: ProgramKind;
}

interface DestinationFields {
  name: string;
  platform: Platform;
  serverUrl: string;
  streamKey: string;
  /** Default false. */
  allowUntrustedCertificate?: boolean;
  /** Default 'landscape'. */
  program?: ProgramKind;
}

const toDestination = (r: DestinationRow): Destination => ({
  id: r.id,
  name: r.name,
  platform: r.platform,
  serverUrl: r.server_url,
  streamKeyMasked: `••••${r.stream_key_last4}`,
  allowUntrustedCertificate: r.allow_untrusted_certificate === 1,
  program: programOf(r),
  createdAt: r.created_at,
});

/** Stream keys are stored encrypted; only withKey() decrypts, for the process that pushes. */
export class DestinationsRepo {
  constructor(
    private readonly db: Db,
    private readonly keys: Keys,
  ) {}

  create(input: DestinationFields): Destination {
    const id = newId('d');
    registerSecret(input.streamKey);
    this.db
      .prepare(
        'INSERT INTO destinations (id, name, platform, server_url, stream_key_enc, stream_key_last4, allow_untrusted_certificate, program, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        id,
        input.name,
        input.platform,
        input.serverUrl,
        this.keys.encrypt(input.streamKey),
        input.streamKey.slice(-4),
        input.allowUntrustedCertificate ? 1 : 0,
        input.program ?? 'landscape',
        new Date().toISOString(),
      );
    return this.get(id);
  }

  private row(id: string): DestinationRow {
    const r = this.db.prepare('SELECT * FROM destinations WHERE id = ? AND deleted_at IS NULL').get(id) as DestinationRow | undefined;
    if (!r) throw new AppError('DESTINATION_NOT_FOUND', `No destination with id ${id}.`);
    return r;
  }

  get(id: string): Destination {
    return toDestination(this.row(id));
  }

  exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM destinations WHERE id = ? AND deleted_at IS NULL').get(id) !== undefined;
  }

  list(): Destination[] {
    return (this.db.prepare('SELECT * FROM destinations WHERE deleted_at IS NULL ORDER BY created_at').all() as DestinationRow[]).map(toDestination);
  }

  withKey(id: string): DestinationWithKey {
    const r = this.row(id);
    let streamKey: string;
    try {
      streamKey = this.keys.decrypt(r.stream_key_enc);
    } catch {
      // Sealed with another master secret (secret.key lost or ONAIR_SECRET changed): only this
      // destination is unusable, and an admin can enter its key again.
      throw new AppError(
        'STREAM_KEY_UNREADABLE',
        `The stream key of "${r.name}" cannot be read: the server's secret (DATA_DIR/secret.key or ONAIR_SECRET) is not the one it was saved with. Enter the stream key again in the dashboard, or restore the original secret.`,
      );
    }
    registerSecret(streamKey);
    return { id: r.id, name: r.name, platform: r.platform, serverUrl: r.server_url, streamKey, allowUntrustedCertificate: r.allow_untrusted_certificate === 1, program: programOf(r) };
  }

  update(id: string, patch: Partial<DestinationFields>): Destination {
    const current = this.row(id);
    if (patch.streamKey !== undefined) registerSecret(patch.streamKey);
    // One statement, so a failed update changes nothing.
    this.db
      .prepare('UPDATE destinations SET name = ?, platform = ?, server_url = ?, stream_key_enc = ?, stream_key_last4 = ?, allow_untrusted_certificate = ?, program = ? WHERE id = ?')
      .run(
        patch.name ?? current.name,
        patch.platform ?? current.platform,
        patch.serverUrl ?? current.server_url,
        patch.streamKey !== undefined ? this.keys.encrypt(patch.streamKey) : current.stream_key_enc,
        patch.streamKey !== undefined ? patch.streamKey.slice(-4) : current.stream_key_last4,
        patch.allowUntrustedCertificate !== undefined ? (patch.allowUntrustedCertificate ? 1 : 0) : current.allow_untrusted_certificate,
        patch.program ?? programOf(current),
        id,
      );
    return this.get(id);
  }

  delete(id: string): void {
    this.row(id);
    this.db.prepare('UPDATE destinations SET deleted_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  }

  /**
   * Registers every stored key with the log redactor (at boot). Returns the names of destinations
   * whose key cannot be decrypted (a lost or changed secret): the server still starts.
   */
  registerAllSecrets(): string[] {
    const unreadable: string[] = [];
    for (const r of this.db.prepare('SELECT id, name FROM destinations WHERE deleted_at IS NULL').all() as Array<{ id: string; name: string }>) {
      try {
        this.withKey(r.id);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        unreadable.push(r.name);
      }
    }
    return unreadable;
  }
}
