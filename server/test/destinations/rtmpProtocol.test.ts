import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { amfObject, decodeAmf0, encodeAmf0, type AmfValue } from '../../src/destinations/rtmp/amf0.js';
import {
  ChunkReader,
  ChunkWriter,
  EVENT_PING_REQUEST,
  EVENT_PING_RESPONSE,
  HANDSHAKE_SIZE,
  MSG_ACKNOWLEDGEMENT,
  MSG_AUDIO,
  MSG_COMMAND_AMF0,
  MSG_DATA_AMF0,
  MSG_SET_CHUNK_SIZE,
  MSG_SET_PEER_BANDWIDTH,
  MSG_USER_CONTROL,
  MSG_VIDEO,
  MSG_WINDOW_ACK_SIZE,
  uint32Payload,
  userControlPayload,
  type RtmpMessage,
} from '../../src/destinations/rtmp/chunks.js';
import { RtmpPublisher } from '../../src/destinations/rtmp/RtmpPublisher.js';
import { flvHeader, serializeTag, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO } from '../../src/flv/flv.js';

const logger = pino({ level: 'silent' });

describe('AMF0', () => {
  const cases: Array<[string, AmfValue[], string]> = [
    ['number', [1], '003ff0000000000000'],
    ['boolean', [true, false], '01010100'],
    ['string', ['connect'], '020007636f6e6e656374'],
    ['null and undefined', [null, undefined], '0506'],
    ['object', [{ app: 'live' }], '0300036170700200046c697665000009'],
    ['strict array', [[1, 'a']], '0a00000002003ff000000000000002000161'],
  ];
  for (const [what, values, hex] of cases) {
    it(`${what}: encodes to ${hex} and decodes back`, () => {
      assert.equal(encodeAmf0(...values).toString('hex'), hex);
      assert.deepEqual(decodeAmf0(Buffer.from(hex, 'hex')), values);
    });
  }

  it('decodes an ECMA array (FLV onMetaData) and a long string', () => {
    const width = Buffer.alloc(8);
    width.writeDoubleBE(640);
    const ecma = Buffer.concat([Buffer.from('0800000001', 'hex'), Buffer.from('0005', 'hex'), Buffer.from('width'), Buffer.from([0]), width, Buffer.from('000009', 'hex')]);
    assert.deepEqual(decodeAmf0(ecma), [{ width: 640 }]);
    const long = 'x'.repeat(70_000);
    assert.deepEqual(decodeAmf0(encodeAmf0(long)), [long]);
    assert.equal(encodeAmf0(long)[0], 0x0c);
  });

  it('refuses a value cut short', () => {
    assert.throws(() => decodeAmf0(Buffer.from('0200056162', 'hex')), /cut short/);
  });
});

const message = (type: number, timestamp: number, size: number, streamId = 1): RtmpMessage => ({
  type,
  streamId,
  timestamp,
  payload: Buffer.alloc(size, type),
});

function readAll(bytes: Buffer, setup: (reader: ChunkReader) => void = () => undefined, step = bytes.length): RtmpMessage[] {
  const reader = new ChunkReader();
  setup(reader);
  const out: RtmpMessage[] = [];
  for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step), (m) => out.push(m));
  return out;
}

