import { redact } from '../logger.js';
import { hostOf } from './url.js';

/**
 * Why a publish ended. All but 'transient' are failures that retrying will not fix by itself (the
 * key or the address is wrong, the server's certificate is not trusted).
 */
export type FailureKind = 'refused' | 'not_found' | 'unsupported' | 'untrusted_certificate' | 'transient';

export interface DescribedFailure {
  kind: FailureKind;
  message: string;
}

const rules: Array<{ test: RegExp; kind: FailureKind; message: (host: string, scheme: string) => string }> = [
  {
    test: /NetStream\.Publish\.(BadName|Rejected|Denied|Forbidden)|Publish\.BadConnection|NetConnection\.Connect\.Rejected|Unauthori[sz]ed|Forbidden|authentication failed|Server error: (?!.*(Connection|timeout))/i,
    kind: 'refused',
    message: () => 'The platform refused the stream key.',
  },
  {
    test: /Failed to resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution|No address associated with hostname/i,
    kind: 'not_found',
    message: (host) => `Host not found: ${host}.`,
  },
  {
    test: /Protocol not found|Unsupported protocol/i,
    kind: 'unsupported',
    message: (_host, scheme) => `This ffmpeg cannot publish to ${scheme}:// addresses.`,
  },
  {
    test: /Connection refused/i,
    kind: 'transient',
    message: (host) => `Could not connect to ${host}: connection refused.`,
  },
  {
    test: /\bTLS\b|\bSSL\b|GnuTLS|certificate|handshake/i,
    kind: 'transient',
    message: (host) => `TLS handshake with ${host} failed.`,
  },
  {
    test: /timed out|Connection timeout/i,
    kind: 'transient',
    message: (host) => `${host} did not answer in time.`,
  },
  {
    test: /Connection reset by peer|Broken pipe|End of file/i,
    kind: 'transient',
    message: (host) => `The connection to ${host} was dropped.`,
  },
  {
    test: /Network is unreachable|No route to host/i,
    kind: 'transient',
    message: (host) => `${host} cannot be reached from this server.`,
  },
  {
    // nginx-rtmp and several platforms just close the connection when they do not accept a
    // publish (unknown application or key); ffmpeg reports that as an I/O error while connecting.
    test: /Input\/output error/i,
    kind: 'refused',
    message: () => 'The platform refused the stream key (or the application path is wrong).',
  },
];

/** Turns the stderr of a failed ffmpeg publish into a failure kind and plain words (never the key). */
export function classifyFfmpegFailure(stderr: string, publishUrl: string): DescribedFailure {
  const host = hostOf(publishUrl) || 'the server';
  const scheme = /^([a-z]+):/i.exec(publishUrl)?.[1]?.toLowerCase() ?? 'rtmp';
  for (const rule of rules) {
    if (rule.test.test(stderr)) return { kind: rule.kind, message: rule.message(host, scheme) };
  }
  const last = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^(Input|Output|Stream|Metadata|Duration|\s)/.test(l) && !l.startsWith('['))
    .pop();
  const detail = last ? redact(last).split(publishUrl).join(hostOf(publishUrl)).slice(0, 160) : 'no details';
  return { kind: 'transient', message: `Sending to ${host} failed (${detail}).` };
}

/** OpenSSL / Node verification codes in words (the part in brackets of the untrusted-certificate message). */
const CERTIFICATE_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by a self-signed certificate that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'issued by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'issued by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issued by an unknown authority',
  CERT_UNTRUSTED: 'issued by an untrusted authority',
  CERT_SIGNATURE_FAILURE: 'bad signature',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not valid yet',
  CERT_REVOKED: 'revoked',
  CERT_REJECTED: 'rejected',
  INVALID_CA: 'issued by an invalid authority',
  INVALID_PURPOSE: 'not meant for servers',
  HOSTNAME_MISMATCH: 'host name mismatch',
  ERR_TLS_CERT_ALTNAME_INVALID: 'host name mismatch',
};

/** The plain words for a certificate that failed verification. */
export function untrustedCertificateMessage(reason: string): string {
  return `The server's TLS certificate is not trusted (${reason}). If this is your own server, turn on "Allow an untrusted certificate" for this destination.`;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Turns a socket or TLS error of a publish connection into a failure kind and plain words. */
export function describeConnectionError(error: unknown, host: string): DescribedFailure {
  const code = errorCode(error);
  const reason = CERTIFICATE_REASONS[code];
  if (reason) return { kind: 'untrusted_certificate', message: untrustedCertificateMessage(reason) };
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return { kind: 'not_found', message: `Host not found: ${host}.` };
    case 'EAI_AGAIN':
      return { kind: 'transient', message: `Host not found: ${host} (the name server did not answer).` };
    case 'ECONNREFUSED':
      return { kind: 'transient', message: `Could not connect to ${host}: connection refused.` };
    case 'ETIMEDOUT':
      return { kind: 'transient', message: `${host} did not answer in time.` };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return { kind: 'transient', message: `The connection to ${host} was dropped.` };
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return { kind: 'transient', message: `${host} cannot be reached from this server.` };
    default:
      break;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test(message)) {
    return { kind: 'transient', message: `TLS handshake with ${host} failed.` };
  }
  return { kind: 'transient', message: `Sending to ${host} failed (${redact(message).slice(0, 160)}).` };
}
