/** One m-line of the composer's SDP: where ffmpeg listens and what the RTP carries. */
export interface SdpMedia {
  kind: 'audio' | 'video';
  /** RTP port; RTCP is port + 1. */
  port: number;
  payloadType: number;
  /** e.g. 'video/VP8', 'audio/opus'. */
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, string | number>;
}

/**
 * A single SDP describing every RTP input, so ffmpeg opens them all at once (separate SDP inputs
 * are probed one after another and lose the start of later streams).
 */
export function buildSdp(media: SdpMedia[], ip = '127.0.0.1'): string {
  const lines = ['v=0', `o=- 0 0 IN IP4 ${ip}`, 's=OnAir composer', `c=IN IP4 ${ip}`, 't=0 0'];
  for (const m of media) {
    const codec = m.mimeType.split('/')[1] ?? m.mimeType;
    const channels = m.kind === 'audio' && m.channels && m.channels > 1 ? `/${m.channels}` : '';
    lines.push(`m=${m.kind} ${m.port} RTP/AVP ${m.payloadType}`);
    lines.push(`c=IN IP4 ${ip}`);
    lines.push(`a=rtcp:${m.port + 1}`);
    lines.push(`a=rtpmap:${m.payloadType} ${codec}/${m.clockRate}${channels}`);
    const params = Object.entries(m.parameters ?? {});
    if (params.length > 0) lines.push(`a=fmtp:${m.payloadType} ${params.map(([k, v]) => `${k}=${v}`).join(';')}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\n')}\n`;
}
