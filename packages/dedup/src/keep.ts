/**
 * Which document of a group is kept: with `prefer: 'real'` a real document
 * beats synthetic ones; then the higher quality score (when given); then the
 * first in global source order (smallest docIndex). The choice depends only on
 * these values, never on worker count or batch boundaries.
 */
import type { Kind } from '@curate/core';

export type Prefer = 'real' | 'none';

export interface DocMeta {
  /** Document id written into reasons (`kept=<id>`, `dup_of=<id>`). */
  id: string;
  kind?: Kind;
  /** Quality score: higher is kept first. */
  score?: number;
}

/** Negative when document a should be kept before b. */
export function compareForKeep(
  prefer: Prefer,
  aIndex: number,
  aKind: number,
  aScore: number,
  bIndex: number,
  bKind: number,
  bScore: number,
): number {
  if (prefer === 'real' && aKind !== bKind) return aKind - bKind;
  if (aScore !== bScore) {
    const as = Number.isNaN(aScore) ? Number.NEGATIVE_INFINITY : aScore;
    const bs = Number.isNaN(bScore) ? Number.NEGATIVE_INFINITY : bScore;
    if (as !== bs) return bs - as > 0 ? 1 : -1;
  }
  return aIndex - bIndex;
}

/** Kind code: 0 real, 1 synthetic or unknown. */
export function kindCode(kind: Kind | undefined): number {
  return kind === 'real' ? 0 : 1;
}

export function scoreValue(score: number | undefined): number {
  return typeof score === 'number' && Number.isFinite(score) ? score : Number.NaN;
}

/** Cluster sizes as a histogram: exact sizes 2..5, then power-of-two ranges (`6-8`, `9-16`, ...). */
export function sizeHistogram(sizes: Iterable<number>): Record<string, number> {
  const h = new Map<string, [number, number]>();
  for (const s of sizes) {
    let label: string;
    let order: number;
    if (s <= 5) {
      label = String(s);
      order = s;
    } else {
      let hi = 8;
      while (hi < s) hi *= 2;
      label = `${hi === 8 ? 6 : hi / 2 + 1}-${hi}`;
      order = hi;
    }
    const e = h.get(label);
    if (e) e[1]++;
    else h.set(label, [order, 1]);
  }
  const out: Record<string, number> = {};
  for (const [label, [, n]] of [...h.entries()].sort((x, y) => x[1][0] - y[1][0])) out[label] = n;
  return out;
}
