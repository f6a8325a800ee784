/**
 * A streaming zstd decoder whose memory and time grow with the bytes decoded, not with the window a
 * frame declares: a modified copy of fzstd 0.1.1's streaming decoder (`Decompress`, block decoder
 * `rzb`, frame header reader `rzfh`, FSE and Huffman table readers), typed, with these changes:
 *
 * - fzstd allocates each frame's whole declared window up front (1 GiB for `zstd --long=30`) and
 *   shifts all of it (`copyWithin`) after every block of at most 128 KiB, so a file takes
 *   (bytes / 128 KiB) x window size: 53 s for 48 MB with a 1 GiB window. Here blocks are decoded in
 *   place into one buffer holding the frame's recent output; the buffer grows with the bytes decoded
 *   (a valid frame never refers back before its own start) and, once it holds a whole window, keeps
 *   the last window's worth and shifts only when its slack (a quarter of the window, at least
 *   4 MiB) is used up: every output byte is moved a bounded number of times (linear time), and
 *   memory is about min(window, bytes of the frame so far) x 1.25 + 4 MiB.
 * - A match reaching before the frame's start, a block larger than the frame's block size limit,
 *   literals or matches running past their block and a dictionary frame are errors (fzstd read
 *   zeros or wrote past its buffer); a frame's checksum and content size are checked by the caller
 *   (`zstd-frames.ts`), as before.
 * - Every complete block is decoded as soon as its bytes arrive (fzstd held back inputs under 18
 *   bytes), and output is handed out in runs of blocks (one copy per `push`, not one per block).
 *
 * Original: https://github.com/101arrowz/fzstd (version 0.1.1), under this license:
 *
 * MIT License
 *
 * Copyright (c) 2020 Arjun Barrett
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all
 * copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 * SOFTWARE.
 */

/** Error messages by fzstd's error codes. */
const MESSAGES = [
  'invalid zstd data',
  'window size too large (>2046MB)',
  'invalid block type',
  'FSE accuracy too high',
  'match distance too far back',
  'unexpected EOF',
];

/** A decoding error; `code` is fzstd's error code (0 invalid data ... 5 unexpected EOF). */
export class ZstdDecodeError extends Error {
  constructor(
    readonly code: number,
    message = MESSAGES[code],
  ) {
    super(message);
    this.name = 'ZstdDecodeError';
  }
}

function err(code: number, msg?: string): never {
  throw new ZstdDecodeError(code, msg);
}

/** A finite state entropy decoding table. */
interface Fse {
  /** accuracy log */
  b: number;
  /** symbols */
  s: Uint8Array;
  /** bits to read per state */
  n: Uint8Array;
  /** next state baselines */
  t: Uint16Array;
}

/** A Huffman decoding table. */
interface Huffman {
  /** bits per code */
  n: Uint8Array;
  /** max bits */
  b: number;
  /** symbols */
  s: Uint8Array;
}

/** The decoding state of one frame. */
interface FrameState {
  /** read position in the input */
  b: number;
  /** write position in the output buffer */
  y: number;
  /** last block seen */
  l: number;
  /** Huffman table of the previous block */
  h?: Huffman;
  /** FSE tables of the previous block (match length, offset, literal length) */
  t?: Fse[];
  /** repeat offsets */
  o: Int32Array;
  /** block size limit */
  m: number;
}

const rb = (d: Uint8Array, b: number, n: number): number => {
  let o = 0;
  for (let i = 0; i < n; ++i) o |= d[b++] << (i << 3);
  return o;
};

const b4 = (d: Uint8Array, b: number): number => (d[b] | (d[b + 1] << 8) | (d[b + 2] << 16) | (d[b + 3] << 24)) >>> 0;

// most significant bit for nonzero
const msb = (val: number): number => {
  let bits = 0;
  for (; 1 << bits <= val; ++bits);
  return bits - 1;
};

