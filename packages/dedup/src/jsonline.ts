/**
 * Raw JSONL lines without JSON.parse: a line splitter over file bytes with
 * @curate/shards' numbering rules, and a validating scanner of one JSON
 * object per line that records the top-level keys and value spans and
 * whether the line is *canonical*, i.e. byte-identical to what the shards
 * JSONL writer would write for the parsed row with these keys in this order
 * (no white space, JSON.stringify escapes, shortest numbers, no duplicate or
 * array-index keys, valid UTF-8). Canonical lines can be copied as bytes;
 * anything else goes through JSON.parse like the generic reader, so the
 * output and the errors never differ from the generic path.
 */
export { decodeLine, isBlank, type LineChunk, parseLine, rawLines } from '@curate/shards/lines';

export const T_STRING = 1;
export const T_NUMBER = 2;
export const T_LITERAL = 3;
export const T_OBJECT = 4;
export const T_ARRAY = 5;

const MAX_DEPTH = 256;

/** Bytes a JSON string holds as they are: printable ASCII except `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 32; c < 128; c++) PLAIN[c] = c === 34 || c === 92 ? 0 : 1;
const MAX_KEYS = 1 << 16;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Length of the valid UTF-8 sequence at p (2-4), or -1. */
export function utf8Len(b: Uint8Array, p: number, end: number): number {
  const c = b[p];
  if (c < 0xc2) return -1;
  if (c < 0xe0) return p + 1 < end && (b[p + 1] & 0xc0) === 0x80 ? 2 : -1;
  if (c < 0xf0) {
    if (p + 2 >= end) return -1;
    const c1 = b[p + 1];
    if ((c1 & 0xc0) !== 0x80 || (b[p + 2] & 0xc0) !== 0x80) return -1;
    if (c === 0xe0 && c1 < 0xa0) return -1; // overlong
    if (c === 0xed && c1 >= 0xa0) return -1; // surrogate
    return 3;
  }
  if (c < 0xf5) {
    if (p + 3 >= end) return -1;
    const c1 = b[p + 1];
    if ((c1 & 0xc0) !== 0x80 || (b[p + 2] & 0xc0) !== 0x80 || (b[p + 3] & 0xc0) !== 0x80) return -1;
    if (c === 0xf0 && c1 < 0x90) return -1;
    if (c === 0xf4 && c1 >= 0x90) return -1;
    return 4;
  }
  return -1;
}

/** True for a key that is an array index (for..in and JSON.stringify put those first). */
function isIndexKey(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n === 0 || n > 10) return false;
  if (b[s] === 48) return n === 1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return false;
    v = v * 10 + (c - 48);
  }
  return v < 4294967295;
}

/**
 * Scans one line (bytes [s, e) of `b`). After `scan()`: `valid` (JSON object
 * that this scanner understood; otherwise use JSON.parse), `canonical`, and
 * per top-level key i: key bytes [keyStart[i], keyEnd[i]) (without quotes),
 * value bytes [valStart[i], valEnd[i]) (strings with quotes) and valType[i].
 * `plainKeys`: every key is free of escapes.
 */
export class LineScanner {
  b: Uint8Array = new Uint8Array(0);
  valid = false;
  canonical = false;
  plainKeys = true;
  nkeys = 0;
  keyStart = new Int32Array(64);
  keyEnd = new Int32Array(64);
  valStart = new Int32Array(64);
  valEnd = new Int32Array(64);
  valType = new Uint8Array(64);
  private canon = true;
  private depth = 0;

  /**
   * Key whose string value is not validated, only skipped (the caller checks it and decides
   * whether the line is canonical); `lazyCount` says how often the key occurred.
   */
  lazyKey: Uint8Array | undefined;
  lazyCount = 0;

  private isLazyKey(s: number, e: number): boolean {
    const k = this.lazyKey as Uint8Array;
    if (e - s !== k.length) return false;
    const b = this.b;
    for (let i = 0; i < k.length; i++) if (b[s + i] !== k[i]) return false;
    return true;
  }

