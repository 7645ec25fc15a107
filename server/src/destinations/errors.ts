import { redact } from '../logger.js';
import { hostOf } from './url.js';

/** Failures that retrying will not fix by itself (the key or the address is wrong). */
export type FailureKind = 'refused' | 'not_found' | 'unsupported' | 'transient';

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

/** Plain words for a failed publish, e.g. "Could not connect to a.rtmp.youtube.com: connection refused." */
export function describeFfmpegFailure(stderr: string, publishUrl: string): string {
  return classifyFfmpegFailure(stderr, publishUrl).message;
}
