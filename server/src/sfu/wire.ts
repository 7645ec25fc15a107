import type { types } from 'mediasoup';
import type { RtpCapabilities, RtpParameters } from 'mediasoup-client/types';

/*
 * mediasoup and mediasoup-client describe the same wire format, but their TypeScript unions of
 * header-extension URIs differ between versions (the server knows urn:...:toffset, the client does
 * not), so the compiler cannot see they match. These are the only places the two types meet.
 */

export function toClientRtpCapabilities(caps: types.RtpCapabilities): RtpCapabilities {
  return caps as unknown as RtpCapabilities;
}

export function toClientRtpParameters(params: types.RtpParameters): RtpParameters {
  return params as unknown as RtpParameters;
}