  /** The end of a string body from p (after the closing quote), without validating it, or -1. */
  private skipString(p: number, e: number): number {
    const b = this.b;
    for (;;) {
      let q = b.indexOf(34, p);
      if (q < 0 || q >= e) return -1;
      let bs = 0;
      while (q - 1 - bs >= p && b[q - 1 - bs] === 92) bs++;
      if ((bs & 1) === 0) return q + 1;
      p = q + 1;
      q = -1;
    }
  }

  scan(b: Uint8Array, s: number, e: number): boolean {
    this.b = b;
    this.lazyCount = 0;
    this.canon = true;
    this.plainKeys = true;
    this.nkeys = 0;
    this.depth = 0;
    this.valid = false;
    this.canonical = false;
    let p = this.ws(s, e);
    if (p >= e || b[p] !== 123) return false;
    p = this.ws(p + 1, e);
    if (p < e && b[p] === 125) {
      p++;
    } else {
      for (;;) {
        if (p >= e || b[p] !== 34) return false;
        const ks = p + 1;
        const ke = this.str(ks, e);
        if (ke < 0) return false;
        if (this.hasEscape(ks, ke - 1)) {
          this.plainKeys = false;
          this.canon = false;
        }
        if (isIndexKey(b, ks, ke - 1)) this.canon = false;
        p = this.ws(ke, e);
        if (p >= e || b[p] !== 58) return false;
        p = this.ws(p + 1, e);
        const vs = p;
        const type = this.typeAt(p, e);
        const lazy = this.lazyKey !== undefined && this.isLazyKey(ks, ke - 1);
        if (lazy) this.lazyCount++;
        // the caller validates this string itself (the text kernel): only find its end
        if (lazy && type === T_STRING) p = this.skipString(p + 1, e);
        else p = this.value(p, e);
        if (p < 0) return false;
        const i = this.nkeys;
        if (i === MAX_KEYS) return false;
        if (i === this.keyStart.length) this.growKeys();
        this.keyStart[i] = ks;
        this.keyEnd[i] = ke - 1;
        this.valStart[i] = vs;
        this.valEnd[i] = p;
        this.valType[i] = type;
        this.nkeys = i + 1;
        p = this.ws(p, e);
        if (p >= e) return false;
        if (b[p] === 44) {
          p = this.ws(p + 1, e);
          continue;
        }
        if (b[p] === 125) {
          p++;
          break;
        }
        return false;
      }
    }
    if (this.ws(p, e) !== e) return false;
    if (this.canon && this.nkeys > 1 && this.hasDuplicateKeys()) this.canon = false;
    this.valid = true;
    this.canonical = this.canon;
    return true;
  }

  /** Index of the top-level key equal to the bytes of `name` (last one wins, as in JSON.parse), or -1. */
  find(name: Uint8Array): number {
    const b = this.b;
    const n = name.length;
    for (let i = this.nkeys - 1; i >= 0; i--) {
      const s = this.keyStart[i];
      if (this.keyEnd[i] - s !== n) continue;
      let j = 0;
      while (j < n && b[s + j] === name[j]) j++;
      if (j === n) return i;
    }
    return -1;
  }

  private growKeys(): void {
    const n = this.keyStart.length * 2;
    const g = (a: Int32Array) => {
      const x = new Int32Array(n);
      x.set(a);
      return x;
    };
    this.keyStart = g(this.keyStart);
    this.keyEnd = g(this.keyEnd);
    this.valStart = g(this.valStart);
    this.valEnd = g(this.valEnd);
    const t = new Uint8Array(n);
    t.set(this.valType);
    this.valType = t;
  }

  private hasEscape(s: number, e: number): boolean {
    const b = this.b;
    for (let i = s; i < e; i++) if (b[i] === 92) return true;
    return false;
  }

