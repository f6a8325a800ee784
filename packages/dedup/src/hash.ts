/**
 * Small integer hashes used by every kernel. All arithmetic is 32-bit
 * (Math.imul, `>>> 0`), so results are identical in every process and worker.
 */

/** MurmurHash3's 32-bit finaliser: a bijection with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** SplitMix32 stream for deriving parameters from a seed. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A 53-bit key (exact as a JS number) from a run of 32-bit values: two
 * independent 32-bit hashes, 21 + 32 bits. Used for LSH band keys and n-gram
 * keys; see README for collision odds and how collisions are made harmless.
 */
export function key53(values: ArrayLike<number>, start: number, end: number, salt: number): number {
  let h1 = (0x811c9dc5 ^ salt) >>> 0;
  let h2 = (0x2545f491 ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 + v, 0x9e3779b1);
    h2 ^= h2 >>> 15;
  }
  h1 = fmix32(h1 ^ (end - start));
  h2 = fmix32(h2 ^ 0x7f4a7c15);
  return (h1 >>> 11) * 4294967296 + h2;
}
