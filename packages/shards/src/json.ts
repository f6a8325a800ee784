/**
 * Exact JSON values: parsing that keeps integers beyond 2^53 (as bigint) and tells which top-level
 * numbers were written as floats (`1.0`, `2e3`), and writing that keeps bigints, `-0` and every key
 * (`__proto__` too). Both refuse what they cannot keep: numbers outside the double range (`1e400`),
 * NaN/Infinity on output, and nesting deeper than `MAX_JSON_DEPTH`.
 *
 * Reading is `JSON.parse` (native, iterative, the error messages users know) plus a cheap look at
 * the parsed record's top-level values; only a record with a whole number that may be unsafe or
 * may have been written as a float is parsed again by `parseExact` below (a small iterative
 * parser of text `JSON.parse` has already accepted), so the common line costs one `for...in`.
 */

/** Nesting levels (objects and arrays) one value may have; deeper is refused, never a stack overflow. */
export const MAX_JSON_DEPTH = 1000;

/** A value JSON cannot carry exactly: `code` is the InputError code callers use. */
export class JsonValueError extends Error {
  constructor(
    message: string,
    readonly code: 'E_JSON_DEPTH' | 'E_JSON_NUMBER',
  ) {
    super(message);
  }
}

function depthError(): JsonValueError {
  return new JsonValueError(`nested deeper than ${MAX_JSON_DEPTH} levels`, 'E_JSON_DEPTH');
}

/** A number in JSON text beyond the double range (`1e400`), which `JSON.parse` turns into ±Infinity. */
function rangeError(v: number): JsonValueError {
  return new JsonValueError(
    `a number beyond the range of a double (±1.8e308) would become ${v < 0 ? '-' : ''}Infinity`,
    'E_JSON_NUMBER',
  );
}

/** NaN or ±Infinity on output: JSON has no such numbers. */
function nonFiniteError(v: number): JsonValueError {
  return new JsonValueError(
    `${Number.isNaN(v) ? 'NaN' : v < 0 ? '-Infinity' : 'Infinity'} has no JSON form`,
    'E_JSON_NUMBER',
  );
}

/**
 * Walk a parsed value (iteratively) to `depth` levels below `level`: true when it holds a number that
 * `JSON.parse` may have rounded (a whole number beyond 2^53); throws for depth or non-finite numbers.
 */
function nestedNeedsExact(v: object, level: number): boolean {
  // recursion is bounded by MAX_JSON_DEPTH (and faster than an explicit stack here)
  if (level > MAX_JSON_DEPTH) throw depthError();
  let exact = false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (valueNeedsExact(v[i], level)) exact = true;
    return exact;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) if (valueNeedsExact(o[k], level)) exact = true;
  return exact;
}

/** One value inside a nested value at `level`: a whole number beyond 2^53 (or one nested deeper) needs the exact parse. */
function valueNeedsExact(x: unknown, level: number): boolean {
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) && Number.isInteger(x)) return true;
    if (!Number.isFinite(x)) throw rangeError(x);
    return false;
  }
  return typeof x === 'object' && x !== null && nestedNeedsExact(x, level + 1);
}

/**
 * A JSON object's text as a record, exactly: integers beyond 2^53 become bigint, and when
 * `floats` is given, the top-level keys whose number was written with a fraction or exponent
 * (`1.0`, `1e3`) are added to it (the values are whole JS numbers, but the column is a float).
 * `JSON.parse` errors (SyntaxError) pass through; `JsonValueError` for depth and range.
 * A non-object is returned as `JSON.parse` gives it.
 */
export function parseJsonRecord(text: string, floats?: Set<string>): unknown {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw rangeError(v);
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return parseExact(text);
    }
    return v;
  }
  if (Array.isArray(v)) return nestedNeedsExact(v, 1) ? parseExact(text) : v;
  return exactRecord(v as Record<string, unknown>, text, floats);
}

/**
 * The second half of `parseJsonRecord` for a record `JSON.parse` already gave from `text`: the same
 * record when it is exact, else the exact one; `floats` as there. For readers that parse first and
 * look at values they touch anyway (the JSONL reader's column builder), so lines without numbers
 * or nested values skip this.
 */
export function exactRecord(rec: Record<string, unknown>, text: string, floats?: Set<string>): Record<string, unknown> {
  let nested = false;
  let top = false;
  let whole = false;
  for (const k in rec) {
    const x = rec[k];
    if (typeof x === 'number') {
      if (Number.isInteger(x)) {
        if (Number.isSafeInteger(x)) whole = true;
        else top = true;
      } else if (!Number.isFinite(x)) throw rangeError(x);
    } else if (typeof x === 'object' && x !== null && nestedNeedsExact(x, 2)) nested = true;
  }
  // a whole number may have been written `1.0`: the scan below tells (cheaper than a regex over the line)
  if (whole && floats !== undefined) top = true;
  // a big integer inside a nested value: parse it all again; else only the top-level numbers
  if (nested) return parseExact(text, floats) as Record<string, unknown>;
  return top ? scanTopLevel(text, rec, floats) : rec;
}

