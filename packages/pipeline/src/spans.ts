/**
 * What the text-rewriting steps removed from a row, as spans (dolma's attributes store removals the
 * same way): the scan stage stores them in the `text` attribute group, and the write stage rebuilds
 * the cleaned text from the raw rendering without running the filters again.
 *
 * A row's spans are little-endian uint32 pairs `[start, end)` of the raw text, in order, that are
 * deleted: cleaned = raw minus the spans. c4 in `clean` mode keeps whole lines (trimmed) joined by
 * one `\n`, which is always a deletion of the raw text; a rewrite that is not (a line whose
 * citations were stripped, a pii placeholder, a custom step) is stored as `NOT_SPANS` (zero bytes),
 * and the write stage runs the steps again for that row. A row the steps left unchanged has no spans (null).
 */
import { readParquetColumns } from '@curate/shards';

/** The spans of a row whose cleaned text is not a deletion of its raw text: re-derive it. */
export const NOT_SPANS: Uint8Array = new Uint8Array(0);

/**
 * The spans that turn `raw` into `cleaned`: null when they are equal, `NOT_SPANS` when `cleaned` is
 * not `raw` with pieces deleted line by line. Each line of `cleaned` is found in `raw` after the
 * previous one, with a raw `\n` between them that is kept; everything else is deleted. A line found
 * only with pieces cut out of it (c4 strips citations such as `[1]` inside a line, then trims it) is
 * matched inside one raw line, as the shortest such line's characters taken in order; any spans that
 * rebuild `cleaned` exactly are right, so the match need not be the one the filter made.
 */
export function cleanSpans(raw: string, cleaned: string): Uint8Array | null {
  if (raw === cleaned) return null;
  const out: number[] = [];
  const gaps: number[] = [];
  let at = 0; // raw position up to which everything is decided
  let from = 0; // start of the current line of `cleaned`
  for (let first = true; ; first = false) {
    const nl = cleaned.indexOf('\n', from);
    const end = nl < 0 ? cleaned.length : nl;
    // where this line may start: at `at` for the first line, else after the raw newline kept before it
    const k = first ? at : raw.indexOf('\n', at);
    if (k < 0) return NOT_SPANS;
    const p = first ? at : k + 1;
    let s: number;
    let e: number;
    gaps.length = 0;
    if (end === from) {
      s = first ? 0 : k + 1;
      e = s;
    } else {
      const line = cleaned.slice(from, end);
      s = raw.indexOf(line, p);
      e = s + line.length;
      if (s < 0) {
        const m = withinLine(raw, cleaned, from, end, p, gaps);
        if (!m) return NOT_SPANS;
        s = m[0];
        e = m[1];
      }
    }
    if (!first && k > at) out.push(at, k);
    if (s > p) out.push(p, s);
    for (const g of gaps) out.push(g);
    at = e;
    if (nl < 0) break;
    from = nl + 1;
  }
  if (at < raw.length) out.push(at, raw.length);
  const buf = new Uint8Array(out.length * 4);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < out.length; i++) view.setUint32(i * 4, out[i], true);
  return buf;
}

/**
 * `cleaned[from, end)` as characters taken in order from one line of `raw` at or after `p`: the
 * match's [start, end) in `raw`, with the pieces of it left out pushed to `gaps`; null when no line has it.
 */
function withinLine(
  raw: string,
  cleaned: string,
  from: number,
  end: number,
  p: number,
  gaps: number[],
): [number, number] | null {
  const need = end - from;
  while (p <= raw.length) {
    let le = raw.indexOf('\n', p);
    if (le < 0) le = raw.length;
    if (le - p >= need) {
      let j = from;
      let start = -1;
      let last = -1;
      gaps.length = 0;
      for (let i = p; i < le && j < end; i++) {
        if (raw.charCodeAt(i) !== cleaned.charCodeAt(j)) continue;
        if (start < 0) start = i;
        else if (i > last + 1) gaps.push(last + 1, i);
        last = i;
        j++;
      }
      if (j === end) return [start, last + 1];
    }
    p = le + 1;
  }
  gaps.length = 0;
  return null;
}