// read finite state entropy
function rfse(dat: Uint8Array, bt: number, mal: number): [number, Fse] {
  // table pos
  let tpos = (bt << 3) + 4;
  // accuracy log
  const al = (dat[bt] & 15) + 5;
  if (al > mal) err(3);
  const sz = 1 << al;
  // probabilities symbols  repeat   index   high threshold
  let probs = sz;
  let sym = -1;
  let re = -1;
  let i = -1;
  let ht = sz;
  // optimization: single allocation is much faster
  const buf = new ArrayBuffer(512 + (sz << 2));
  const freq = new Int16Array(buf, 0, 256);
  // same view as freq
  const dstate = new Uint16Array(buf, 0, 256);
  const nstate = new Uint16Array(buf, 512, sz);
  const bb1 = 512 + (sz << 1);
  const syms = new Uint8Array(buf, bb1, sz);
  const nbits = new Uint8Array(buf, bb1 + sz);
  while (sym < 255 && probs > 0) {
    const bits = msb(probs + 1);
    const cbt = tpos >> 3;
    const msk = (1 << (bits + 1)) - 1;
    let val = ((dat[cbt] | (dat[cbt + 1] << 8) | (dat[cbt + 2] << 16)) >> (tpos & 7)) & msk;
    const msk1fb = (1 << bits) - 1;
    const msv = msk - probs - 1;
    const sval = val & msk1fb;
    if (sval < msv) {
      tpos += bits;
      val = sval;
    } else {
      tpos += bits + 1;
      if (val > msk1fb) val -= msv;
    }
    freq[++sym] = --val;
    if (val === -1) {
      probs += val;
      syms[--ht] = sym;
    } else probs -= val;
    if (!val) {
      do {
        const rbt = tpos >> 3;
        re = ((dat[rbt] | (dat[rbt + 1] << 8)) >> (tpos & 7)) & 3;
        tpos += 2;
        sym += re;
      } while (re === 3);
    }
  }
  if (sym > 255 || probs) err(0);
  let sympos = 0;
  // sym step (coprime with sz - formula from zstd source)
  const sstep = (sz >> 1) + (sz >> 3) + 3;
  const smask = sz - 1;
  for (let s = 0; s <= sym; ++s) {
    const sf = freq[s];
    if (sf < 1) {
      dstate[s] = -sf;
      continue;
    }
    for (i = 0; i < sf; ++i) {
      syms[sympos] = s;
      do {
        sympos = (sympos + sstep) & smask;
      } while (sympos >= ht);
    }
  }
  // after spreading symbols, should be zero again
  if (sympos) err(0);
  for (i = 0; i < sz; ++i) {
    const ns = dstate[syms[i]]++;
    const nb = (nbits[i] = al - msb(ns));
    nstate[i] = (ns << nb) - sz;
  }
  return [(tpos + 7) >> 3, { b: al, s: syms, n: nbits, t: nstate }];
}