  private hasDuplicateKeys(): boolean {
    const b = this.b;
    const n = this.nkeys;
    for (let i = 1; i < n; i++) {
      const si = this.keyStart[i];
      const li = this.keyEnd[i] - si;
      for (let j = 0; j < i; j++) {
        const sj = this.keyStart[j];
        if (this.keyEnd[j] - sj !== li) continue;
        let k = 0;
        while (k < li && b[si + k] === b[sj + k]) k++;
        if (k === li) return true;
      }
    }
    return false;
  }

  private ws(p: number, e: number): number {
    const b = this.b;
    while (p < e) {
      const c = b[p];
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        this.canon = false;
        p++;
      } else break;
    }
    return p;
  }

  private typeAt(p: number, e: number): number {
    if (p >= e) return 0;
    const c = this.b[p];
    if (c === 34) return T_STRING;
    if (c === 123) return T_OBJECT;
    if (c === 91) return T_ARRAY;
    if (c === 116 || c === 102 || c === 110) return T_LITERAL;
    return T_NUMBER;
  }

  /** String body from p (after the opening quote); returns the position after the closing quote, or -1. */
  str(p: number, e: number): number {
    const b = this.b;
    for (;;) {
      while (p < e && PLAIN[b[p]] === 1) p++;
      if (p >= e) return -1;
      const c = b[p];
      if (c === 34) return p + 1;
      if (c === 92) {
        if (p + 1 >= e) return -1;
        const x = b[p + 1];
        if (x === 34 || x === 92 || x === 98 || x === 102 || x === 110 || x === 114 || x === 116) p += 2;
        else if (x === 117) {
          if (p + 5 >= e) return -1;
          const h0 = hexVal(b[p + 2]);
          const h1 = hexVal(b[p + 3]);
          const h2 = hexVal(b[p + 4]);
          const h3 = hexVal(b[p + 5]);
          if ((h0 | h1 | h2 | h3) < 0) return -1;
          const v = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
          // JSON.stringify writes \u00XX (lower-case hex) only for control characters without a short form
          if (
            v >= 0x20 ||
            v === 8 ||
            v === 9 ||
            v === 10 ||
            v === 12 ||
            v === 13 ||
            (b[p + 4] >= 65 && b[p + 4] <= 70) ||
            (b[p + 5] >= 65 && b[p + 5] <= 70)
          )
            this.canon = false;
          p += 6;
        } else if (x === 47) {
          this.canon = false;
          p += 2;
        } else return -1;
      } else if (c < 32) return -1;
      else if (c < 128) p++;
      else {
        const n = utf8Len(b, p, e);
        if (n < 0) {
          this.canon = false; // decoded as U+FFFD by the generic reader
          p++;
        } else p += n;
      }
    }
  }

  private value(p: number, e: number): number {
    const b = this.b;
    if (p >= e) return -1;
    const c = b[p];
    if (c === 34) return this.str(p + 1, e);
    if (c === 123 || c === 91) {
      if (++this.depth > MAX_DEPTH) return -1;
      const r = c === 123 ? this.object(p + 1, e) : this.array(p + 1, e);
      this.depth--;
      return r;
    }
    if (c === 116) return this.lit(p, e, 'true');
    if (c === 102) return this.lit(p, e, 'false');
    if (c === 110) return this.lit(p, e, 'null');
    return this.number(p, e);
  }

  private lit(p: number, e: number, word: string): number {
    if (p + word.length > e) return -1;
    for (let i = 0; i < word.length; i++) if (this.b[p + i] !== word.charCodeAt(i)) return -1;
    return p + word.length;
  }

  private number(p: number, e: number): number {
    const b = this.b;
    const s = p;
    let simple = true;
    if (p < e && b[p] === 45) p++;
    if (p >= e) return -1;
    if (b[p] === 48) p++;
    else if (b[p] >= 49 && b[p] <= 57) while (p < e && b[p] >= 48 && b[p] <= 57) p++;
    else return -1;
    if (p < e && b[p] === 46) {
      simple = false;
      p++;
      const d = p;
      while (p < e && b[p] >= 48 && b[p] <= 57) p++;
      if (p === d) return -1;
    }
    if (p < e && (b[p] === 101 || b[p] === 69)) {
      simple = false;
      p++;
      if (p < e && (b[p] === 43 || b[p] === 45)) p++;
      const d = p;
      while (p < e && b[p] >= 48 && b[p] <= 57) p++;
      if (p === d) return -1;
    }
    if (this.canon) {
      const digits = p - s - (b[s] === 45 ? 1 : 0);
      if (!simple || digits > 15 || (b[s] === 45 && b[s + 1] === 48)) {
        const tok = String.fromCharCode(...b.subarray(s, p));
        if (String(Number(tok)) !== tok) this.canon = false;
      }
    }
    return p;
  }

  private object(p: number, e: number): number {
    const b = this.b;
    p = this.ws(p, e);
    if (p < e && b[p] === 125) return p + 1;
    let keys: string[] | undefined;
    for (;;) {
      if (p >= e || b[p] !== 34) return -1;
      const ks = p + 1;
      const ke = this.str(ks, e);
      if (ke < 0) return -1;
      if (this.canon) {
        if (this.hasEscape(ks, ke - 1) || isIndexKey(b, ks, ke - 1)) this.canon = false;
        else {
          const k = Buffer.from(b.buffer, b.byteOffset + ks, ke - 1 - ks).toString('latin1');
          if (!keys) keys = [k];
          else if (keys.includes(k)) this.canon = false;
          else keys.push(k);
        }
      }
      p = this.ws(ke, e);
      if (p >= e || b[p] !== 58) return -1;
      p = this.value(this.ws(p + 1, e), e);
      if (p < 0) return -1;
      p = this.ws(p, e);
      if (p >= e) return -1;
      if (b[p] === 44) {
        p = this.ws(p + 1, e);
        continue;
      }
      if (b[p] === 125) return p + 1;
      return -1;
    }
  }

  private array(p: number, e: number): number {
    const b = this.b;
    p = this.ws(p, e);
    if (p < e && b[p] === 93) return p + 1;
    for (;;) {
      p = this.value(p, e);
      if (p < 0) return -1;
      p = this.ws(p, e);
      if (p >= e) return -1;
      if (b[p] === 44) {
        p = this.ws(p + 1, e);
        continue;
      }
      if (b[p] === 93) return p + 1;
      return -1;
    }
  }
}

