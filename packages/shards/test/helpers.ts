import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { readShard } from '../src/index.js';

/** A fresh temp dir per call, removed after the test. */
export function useTmp(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await mkdtemp(join(tmpdir(), 'curate-shards-'));
    dirs.push(d);
    return d;
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(
  p: Promise<unknown> | (() => Promise<unknown>),
): Promise<Error & Record<string, unknown>> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** A seeded pseudo-random number generator in [0, 1) (an LCG: the same corruptions on every run). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

/** All rows of a file as [name, value] lists (order and every key kept, prototypes irrelevant). */
export async function entries(path: string): Promise<[string, unknown][][]> {
  const out: [string, unknown][][] = [];
  for await (const b of readShard(path)) {
    const names = Object.keys(b.columns);
    for (let i = 0; i < b.length; i++) out.push(names.map((n) => [n, b.columns[n][i]]));
  }
  return out;
}