// read huffman
function rhu(dat: Uint8Array, bt: number): [number, Huffman] {
  let i = 0;
  let wc = -1;
  const buf = new Uint8Array(292);
  const hb = dat[bt];
  // huffman weights
  const hw = buf.subarray(0, 256);
  // rank count
  const rc = buf.subarray(256, 268);
  // rank index
  const ri = new Uint16Array(buf.buffer, 268);
  // NOTE: at this point bt is 1 less than expected
  if (hb < 128) {
    const [ebt, fdt] = rfse(dat, bt + 1, 6);
    bt += hb;
    const epos = ebt << 3;
    const lb = dat[bt];
    if (!lb) err(0);
    let st1 = 0;
    let st2 = 0;
    let btr1 = fdt.b;
    let btr2 = btr1;
    // pre-increment to account for original deficit of 1
    let fpos = (++bt << 3) - 8 + msb(lb);
    for (;;) {
      fpos -= btr1;
      if (fpos < epos) break;
      let cbt = fpos >> 3;
      st1 += ((dat[cbt] | (dat[cbt + 1] << 8)) >> (fpos & 7)) & ((1 << btr1) - 1);
      hw[++wc] = fdt.s[st1];
      fpos -= btr2;
      if (fpos < epos) break;
      cbt = fpos >> 3;
      st2 += ((dat[cbt] | (dat[cbt + 1] << 8)) >> (fpos & 7)) & ((1 << btr2) - 1);
      hw[++wc] = fdt.s[st2];
      btr1 = fdt.n[st1];
      st1 = fdt.t[st1];
      btr2 = fdt.n[st2];
      st2 = fdt.t[st2];
    }
    if (++wc > 255) err(0);
  } else {
    wc = hb - 127;
    for (; i < wc; i += 2) {
      const byte = dat[++bt];
      hw[i] = byte >> 4;
      hw[i + 1] = byte & 15;
    }
    ++bt;
  }
  // weight exponential sum
  let wes = 0;
  for (i = 0; i < wc; ++i) {
    const wt = hw[i];
    // bits must be at most 11, same as weight
    if (wt > 11) err(0);
    wes += wt && 1 << (wt - 1);
  }
  const mb = msb(wes) + 1;
  const ts = 1 << mb;
  const rem = ts - wes;
  // must be power of 2
  if (rem & (rem - 1)) err(0);
  hw[wc++] = msb(rem) + 1;
  for (i = 0; i < wc; ++i) {
    const wt = hw[i];
    ++rc[(hw[i] = wt && mb + 1 - wt)];
  }
  const hbuf = new Uint8Array(ts << 1);
  const syms = hbuf.subarray(0, ts);
  const nb = hbuf.subarray(ts);
  ri[mb] = 0;
  for (i = mb; i > 0; --i) {
    const pv = ri[i];
    nb.fill(i, pv, (ri[i - 1] = pv + rc[i] * (1 << (mb - i))));
  }
  if (ri[0] !== ts) err(0);
  for (i = 0; i < wc; ++i) {
    const bits = hw[i];
    if (bits) {
      const code = ri[bits];
      syms.fill(i, code, (ri[bits] = code + (1 << (mb - bits))));
    }
  }
  return [bt, { n: nb, b: mb, s: syms }];
}

// default tables (generated by fzstd's author: https://gist.github.com/101arrowz/a979452d4355992cbf8f257cbffc9edd)
const dllt = rfse(
  new Uint8Array([81, 16, 99, 140, 49, 198, 24, 99, 12, 33, 196, 24, 99, 102, 102, 134, 70, 146, 4]),
  0,
  6,
)[1];
const dmlt = rfse(
  new Uint8Array([
    33, 20, 196, 24, 99, 140, 33, 132, 16, 66, 8, 33, 132, 16, 66, 8, 33, 68, 68, 68, 68, 68, 68, 68, 68, 36, 9,
  ]),
  0,
  6,
)[1];
const doct = rfse(new Uint8Array([32, 132, 16, 66, 102, 70, 68, 68, 68, 68, 36, 73, 2]), 0, 5)[1];

// bits to baseline
const b2bl = (b: Uint8Array, s: number): Int32Array => {
  const len = b.length;
  const bl = new Int32Array(len);
  for (let i = 0; i < len; ++i) {
    bl[i] = s;
    s += 1 << b[i];
  }
  return bl;
};
// literal length bits and baselines
const llb = new Uint8Array(
  new Int32Array([0, 0, 0, 0, 16843009, 50528770, 134678020, 202050057, 269422093]).buffer,
  0,
  36,
);
const llbl = b2bl(llb, 0);
// match length bits and baselines
const mlb = new Uint8Array(
  new Int32Array([0, 0, 0, 0, 0, 0, 0, 0, 16843009, 50528770, 117769220, 185207048, 252579084, 16]).buffer,
  0,
  53,
);
const mlbl = b2bl(mlb, 3);

// decode huffman stream
function dhu(dat: Uint8Array, out: Uint8Array, hu: Huffman): void {
  const len = dat.length;
  const ss = out.length;
  const lb = dat[len - 1];
  const msk = (1 << hu.b) - 1;
  const eb = -hu.b;
  if (!lb) err(0);
  let st = 0;
  let btr = hu.b;
  let pos = (len << 3) - 8 + msb(lb) - btr;
  let i = -1;
  while (pos > eb && i < ss) {
    const cbt = pos >> 3;
    const val = (dat[cbt] | (dat[cbt + 1] << 8) | (dat[cbt + 2] << 16)) >> (pos & 7);
    st = ((st << btr) | val) & msk;
    out[++i] = hu.s[st];
    pos -= btr = hu.n[st];
  }
  if (pos !== eb || i + 1 !== ss) err(0);
}

