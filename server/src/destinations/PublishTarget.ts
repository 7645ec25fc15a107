import type { Platform, ProgramKind } from '@onair/shared';
import { registerSecret } from '../logger.js';
import { buildPublishUrl, maskedUrl } from './url.js';

/** A destination as stored, with its stream key decrypted (what persistence hands to the broadcast). */
export interface DestinationWithStreamKey {
  id: string;
  name: string;
  platform: Platform;
  serverUrl: string;
  streamKey: string;
  /** Publish even if an rtmps:// server's certificate fails verification. Default false. */
  allowUntrustedCertificate?: boolean;
  /** The program it takes. Default 'landscape'. */
  program?: ProgramKind;
}

/**
 * A destination resolved once into what every place needs: where to publish (the URL with the
 * key: a secret, registered for redaction the moment it exists) and how to show it (masked).
 * The broadcast, its destinations, the Test push and the history all use this one shape.
 */
export interface PublishTarget {
  readonly id: string;
  readonly name: string;
  readonly platform: Platform;
  readonly program: ProgramKind;
  readonly publishUrl: string;
  /** e.g. rtmp://a.rtmp.youtube.com/live2/••••abcd */
  readonly maskedUrl: string;
  readonly allowUntrustedCertificate: boolean;
  /** rtmps:// with certificate checks switched off (recorded as such in the history). */
  readonly unverifiedTls: boolean;
}

/** Resolves a stored destination; throws INVALID_RTMP_URL (in plain words) when its server URL is not one. */
export function resolvePublishTarget(d: DestinationWithStreamKey): PublishTarget {
  registerSecret(d.streamKey);
  const publishUrl = buildPublishUrl(d.serverUrl, d.streamKey);
  registerSecret(publishUrl);
  const allowUntrustedCertificate = d.allowUntrustedCertificate ?? false;
  return {
    id: d.id,
    name: d.name,
    platform: d.platform,
    program: d.program ?? 'landscape',
    publishUrl,
    maskedUrl: maskedUrl(d.serverUrl, d.streamKey),
    allowUntrustedCertificate,
    unverifiedTls: allowUntrustedCertificate && /^rtmps:/i.test(publishUrl),
  };
}