describe('RTMP chunks', () => {
  it('first message on a chunk stream: type-0 header (12 bytes), then type-3 chunks', () => {
    const writer = new ChunkWriter();
    const bytes = writer.encode(6, message(MSG_VIDEO, 40, 300));
    assert.equal(bytes[0], 0x06, 'fmt 0, csid 6');
    assert.equal(bytes.readUIntBE(1, 3), 40, 'timestamp');
    assert.equal(bytes.readUIntBE(4, 3), 300, 'length');
    assert.equal(bytes[7], MSG_VIDEO);
    assert.equal(bytes.readUInt32LE(8), 1, 'message stream id, little endian');
    assert.equal(bytes[12 + 128], 0xc6, 'fmt 3 after the first 128 bytes');
    assert.equal(bytes[12 + 128 + 1 + 128], 0xc6);
    assert.equal(bytes.length, 12 + 300 + 2);
  });

  const headerCases: Array<[string, number[], number, number]> = [
    ['later message, timestamp forward → type 1 with the delta', [40, 73], 1, 33],
    ['timestamp going back → type 0 with the absolute time', [40, 20], 0, 20],
    ['same timestamp → type 1 with delta 0', [40, 40], 1, 0],
  ];
  for (const [what, [t1, t2], fmt, field] of headerCases) {
    it(what, () => {
      const writer = new ChunkWriter();
      writer.encode(4, message(MSG_AUDIO, t1 ?? 0, 10));
      const second = writer.encode(4, message(MSG_AUDIO, t2 ?? 0, 10));
      assert.equal(second[0]! >> 6, fmt);
      assert.equal(second.readUIntBE(1, 3), field);
    });
  }

  it('a timestamp from 0xFFFFFF up goes in the extended field, repeated in every type-3 chunk, and reads back', () => {
    const writer = new ChunkWriter();
    const big = 0x1234567;
    const bytes = writer.encode(6, message(MSG_VIDEO, big, 200));
    assert.equal(bytes.readUIntBE(1, 3), 0xffffff);
    assert.equal(bytes.readUInt32BE(12), big);
    assert.equal(bytes[16 + 128], 0xc6);
    assert.equal(bytes.readUInt32BE(16 + 128 + 1), big, 'type-3 chunk repeats the extended timestamp');
    const later = writer.encode(6, message(MSG_VIDEO, big + 0x1000000, 10));
    assert.equal(later[0]! >> 6, 1);
    assert.equal(later.readUIntBE(1, 3), 0xffffff, 'a delta that large is extended too');
    const read = readAll(Buffer.concat([bytes, later]));
    assert.deepEqual(read.map((m) => m.timestamp), [big, big + 0x1000000]);
    assert.deepEqual(read.map((m) => m.payload.length), [200, 10]);
  });

  it('chunk stream ids of 2 and 3 bytes (64–319, 320–65599) round-trip', () => {
    const writer = new ChunkWriter();
    const bytes = Buffer.concat([writer.encode(70, message(MSG_AUDIO, 1, 5)), writer.encode(400, message(MSG_VIDEO, 2, 300))]);
    assert.equal(bytes[0], 0x00, 'csid 70: marker 0 then 70 − 64');
    assert.equal(bytes[1], 6);
    const read = readAll(bytes, undefined, 7);
    assert.deepEqual(read.map((m) => [m.type, m.timestamp, m.payload.length]), [[MSG_AUDIO, 1, 5], [MSG_VIDEO, 2, 300]]);
  });

  it('reads interleaved chunk streams, byte by byte, across a chunk size change', () => {
    const writer = new ChunkWriter();
    const a = writer.encode(4, message(MSG_AUDIO, 10, 200));
    const b = writer.encode(6, message(MSG_VIDEO, 11, 20));
    // Chunks of A and B interleaved as a server may send them: A's first chunk, B, A's second chunk.
    const interleaved = Buffer.concat([a.subarray(0, 12 + 128), b, a.subarray(12 + 128)]);
    const read = readAll(interleaved, undefined, 1);
    assert.deepEqual(read.map((m) => [m.type, m.payload.length]), [[MSG_VIDEO, 20], [MSG_AUDIO, 200]]);

    const big = new ChunkWriter();
    const sizeChange = big.encode(2, { type: MSG_SET_CHUNK_SIZE, streamId: 0, timestamp: 0, payload: uint32Payload(4096) });
    big.setChunkSize(4096);
    const after = big.encode(3, message(MSG_COMMAND_AMF0, 0, 3000, 0));
    const reader = new ChunkReader();
    const out: RtmpMessage[] = [];
    reader.push(Buffer.concat([sizeChange, after]), (m) => {
      out.push(m);
      if (m.type === MSG_SET_CHUNK_SIZE) reader.setChunkSize(m.payload.readUInt32BE(0));
    });
    assert.deepEqual(out.map((m) => m.payload.length), [4, 3000]);
  });

  it('a type-3 header starting a new message reuses the last delta', () => {
    const writer = new ChunkWriter();
    const first = writer.encode(4, message(MSG_AUDIO, 100, 4));
    const second = writer.encode(4, message(MSG_AUDIO, 121, 4));
    const third = Buffer.concat([Buffer.from([0xc4]), Buffer.alloc(4, 8)]);
    assert.deepEqual(readAll(Buffer.concat([first, second, third])).map((m) => m.timestamp), [100, 121, 142]);
  });
});