// decode huffman stream 4x
function dhu4(dat: Uint8Array, out: Uint8Array, hu: Huffman): void {
  let bt = 6;
  const ss = out.length;
  const sz1 = (ss + 3) >> 2;
  const sz2 = sz1 << 1;
  const sz3 = sz1 + sz2;
  dhu(dat.subarray(bt, (bt += dat[0] | (dat[1] << 8))), out.subarray(0, sz1), hu);
  dhu(dat.subarray(bt, (bt += dat[2] | (dat[3] << 8))), out.subarray(sz1, sz2), hu);
  dhu(dat.subarray(bt, (bt += dat[4] | (dat[5] << 8))), out.subarray(sz2, sz3), hu);
  dhu(dat.subarray(bt), out.subarray(sz3), hu);
}

/**
 * Decodes the block at `st.b` of `dat` (which holds all of it) into `out` at `st.y`, which has room
 * for `st.m` bytes after it; matches may reach back into `out` down to index 0 (the oldest byte of
 * the frame still held). fzstd's `rzb` in its output-buffer mode, with bounds checks.
 */
function rzb(dat: Uint8Array, st: FrameState, out: Uint8Array): void {
  let bt = st.b;
  const b0 = dat[bt];
  const btype = (b0 >> 1) & 3;
  st.l = b0 & 1;
  const sz = (b0 >> 3) | (dat[bt + 1] << 5) | (dat[bt + 2] << 13);
  // end byte for block
  const ebt = (bt += 3) + sz;
  if (btype === 1) {
    if (sz > st.m) err(0, 'block larger than the frame allows (corrupt data)');
    if (bt >= dat.length) err(5);
    st.b = bt + 1;
    out.fill(dat[bt], st.y, (st.y += sz));
    return;
  }
  if (ebt > dat.length) err(5);
  if (btype === 0) {
    if (sz > st.m) err(0, 'block larger than the frame allows (corrupt data)');
    st.b = ebt;
    out.set(dat.subarray(bt, ebt), st.y);
    st.y += sz;
    return;
  }
  if (btype !== 2) err(2);
  const b3 = dat[bt];
  const lbt = b3 & 3;
  const sf = (b3 >> 2) & 3;
  // lit src size  lit cmp sz 4 streams
  let lss = b3 >> 4;
  let lcs = 0;
  let s4 = 0;
  if (lbt < 2) {
    if (sf & 1) lss |= (dat[++bt] << 4) | (sf & 2 && dat[++bt] << 12);
    else lss = b3 >> 3;
  } else {
    s4 = sf;
    if (sf < 2) {
      lss |= (dat[++bt] & 63) << 4;
      lcs = (dat[bt] >> 6) | (dat[++bt] << 2);
    } else if (sf === 2) {
      lss |= (dat[++bt] << 4) | ((dat[++bt] & 3) << 12);
      lcs = (dat[bt] >> 2) | (dat[++bt] << 6);
    } else {
      lss |= (dat[++bt] << 4) | ((dat[++bt] & 63) << 12);
      lcs = (dat[bt] >> 6) | (dat[++bt] << 2) | (dat[++bt] << 10);
    }
  }
  ++bt;
  // literals go to the end of the block's room: they never overlap with output not yet read
  const base = st.y;
  const buf = out.subarray(base, base + st.m);
  if (lss > buf.length) err(0, 'literals larger than the block allows (corrupt data)');
  let spl = buf.length - lss;
  if (lbt === 0) buf.set(dat.subarray(bt, (bt += lss)), spl);
  else if (lbt === 1) buf.fill(dat[bt++], spl);
  else {
    let hu = st.h;
    if (lbt === 2) {
      const hud = rhu(dat, bt);
      // subtract description length
      lcs += bt - (bt = hud[0]);
      st.h = hu = hud[1];
    } else if (!hu) err(0);
    (s4 ? dhu4 : dhu)(dat.subarray(bt, (bt += lcs)), buf.subarray(spl), hu);
  }
  // number of sequences
  let ns = dat[bt++];
  if (ns) {
    if (ns === 255) ns = (dat[bt++] | (dat[bt++] << 8)) + 0x7f00;
    else if (ns > 127) ns = ((ns - 128) << 8) | dat[bt++];
    // symbol compression modes
    const scm = dat[bt++];
    if (scm & 3) err(0);
    const dts: Fse[] = [dmlt, doct, dllt];
    for (let i = 2; i > -1; --i) {
      const md = (scm >> ((i << 1) + 2)) & 3;
      if (md === 1) {
        // rle
        const rbuf = new Uint8Array([0, 0, dat[bt++]]);
        dts[i] = { s: rbuf.subarray(2, 3), n: rbuf.subarray(0, 1), t: new Uint16Array(rbuf.buffer, 0, 1), b: 0 };
      } else if (md === 2) {
        // accuracy log 8 for offsets, 9 for others
        const r = rfse(dat, bt, 9 - (i & 1));
        bt = r[0];
        dts[i] = r[1];
      } else if (md === 3) {
        if (!st.t) err(0);
        dts[i] = st.t[i];
      }
    }
    st.t = dts;
    const [mlt, oct, llt] = dts;
    const lb = dat[ebt - 1];
    if (!lb) err(0);
    let spos = (ebt << 3) - 8 + msb(lb) - llt.b;
    let cbt = spos >> 3;
    let oubt = 0;
    let lst = ((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << llt.b) - 1);
    cbt = (spos -= oct.b) >> 3;
    let ost = ((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << oct.b) - 1);
    cbt = (spos -= mlt.b) >> 3;
    let mst = ((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << mlt.b) - 1);
    const o = st.o;
    for (++ns; --ns; ) {
      const llc = llt.s[lst];
      const lbtr = llt.n[lst];
      const mlc = mlt.s[mst];
      const mbtr = mlt.n[mst];
      const ofc = oct.s[ost];
      const obtr = oct.n[ost];
      cbt = (spos -= ofc) >> 3;
      const ofp = 1 << ofc;
      let off =
        ofp +
        (((dat[cbt] | (dat[cbt + 1] << 8) | (dat[cbt + 2] << 16) | (dat[cbt + 3] << 24)) >>> (spos & 7)) & (ofp - 1));
      cbt = (spos -= mlb[mlc]) >> 3;
      const ml =
        mlbl[mlc] + (((dat[cbt] | (dat[cbt + 1] << 8) | (dat[cbt + 2] << 16)) >> (spos & 7)) & ((1 << mlb[mlc]) - 1));
      cbt = (spos -= llb[llc]) >> 3;
      const ll =
        llbl[llc] + (((dat[cbt] | (dat[cbt + 1] << 8) | (dat[cbt + 2] << 16)) >> (spos & 7)) & ((1 << llb[llc]) - 1));
      cbt = (spos -= lbtr) >> 3;
      lst = llt.t[lst] + (((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << lbtr) - 1));
      cbt = (spos -= mbtr) >> 3;
      mst = mlt.t[mst] + (((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << mbtr) - 1));
      cbt = (spos -= obtr) >> 3;
      ost = oct.t[ost] + (((dat[cbt] | (dat[cbt + 1] << 8)) >> (spos & 7)) & ((1 << obtr) - 1));
      if (off > 3) {
        o[2] = o[1];
        o[1] = o[0];
        o[0] = off -= 3;
      } else {
        const idx = off - (ll !== 0 ? 1 : 0);
        if (idx) {
          off = idx === 3 ? o[0] - 1 : o[idx];
          if (idx > 1) o[2] = o[1];
          o[1] = o[0];
          o[0] = off;
        } else off = o[0];
      }
      if (spl + ll > buf.length) err(0, 'literals run past their block (corrupt data)');
      for (let i = 0; i < ll; ++i) buf[oubt + i] = buf[spl + i];
      oubt += ll;
      spl += ll;
      // a match: copied byte by byte (it may overlap itself), from this block or earlier ones
      const to = base + oubt;
      const from = to - off;
      if (from < 0 || off < 1) err(4);
      if (oubt + ml > spl) err(0, 'a match runs over the literals (corrupt data)');
      for (let i = 0; i < ml; ++i) out[to + i] = out[from + i];
      oubt += ml;
    }
    if (oubt !== spl) {
      while (spl < buf.length) buf[oubt++] = buf[spl++];
    } else oubt = buf.length;
    st.y += oubt;
  } else {
    st.y += lss;
    if (spl) {
      for (let i = 0; i < lss; ++i) buf[i] = buf[spl + i];
    }
  }
  st.b = ebt;
}