/**
 * Fix a record's top-level numbers from its text without parsing nested values or strings: an
 * integer token beyond 2^53 becomes a bigint, a float-form token (`1.0`) puts its key in `floats`.
 * Strings are skipped with indexOf, nested values by counting brackets outside strings; no
 * allocation but the keys. Returns `rec` when nothing changed, else a changed copy.
 */
function scanTopLevel(t: string, rec: Record<string, unknown>, floats?: Set<string>): Record<string, unknown> {
  let out = rec;
  let p = skipWs(t, skipWs(t, 0) + 1); // after {
  if (t.charCodeAt(p) === 125) return rec;
  for (;;) {
    // the key
    p = skipWs(t, p);
    const ke = skipString(t, p);
    let key = t.slice(p + 1, ke - 1);
    if (key.indexOf('\\') >= 0) key = JSON.parse(t.slice(p, ke)) as string;
    p = skipWs(t, skipWs(t, ke) + 1);
    // the value: later occurrences of a key win, as in JSON.parse
    const c = t.charCodeAt(p);
    let tok: string | undefined;
    if (c === 34) p = skipString(t, p);
    else if (c === 123 || c === 91) p = skipNested(t, p);
    else if (c === 110 || c === 116) p += 4;
    else if (c === 102) p += 5;
    else {
      const s = p;
      while (isNumberChar(t.charCodeAt(p))) p++;
      tok = t.slice(s, p);
    }
    if (tok !== undefined && (tok.indexOf('.') >= 0 || tok.indexOf('e') >= 0 || tok.indexOf('E') >= 0)) {
      floats?.add(key);
    } else {
      if (floats?.size) floats.delete(key);
      if (tok !== undefined && tok.length > 15 && !Number.isSafeInteger(Number(tok))) {
        if (out === rec) out = { ...rec }; // a copy: callers tell a changed record by identity
        setOwn(out, key, BigInt(tok));
      } else if (out !== rec && out[key] !== rec[key]) setOwn(out, key, rec[key]);
    }
    p = skipWs(t, p);
    if (t.charCodeAt(p) !== 44) return out;
    p++;
  }
}

/** The index after the string token at t[p]. */
function skipString(t: string, p: number): number {
  let e = t.indexOf('"', p + 1);
  for (;;) {
    let b = e - 1;
    while (t.charCodeAt(b) === 92) b--;
    if ((e - 1 - b) % 2 === 0) return e + 1;
    e = t.indexOf('"', e + 1);
  }
}

/** The index after the object or array starting at t[p] (valid JSON). */
function skipNested(t: string, p: number): number {
  let depth = 0;
  for (;;) {
    const c = t.charCodeAt(p);
    if (c === 34) {
      p = skipString(t, p);
      continue;
    }
    if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return p + 1;
    }
    p++;
  }
}

/** Any JSON text's value, exactly (bigint beyond 2^53), with the depth and range checks of `parseJsonRecord`. */
export function parseJsonValue(text: string): unknown {
  return parseJsonRecord(text);
}

function skipWs(t: string, p: number): number {
  let c = t.charCodeAt(p);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = t.charCodeAt(++p);
  return p;
}

/** The string token starting at t[p] (a quote): its value and the index after it. */
function readString(t: string, p: number): [string, number] {
  let e = t.indexOf('"', p + 1);
  for (;;) {
    let b = e - 1;
    while (t.charCodeAt(b) === 92) b--;
    if ((e - 1 - b) % 2 === 0) break; // an even number of backslashes: this quote ends the string
    e = t.indexOf('"', e + 1);
  }
  const raw = t.slice(p + 1, e);
  return [raw.indexOf('\\') < 0 ? raw : (JSON.parse(t.slice(p, e + 1)) as string), e + 1];
}

/** A key, its colon and the white space after: the key and the index of its value. */
function readKey(t: string, p: number): [string, number] {
  const [k, e] = readString(t, skipWs(t, p));
  return [k, skipWs(t, skipWs(t, e) + 1)];
}

/** Set an own property, also for `__proto__` (plain assignment would set the prototype). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

/**
 * Parse JSON text that `JSON.parse` has accepted (so no validation here), keeping integer
 * tokens beyond 2^53 as bigint and noting float-form numbers of the top-level object in `floats`.
 * Iterative: any depth.
 */