/**
 * The shape (interned key list) of the last scanned line, reused while the next lines have the same
 * key bytes (JSONL files mostly repeat one key order): no key strings are made for those lines.
 */
export class LineShapeCache {
  private prevKeys = Buffer.alloc(0);
  private prevLens: number[] = [];
  private prevShape = -1;

  /** The shape id of the line `sc` last scanned (in `buf`); `intern` gives the id of a new key list. */
  shapeOf(sc: LineScanner, buf: Uint8Array, intern: (keys: string[]) => number): number {
    if (this.prevShape >= 0 && sc.nkeys === this.prevLens.length) {
      const prevKeys = this.prevKeys;
      let off = 0;
      let same = true;
      for (let i = 0; i < sc.nkeys && same; i++) {
        const ks = sc.keyStart[i];
        const l = sc.keyEnd[i] - ks;
        if (l !== this.prevLens[i]) same = false;
        else
          for (let j = 0; j < l; j++)
            if (buf[ks + j] !== prevKeys[off + j]) {
              same = false;
              break;
            }
        off += l;
      }
      if (same) return this.prevShape;
    }
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const keys: string[] = [];
    const parts: Buffer[] = [];
    this.prevLens = [];
    for (let i = 0; i < sc.nkeys; i++) {
      keys.push(b.toString('utf8', sc.keyStart[i], sc.keyEnd[i]));
      this.prevLens.push(sc.keyEnd[i] - sc.keyStart[i]);
      parts.push(b.subarray(sc.keyStart[i], sc.keyEnd[i]));
    }
    this.prevKeys = Buffer.concat(parts);
    this.prevShape = intern(keys);
    return this.prevShape;
  }
}