enum Stage {
  /** between frames: a magic number next */
  Frame,
  /** in a frame: a block header next */
  Block,
  /** bytes to skip (skippable frame, checksum) */
  Skip,
}

/** The least slack (room for output past the window kept) of the output buffer. */
const MIN_SLACK = 4 << 20;

/**
 * Streaming zstd decoder (RFC 8878 frames, no dictionaries). `push` chunks in order; `ondata` gets
 * the decoded bytes (fresh arrays the caller may keep). Memory: about min(window, bytes of the
 * current frame) x 1.25 + 4 MiB, plus one block of input; time linear in input and output.
 */
export class ZstdStream {
  private win = new Uint8Array(0);
  /** end of the output in `win` */
  private y = 0;
  /** start of the output in `win` not yet handed out */
  private flushed = 0;
  private st: FrameState | undefined;
  /** the current frame's window size */
  private ws = 0;
  private stage = Stage.Frame;
  /** bytes to skip in Stage.Skip */
  private skip = 0;
  /** input bytes needed (from the first pending byte) before any progress */
  private need = 4;
  private pend: Uint8Array[] = [];
  private pendLen = 0;
  /** The largest output buffer used so far (bytes). */
  peakBuffer = 0;
  /** Bytes of output moved to make room (grown or shifted buffers): linear time keeps this within a small multiple of the output. */
  moved = 0;