/** `raw` with the spans deleted. */
export function applySpans(raw: string, spans: Uint8Array): string {
  const view = new DataView(spans.buffer, spans.byteOffset, spans.byteLength);
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i + 8 <= spans.byteLength; i += 8) {
    const s = view.getUint32(i, true);
    const e = view.getUint32(i + 4, true);
    if (s > at) parts.push(raw.slice(at, s));
    at = e;
  }
  if (at < raw.length) parts.push(raw.slice(at));
  return parts.join('');
}

/**
 * `applySpans` on the raw text's UTF-8 bytes `bytes[0, n)` (the spans are UTF-16 offsets of the
 * raw string): the kept pieces are moved to the front of `bytes` (overwritten) and decoded as one
 * string, so a book whose cleaning keeps a tenth of it never exists as one large string.
 * `ascii`: the bytes are all ASCII (offsets are byte offsets). Null when an offset falls inside a
 * surrogate pair or past the end (the caller decodes the whole text from its own copy).
 */
export function applySpansUtf8(bytes: Buffer, n: number, spans: Uint8Array, ascii: boolean): string | null {
  const view = new DataView(spans.buffer, spans.byteOffset, spans.byteLength);
  let w = 0; // the kept bytes are moved down to bytes[0, w) (a piece never lies after where it goes)
  let u = 0; // a UTF-16 offset of the raw string...
  let b = 0; // ...and the byte offset of the same point
  let keep = 0; // byte offset where the current kept piece starts
  for (let i = 0; i + 8 <= spans.byteLength; i += 8) {
    for (let j = 0; j < 8; j += 4) {
      const target = view.getUint32(i + j, true);
      if (target < u) {
        if (j === 0) continue; // an empty or overlapping span: as applySpans, nothing to keep before it
        return null;
      }
      if (ascii) {
        if (target > n) return null;
        b = target;
        u = target;
      } else {
        while (u < target && b < n) {
          // a run of ASCII bytes, one code unit each (a tight loop: ~1.5 GB/s on the VM, twice the
          // byte-by-byte walk), then one multi-byte character
          const lim = Math.min(n, b + (target - u));
          let q = b;
          while (q < lim && bytes[q] < 0x80) q++;
          u += q - b;
          b = q;
          if (u >= target || b >= n) break;
          const c = bytes[b];
          if (c < 0xe0) b += 2;
          else if (c < 0xf0) b += 3;
          else {
            b += 4;
            u++;
          }
          u++;
        }
        if (u !== target || b > n) return null;
      }
      if (j === 0) {
        if (b > keep) {
          if (w !== keep) bytes.copyWithin(w, keep, b);
          w += b - keep;
        }
      } else keep = b;
    }
  }
  if (keep < n) {
    if (w !== keep) bytes.copyWithin(w, keep, n);
    w += n - keep;
  }
  // one flat string: a join of a book's thousands of kept lines was a rope that serializing the
  // record and the metrics then flattened again
  return bytes.toString('utf8', 0, w);
}

/**
 * The `spans` column of a file's `text` attribute group (verified against its sha256), or null when
 * it cannot be read as stored: the caller then runs the rewriting steps again (fails closed).
 */
export async function loadSpans(file: { path: string; sha256: string }): Promise<(Uint8Array | null)[] | null> {
  try {
    const { columns } = await readParquetColumns(file.path, { sha256: file.sha256, columns: ['spans'] });
    const col = columns.spans as ArrayLike<Uint8Array | null | undefined> | undefined;
    return col ? Array.from(col, (v) => v ?? null) : null;
  } catch {
    return null;
  }
}

/**
 * Row `row`'s cleaned text from its raw rendering and its file's stored spans (`rederive` runs the
 * rewriting steps: for a row stored as NOT_SPANS, or every row when the file has no spans), counted in `count`.
 */
export function cleanedText(
  raw: string,
  spans: (Uint8Array | null)[] | null,
  row: number,
  count: { fromSpans: number; rederived: number },
  rederive: () => string,
): string {
  const sp = spans ? (spans[row] ?? null) : NOT_SPANS;
  if (sp !== null && sp.byteLength === 0) {
    count.rederived++;
    return rederive();
  }
  count.fromSpans++;
  return sp === null ? raw : applySpans(raw, sp);
}
