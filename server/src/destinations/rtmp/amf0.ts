/** AMF0, the encoding of RTMP commands and of FLV metadata: the subset an RTMP publisher meets. */

export type AmfValue = number | boolean | string | null | undefined | Date | AmfValue[] | { [key: string]: AmfValue };

const NUMBER = 0x00;
const BOOLEAN = 0x01;
const STRING = 0x02;
const OBJECT = 0x03;
const NULL = 0x05;
const UNDEFINED = 0x06;
const REFERENCE = 0x07;
const ECMA_ARRAY = 0x08;
const OBJECT_END = 0x09;
const STRICT_ARRAY = 0x0a;
const DATE = 0x0b;
const LONG_STRING = 0x0c;
const XML_DOCUMENT = 0x0f;
const TYPED_OBJECT = 0x10;
const AVMPLUS = 0x11;

function encodeKey(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function encodeOne(value: AmfValue, parts: Buffer[]): void {
  if (value === null) {
    parts.push(Buffer.from([NULL]));
  } else if (value === undefined) {
    parts.push(Buffer.from([UNDEFINED]));
  } else if (typeof value === 'number') {
    const out = Buffer.allocUnsafe(9);
    out[0] = NUMBER;
    out.writeDoubleBE(value, 1);
    parts.push(out);
  } else if (typeof value === 'boolean') {
    parts.push(Buffer.from([BOOLEAN, value ? 1 : 0]));
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    const long = bytes.length > 0xffff;
    const out = Buffer.allocUnsafe((long ? 5 : 3) + bytes.length);
    out[0] = long ? LONG_STRING : STRING;
    if (long) out.writeUInt32BE(bytes.length, 1);
    else out.writeUInt16BE(bytes.length, 1);
    bytes.copy(out, long ? 5 : 3);
    parts.push(out);
  } else if (value instanceof Date) {
    const out = Buffer.alloc(11);
    out[0] = DATE;
    out.writeDoubleBE(value.getTime(), 1);
    parts.push(out);
  } else if (Array.isArray(value)) {
    const head = Buffer.allocUnsafe(5);
    head[0] = STRICT_ARRAY;
    head.writeUInt32BE(value.length, 1);
    parts.push(head);
    for (const item of value) encodeOne(item, parts);
  } else {
    parts.push(Buffer.from([OBJECT]));
    for (const [key, item] of Object.entries(value)) {
      parts.push(encodeKey(key));
      encodeOne(item, parts);
    }
    parts.push(Buffer.from([0, 0, OBJECT_END]));
  }
}

/** Encodes values one after the other, as an RTMP command or data message carries them. */
export function encodeAmf0(...values: AmfValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const value of values) encodeOne(value, parts);
  return Buffer.concat(parts);
}

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) throw new Error('AMF0 value cut short');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++] ?? 0;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  utf8(length: number): string {
    this.need(length);
    const v = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  /** Key/value pairs up to the empty key + OBJECT_END marker. */
  properties(): Record<string, AmfValue> {
    const out: Record<string, AmfValue> = {};
    for (;;) {
      const key = this.utf8(this.u16());
      if (key === '' && this.buf[this.offset] === OBJECT_END) {
        this.offset += 1;
        return out;
      }
      out[key] = this.value();
    }
  }

  value(): AmfValue {
    const marker = this.u8();
    switch (marker) {
      case NUMBER:
        return this.double();
      case BOOLEAN:
        return this.u8() !== 0;
      case STRING:
        return this.utf8(this.u16());
      case LONG_STRING:
      case XML_DOCUMENT:
        return this.utf8(this.u32());
      case OBJECT:
        return this.properties();
      case TYPED_OBJECT:
        this.utf8(this.u16());
        return this.properties();
      case ECMA_ARRAY:
        this.u32(); // count hint; the list still ends with the end marker
        return this.properties();
      case STRICT_ARRAY: {
        const count = this.u32();
        const items: AmfValue[] = [];
        for (let i = 0; i < count; i += 1) items.push(this.value());
        return items;
      }
      case DATE: {
        const ms = this.double();
        this.u16(); // time zone, unused by the format's own definition
        return new Date(ms);
      }
      case NULL:
        return null;
      case UNDEFINED:
        return undefined;
      case REFERENCE:
        this.u16();
        return undefined;
      case AVMPLUS:
        throw new Error('AMF3 values are not supported');
      default:
        throw new Error(`unknown AMF0 marker ${marker}`);
    }
  }
}

/** Decodes every value in the buffer (a command: name, transaction id, then its arguments). */
export function decodeAmf0(buf: Buffer): AmfValue[] {
  const reader = new Reader(buf);
  const values: AmfValue[] = [];
  while (reader.offset < buf.length) values.push(reader.value());
  return values;
}

/** The object fields of a decoded value, or an empty record for anything else. */
export function amfObject(value: AmfValue): Record<string, AmfValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? value : {};
}