  constructor(private readonly ondata: (data: Uint8Array) => void) {}

  /** True between frames with no input pending: the stream may end here. */
  get atBoundary(): boolean {
    return this.stage === Stage.Frame && this.pendLen === 0;
  }

  /**
   * Decodes `chunk` as far as its bytes allow. With `final`, the input must end here at a frame
   * boundary (otherwise "unexpected EOF").
   */
  push(chunk: Uint8Array, final = false): void {
    if (chunk.length) {
      this.pend.push(chunk);
      this.pendLen += chunk.length;
    }
    while (this.pendLen >= this.need) {
      const dat = this.pend.length === 1 ? this.pend[0] : concat(this.pend, this.pendLen);
      const p = this.run(dat);
      const rest = dat.subarray(p);
      this.pend = rest.length ? [rest] : [];
      this.pendLen = rest.length;
    }
    this.flush();
    if (final && !this.atBoundary) err(5);
  }

  /** Decodes whole units (headers, blocks) of `dat`; returns where it stopped and sets `need`. */
  private run(dat: Uint8Array): number {
    let p = 0;
    for (;;) {
      const avail = dat.length - p;
      if (this.stage === Stage.Skip) {
        const k = Math.min(avail, this.skip);
        p += k;
        this.skip -= k;
        if (this.skip) {
          this.need = 1;
          return p;
        }
        this.stage = Stage.Frame;
        continue;
      }
      if (this.stage === Stage.Frame) {
        if (avail < 4) {
          this.need = 4;
          return p;
        }
        const n3 = dat[p] | (dat[p + 1] << 8) | (dat[p + 2] << 16);
        if (n3 === 0x2fb528 && dat[p + 3] === 253) {
          if (avail < 5) {
            this.need = 5;
            return p;
          }
          const flg = dat[p + 4];
          const ss = (flg >> 5) & 1;
          const df = flg & 3;
          const fcf = flg >> 6;
          const db = df === 3 ? 4 : df;
          const fsb = fcf ? 1 << fcf : ss;
          const hl = 6 - ss + db + fsb;
          if (avail < hl) {
            this.need = hl;
            return p;
          }
          this.beginFrame(dat, p);
          p += hl;
          this.stage = Stage.Block;
          continue;
        }
        if (((n3 >> 4) | (dat[p + 3] << 20)) === 0x184d2a5) {
          if (avail < 8) {
            this.need = 8;
            return p;
          }
          this.skip = b4(dat, p + 4);
          p += 8;
          this.stage = Stage.Skip;
          continue;
        }
        err(0);
      }
      // Stage.Block
      if (avail < 3) {
        this.need = 3;
        return p;
      }
      const b0 = dat[p];
      const type = (b0 >> 1) & 3;
      const size = (b0 >> 3) | (dat[p + 1] << 5) | (dat[p + 2] << 13);
      if (type === 3) err(2);
      const whole = 3 + (type === 1 ? 1 : size);
      if (avail < whole) {
        this.need = whole;
        return p;
      }
      const st = this.st!;
      this.room(st.m);
      st.b = p;
      st.y = this.y;
      rzb(dat, st, this.win);
      this.y = st.y;
      p = st.b;
      if (st.l) {
        this.st = undefined;
        this.stage = this.checksumFlag ? Stage.Skip : Stage.Frame;
        this.skip = this.checksumFlag;
      }
    }
  }