function parseExact(t: string, floats?: Set<string>): unknown {
  let p = 0;
  const stack: (Record<string, unknown> | unknown[])[] = [];
  const keys: string[] = [];
  let key = '';
  for (;;) {
    p = skipWs(t, p);
    let c = t.charCodeAt(p);
    let value: unknown;
    let float = false;
    if (c === 123 /* { */) {
      p = skipWs(t, p + 1);
      const obj: Record<string, unknown> = {};
      if (t.charCodeAt(p) === 125) {
        p++;
        value = obj;
      } else {
        stack.push(obj);
        keys.push(key);
        [key, p] = readKey(t, p);
        continue;
      }
    } else if (c === 91 /* [ */) {
      p = skipWs(t, p + 1);
      const arr: unknown[] = [];
      if (t.charCodeAt(p) === 93) {
        p++;
        value = arr;
      } else {
        stack.push(arr);
        keys.push(key);
        continue;
      }
    } else if (c === 34 /* " */) {
      [value, p] = readString(t, p);
    } else if (c === 116 /* t */) {
      value = true;
      p += 4;
    } else if (c === 102 /* f */) {
      value = false;
      p += 5;
    } else if (c === 110 /* n */) {
      value = null;
      p += 4;
    } else {
      const s = p;
      while (isNumberChar(t.charCodeAt(p))) p++;
      const tok = t.slice(s, p);
      const n = Number(tok);
      float = /[.eE]/.test(tok);
      value = float || Number.isSafeInteger(n) ? n : BigInt(tok);
    }
    // place the value; close every container that ends after it
    for (;;) {
      if (stack.length === 0) return value;
      const top = stack[stack.length - 1];
      if (Array.isArray(top)) top.push(value);
      else {
        setOwn(top, key, value);
        if (float && floats && stack.length === 1) floats.add(key);
      }
      p = skipWs(t, p);
      c = t.charCodeAt(p++);
      if (c === 44 /* , */) {
        if (!Array.isArray(top)) [key, p] = readKey(t, p);
        break;
      }
      value = stack.pop();
      key = keys.pop()!;
      float = false;
    }
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A JS number as JSON text, `-0` kept; NaN and ±Infinity are refused (JSON has no such values). */
export function jsonNumber(v: number): string {
  if (!Number.isFinite(v)) throw nonFiniteError(v);
  return v === 0 && 1 / v < 0 ? '-0' : String(v);
}

/** A bigint as JSON text: its digits (a JSON number of any size; our reader gives it back exactly). */
export function jsonBigint(v: bigint): string {
  return v.toString();
}

/**
 * JSON text of a value, exactly: bigint as its digits, `-0` as `-0`, a whole double beyond 2^53 with
 * `.0` (it reads back as that double, not as an exact integer), every own key (also
 * `__proto__`), `undefined` members skipped and `undefined` array items `null` (as JSON.stringify),
 * Dates as ISO strings, byte arrays as arrays of numbers. Refuses NaN/Infinity and values nested
 * deeper than MAX_JSON_DEPTH (JsonValueError), never a stack overflow. `nonFiniteAsNull` writes
 * NaN/Infinity as null instead (for text meant to be read, such as rendered templates).
 */
export function stringifyJson(v: unknown, nonFiniteAsNull = false): string {
  return write(v, 0, nonFiniteAsNull) ?? 'null';
}

function write(v: unknown, depth: number, lenient: boolean): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number': {
      if (lenient && !Number.isFinite(v)) return 'null';
      const s = jsonNumber(v);
      // a double beyond 2^53 printed as digits would read back as an exact integer (bigint): mark it a float
      return Number.isSafeInteger(v) || !Number.isInteger(v) || s.includes('e') ? s : `${s}.0`;
    }
    case 'bigint':
      return v >= MIN_SAFE && v <= MAX_SAFE ? String(Number(v)) : v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v === null) return 'null';
  if (depth >= MAX_JSON_DEPTH) throw depthError();
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    const a = v as ArrayLike<unknown>;
    let out = '[';
    for (let i = 0; i < a.length; i++) out += (i ? ',' : '') + (write(a[i], depth + 1, lenient) ?? 'null');
    return `${out}]`;
  }
  const o = v as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return write(o.toJSON(), depth, lenient);
  let out = '{';
  let first = true;
  for (const k of Object.keys(o)) {
    const s = write(o[k], depth + 1, lenient);
    if (s === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${s}`;
    first = false;
  }
  return `${out}}`;
}

/** Whether a string is valid UTF-16 (no lone surrogate), i.e. UTF-8 can hold it (ES2024 `isWellFormed`). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The index of the first lone surrogate of `s` (-1 when well formed). */
export function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** The message for a string UTF-8 cannot hold. */
export function loneSurrogateMessage(column: string, s: string): string {
  const at = loneSurrogateAt(s);
  return `column "${column}" has a string with a lone surrogate (\\u${s.charCodeAt(at).toString(16)} at character ${at}), which UTF-8 cannot hold (it would become U+FFFD)`;
}