interface Received {
  commands: AmfValue[][];
  control: RtmpMessage[];
  media: RtmpMessage[];
  data: AmfValue[][];
  ended: boolean;
}

/**
 * A scripted RTMP server, standing in for a platform where nginx-rtmp cannot be made to behave
 * this way: tiny chunk size and acknowledgement window, a ping request before accepting the publish.
 */
async function scriptedServer(options: { refuse?: boolean } = {}): Promise<{ url: string; received: Received; done: Promise<void>; close(): void }> {
  const received: Received = { commands: [], control: [], media: [], data: [], ended: false };
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const server = createServer((socket: Socket) => {
    let handshake = Buffer.alloc(0);
    let shaken = false;
    const reader = new ChunkReader();
    const writer = new ChunkWriter();
    const send = (csid: number, type: number, payload: Buffer, streamId = 0): void => {
      socket.write(writer.encode(csid, { type, streamId, timestamp: 0, payload }));
    };
    const reply = (...values: AmfValue[]): void => send(3, MSG_COMMAND_AMF0, encodeAmf0(...values));
    socket.on('data', (data: Buffer) => {
      if (!shaken) {
        handshake = Buffer.concat([handshake, data]);
        if (handshake.length >= 1 + HANDSHAKE_SIZE && handshake.length - data.length < 1 + HANDSHAKE_SIZE) {
          const c1 = handshake.subarray(1, 1 + HANDSHAKE_SIZE);
          socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(HANDSHAKE_SIZE, 7), c1]));
        }
        if (handshake.length < 1 + 2 * HANDSHAKE_SIZE) return;
        shaken = true;
        data = handshake.subarray(1 + 2 * HANDSHAKE_SIZE);
        send(2, MSG_WINDOW_ACK_SIZE, uint32Payload(1000));
        send(2, MSG_SET_PEER_BANDWIDTH, Buffer.concat([uint32Payload(5_000_000), Buffer.from([2])]));
        send(2, MSG_SET_CHUNK_SIZE, uint32Payload(60));
        writer.setChunkSize(60);
      }
      reader.push(data, (m) => {
        if (m.type === MSG_SET_CHUNK_SIZE) reader.setChunkSize(m.payload.readUInt32BE(0));
        if (m.type === MSG_AUDIO || m.type === MSG_VIDEO) received.media.push(m);
        else if (m.type === MSG_DATA_AMF0) received.data.push(decodeAmf0(m.payload));
        else if (m.type !== MSG_COMMAND_AMF0) received.control.push(m);
        if (m.type !== MSG_COMMAND_AMF0) return;
        const command = decodeAmf0(m.payload);
        received.commands.push(command);
        const [name, transaction] = command;
        if (name === 'connect') {
          reply('_result', transaction, { fmsVer: 'FMS/3,5,7,7009', capabilities: 31 }, { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded. '.repeat(4) });
          reply('onBWDone', 0, null, 'x'.repeat(1200)); // more than the 1000-byte window: the client must acknowledge
        } else if (name === 'createStream') {
          reply('_result', transaction, null, 1);
        } else if (name === 'publish') {
          send(2, MSG_USER_CONTROL, userControlPayload(EVENT_PING_REQUEST, 12345));
          const info = options.refuse
            ? { level: 'error', code: 'NetStream.Publish.BadName', description: 'Stream key not accepted' }
            : { level: 'status', code: 'NetStream.Publish.Start', description: 'Publishing.' };
          send(5, MSG_COMMAND_AMF0, encodeAmf0('onStatus', 0, null, info), 1);
        } else if (name === 'deleteStream') {
          resolveDone();
        }
      });
    });
    socket.on('end', () => {
      received.ended = true;
      socket.end();
      resolveDone();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `rtmp://127.0.0.1:${port}/app/inst/the-key?token=1`, received, done, close: () => server.close() };
}

/** FLV a relay would hand over: metadata, sequence headers, a keyframe, more frames; one 4.7 hours in. */
function sampleFlv(): Buffer {
  const tag = (type: number, timestamp: number, data: number[] | Buffer): Buffer => serializeTag({ type, timestamp, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
  return Buffer.concat([
    flvHeader(),
    tag(TAG_SCRIPT, 0, encodeAmf0('onMetaData', { width: 640, height: 360 })),
    tag(TAG_VIDEO, 5000, [0x17, 0x00, 0, 0, 0, 1, 0x64]),
    tag(TAG_AUDIO, 5000, [0xaf, 0x00, 0x11, 0x90]),
    tag(TAG_VIDEO, 5000, Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), Buffer.alloc(9000, 1)])),
    tag(TAG_AUDIO, 5021, [0xaf, 0x01, 1, 2, 3]),
    tag(TAG_VIDEO, 5033, [0x27, 0x01, 0, 0, 0, 2]),
    tag(TAG_VIDEO, 5000 + 0x1000000, [0x27, 0x01, 0, 0, 0, 3]),
  ]);
}

describe('RtmpPublisher protocol details (scripted RTMP server)', () => {
  it('connect → releaseStream/FCPublish/createStream → publish; answers pings, acknowledges, then sends @setDataFrame and the media; FCUnpublish/deleteStream on stop', async () => {
    const server = await scriptedServer();
    const publisher = RtmpPublisher.start({ publishUrl: server.url, logger });
    publisher.write(sampleFlv());
    assert.ok(publisher.backlogBytes > 9000, 'FLV waiting for the publish to start counts as backlog');
    await new Promise<void>((resolve, reject) => {
      publisher.once('live', () => resolve());
      publisher.once('failed', (f) => reject(new Error(f.message)));
    });
    await new Promise((r) => setTimeout(r, 200));
    await publisher.stop(true);
    await server.done;
    server.close();
    const { commands, control, media, data } = server.received;

    assert.deepEqual(commands.map((c) => c[0]), ['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish', 'FCUnpublish', 'deleteStream']);
    const connect = amfObject(commands[0]?.[2]);
    assert.equal(connect.app, 'app/inst');
    assert.equal(connect.tcUrl, server.url.replace('/the-key?token=1', ''));
    assert.equal(connect.type, 'nonprivate');
    assert.match(String(connect.flashVer), /^FMLE\/3\.0/);
    assert.deepEqual(commands[4]?.slice(2), [null, 'the-key?token=1', 'live']);
    assert.deepEqual(commands[6]?.slice(2), [null, 1]);

    const ping = control.find((m) => m.type === MSG_USER_CONTROL);
    assert.equal(ping?.payload.readUInt16BE(0), EVENT_PING_RESPONSE);
    assert.equal(ping?.payload.readUInt32BE(2), 12345);
    const ack = control.find((m) => m.type === MSG_ACKNOWLEDGEMENT);
    assert.ok(ack && ack.payload.readUInt32BE(0) >= 1000, 'acknowledged once the window was received');
    assert.ok(control.some((m) => m.type === MSG_WINDOW_ACK_SIZE && m.payload.readUInt32BE(0) === 5_000_000), 'answered Set Peer Bandwidth');
    assert.ok(control.some((m) => m.type === MSG_SET_CHUNK_SIZE && m.payload.readUInt32BE(0) === 4096));

    assert.deepEqual(data[0]?.slice(0, 2), ['@setDataFrame', 'onMetaData']);
    assert.deepEqual(
      media.map((m) => [m.type, m.timestamp, m.payload.length, m.streamId]),
      [
        [MSG_VIDEO, 0, 7, 1],
        [MSG_AUDIO, 0, 4, 1],
        [MSG_VIDEO, 0, 9005, 1],
        [MSG_AUDIO, 21, 5, 1],
        [MSG_VIDEO, 33, 6, 1],
        [MSG_VIDEO, 0x1000000, 6, 1],
      ],
      'timestamps from the FLV tags, from 0 for this connection, extended above 0xFFFFFF',
    );
  });

  it('an error onStatus before NetStream.Publish.Start → refused with the server’s words', async () => {
    const server = await scriptedServer({ refuse: true });
    const publisher = RtmpPublisher.start({ publishUrl: server.url, logger });
    publisher.write(sampleFlv());
    const failure = await new Promise<{ kind: string; message: string }>((resolve) => publisher.once('failed', resolve));
    server.close();
    assert.deepEqual(failure, { kind: 'refused', message: 'The platform refused the stream key (NetStream.Publish.BadName: Stream key not accepted).' });
  });
});