  private checksumFlag = 0;

  /** Reads the frame header at `p` of `dat` (fzstd's `rzfh` without its window allocation). */
  private beginFrame(dat: Uint8Array, p: number): void {
    const flg = dat[p + 4];
    // single segment, checksum, dictionary id flag, frame content size flag
    const ss = (flg >> 5) & 1;
    const cc = (flg >> 2) & 1;
    const df = flg & 3;
    const fcf = flg >> 6;
    if (flg & 8) err(0);
    let bt = p + 6 - ss;
    const db = df === 3 ? 4 : df;
    if (db && rb(dat, bt, db) >>> 0) err(0, 'the frame needs a dictionary');
    bt += db;
    const fsb = fcf ? 1 << fcf : ss;
    // frame content size (only used as the window of a single-segment frame)
    let fss = 0;
    for (let j = fsb - 1; j >= 0; j--) fss = fss * 256 + dat[bt + j];
    if (fcf === 1) fss += 256;
    let ws = fss;
    if (!ss) {
      const wd = dat[p + 5];
      const wb = 2 ** (10 + (wd >> 3));
      ws = wb + (wb / 8) * (wd & 7);
    }
    if (ws > 2145386496) err(1);
    // output of the previous frame is handed out; this frame starts at the buffer's start
    this.flush();
    this.y = 0;
    this.flushed = 0;
    this.ws = ws;
    this.checksumFlag = cc * 4;
    this.st = { b: 0, y: 0, l: 0, o: new Int32Array([1, 4, 8]), m: Math.min(131072, ws) };
  }

  /** Makes room for `n` more bytes of output, keeping the last window of output (or all of it). */
  private room(n: number): void {
    if (this.y + n <= this.win.length) return;
    this.flush();
    const y = this.y;
    const keep = Math.min(this.ws, y);
    const size = keep + Math.max(keep >> 2, MIN_SLACK) + n;
    if (size > this.win.length) {
      const grown = new Uint8Array(size);
      grown.set(this.win.subarray(y - keep, y));
      this.win = grown;
      if (size > this.peakBuffer) this.peakBuffer = size;
    } else this.win.copyWithin(0, y - keep, y);
    this.moved += keep;
    this.y = keep;
    this.flushed = keep;
  }

  /** Hands out the output not yet handed out (a copy: the buffer is reused). */
  private flush(): void {
    if (this.y > this.flushed) {
      this.ondata(this.win.slice(this.flushed, this.y));
      this.flushed = this.y;
    }
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