/** A byte buffer that grows (kept across lines, so a book's bytes get one allocation per thread). */
export class ByteScratch {
  buf: Buffer = Buffer.allocUnsafeSlow(1 << 16);
  ensure(n: number): Buffer {
    if (this.buf.length < n) this.buf = Buffer.allocUnsafeSlow(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}

function hex4(buf: Uint8Array, p: number): number {
  const a = hexVal(buf[p]);
  const b = hexVal(buf[p + 1]);
  const c = hexVal(buf[p + 2]);
  const d = hexVal(buf[p + 3]);
  return a < 0 || b < 0 || c < 0 || d < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * The UTF-8 bytes of the string JSON body `buf[s, e)` (its escapes decoded) into `out`; returns
 * their length, or -1 when the body has what the JavaScript string would not carry as UTF-8
 * (a lone surrogate escape) or a bad escape. The raw bytes must be valid UTF-8 (the caller checks).
 * With `LineScanner` (a string value's bytes are [valStart + 1, valEnd - 1)), pass 2 of a mix gets
 * a book's text as bytes without making the line or the value a JavaScript string: one over
 * 128 KiB is a V8 large object, and allocating one costs a fresh mapping and a page fault per
 * 4 KiB (measured on the 2-core VM: 200 MB/s for 400 KB strings, 12 GB/s for 100 KB ones).
 */
export function unescapeJsonString(buf: Uint8Array, s: number, e: number, out: ByteScratch): number {
  // an escape never grows: at most the body's length
  const o = out.ensure(e - s);
  let n = 0;
  let p = s;
  while (p < e) {
    const c = buf[p];
    if (c !== 0x5c) {
      o[n++] = c;
      p++;
      continue;
    }
    const x = buf[p + 1];
    p += 2;
    switch (x) {
      case 0x6e:
        o[n++] = 0x0a;
        break;
      case 0x72:
        o[n++] = 0x0d;
        break;
      case 0x74:
        o[n++] = 0x09;
        break;
      case 0x22:
      case 0x5c:
      case 0x2f:
        o[n++] = x;
        break;
      case 0x62:
        o[n++] = 0x08;
        break;
      case 0x66:
        o[n++] = 0x0c;
        break;
      case 0x75: {
        if (p + 4 > e) return -1;
        let cp = hex4(buf, p);
        if (cp < 0) return -1;
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdfff) {
          // a surrogate pair as two escapes; a lone one has no UTF-8 form
          if (cp >= 0xdc00 || p + 6 > e || buf[p] !== 0x5c || buf[p + 1] !== 0x75) return -1;
          const lo = hex4(buf, p + 2);
          if (lo < 0xdc00 || lo > 0xdfff) return -1;
          p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (cp < 0x80) o[n++] = cp;
        else if (cp < 0x800) {
          o[n++] = 0xc0 | (cp >> 6);
          o[n++] = 0x80 | (cp & 63);
        } else if (cp < 0x10000) {
          o[n++] = 0xe0 | (cp >> 12);
          o[n++] = 0x80 | ((cp >> 6) & 63);
          o[n++] = 0x80 | (cp & 63);
        } else {
          o[n++] = 0xf0 | (cp >> 18);
          o[n++] = 0x80 | ((cp >> 12) & 63);
          o[n++] = 0x80 | ((cp >> 6) & 63);
          o[n++] = 0x80 | (cp & 63);
        }
        break;
      }
      default:
        return -1;
    }
  }
  return n;
}
