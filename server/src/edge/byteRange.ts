/** What to answer a GET with an optional `Range` header (RFC 9110 §14), for a file of `size` bytes. */
export type RangeAnswer =
  | { kind: 'full' }
  /** 206 with bytes start..end, both inclusive. */
  | { kind: 'partial'; start: number; end: number }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

/** More digits than this cannot be a byte offset of a file here and may lose precision as a number. */
const MAX_DIGITS = 15;

/**
 * Parses one `bytes=` range: `a-b`, `a-` or `-n` (the last n bytes). A header that is not a
 * bytes range, or asks for several ranges, is answered with the whole file (a server may always
 * ignore Range; players ask for one range at a time). A range that starts past the end, or an
 * empty suffix, is unsatisfiable.
 */
export function parseByteRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if ((first === '' && last === '') || first.length > MAX_DIGITS || last.length > MAX_DIGITS) return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * `If-Range`: the range applies only if the file is still the one the client saw (same ETag, or
 * same Last-Modified date); otherwise the whole file is sent.
 */
export function ifRangeMatches(ifRange: string | undefined, etag: string, lastModified: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('W/')) return false;
  if (value.startsWith('"')) return value === etag;
  return value === lastModified;
}
