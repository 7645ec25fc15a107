import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { videoHandling } from '../../src/ingest/IngestService.js';
import { FLV_VIDEO, type RtmpMediaPacket } from '../../src/ingest/RtmpIngestServer.js';

/** An FLV video tag payload carrying an AVC sequence header with this profile_idc (byte 6: the record's AVCProfileIndication). */
function avcHeader(codecId: number, profileIdc: number): RtmpMediaPacket {
  const payload = Buffer.from([0x10 | codecId, 0, 0, 0, 0, 1, profileIdc, 0xc0, 0x1f, 0xff]);
  return { type: FLV_VIDEO, codecId, payload, tag: payload, sequenceHeader: true };
}

describe('which sources are passed through (H.264 every browser decodes) and which transcoded', () => {
  for (const { name, header, expected } of [
    { name: 'H.264 Constrained Baseline (42 c0)', header: avcHeader(7, 66), expected: 'passthrough' },
    { name: 'H.264 Main (4d)', header: avcHeader(7, 77), expected: 'transcode' },
    { name: 'H.264 High (64), OBS default', header: avcHeader(7, 100), expected: 'transcode' },
    { name: 'another codec (FLV id 12, HEVC)', header: avcHeader(12, 1), expected: 'transcode' },
    { name: 'no sequence header seen', header: null, expected: 'transcode' },
  ] as const) {
    it(`${name} → ${expected}`, () => assert.equal(videoHandling(header), expected));
  }
});
