import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Rng } from '@curate/core';
import { shared } from '../../../tools/test/shared-data.js';
import { exactKey } from '../src/exact.js';

/** Rows of a JSONL file (tests only). */
export async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line.trim()) out.push(JSON.parse(line));
  return out;
}

/** Rows of every .jsonl file directly in a folder, files in name order (an output directory). */
export async function readJsonlDir(d: string): Promise<Record<string, unknown>[]> {
  const { readdir } = await import('node:fs/promises');
  const out: Record<string, unknown>[] = [];
  for (const f of (await readdir(d)).filter((x) => x.endsWith('.jsonl')).sort())
    out.push(...(await readJsonl(join(d, f))));
  return out;
}

export function readJsonlSync(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/**
 * Distinct documents of about `words` words cut from the middle 80% of real
 * books (licence boilerplate excluded; byte-identical books taken once).
 */
export function bookChunks(books: { text: string }[], perBook: number, words: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const b of books) {
    const k = exactKey(b.text);
    if (seen.has(k)) continue;
    seen.add(k);
    const w = b.text.split(/\s+/).filter(Boolean);
    const from = Math.floor(w.length * 0.1);
    const to = Math.floor(w.length * 0.9) - words;
    if (to - from < perBook * words) continue;
    const step = Math.floor((to - from) / perBook);
    for (let i = 0; i < perBook; i++) {
      const chunk = w.slice(from + i * step, from + i * step + words).join(' ');
      if (!/gutenberg|copyright/i.test(chunk)) out.push(chunk); // licence text repeats across books
    }
  }
  return out;
}

/** Edit a text's words at `rate`: each word is, with probability rate, replaced, deleted, or followed by an insert. */
export function editWords(text: string, rate: number, rng: Rng, vocab: string[]): string {
  const w = text.split(' ');
  const out: string[] = [];
  for (const word of w) {
    if (rng.float() >= rate) {
      out.push(word);
      continue;
    }
    const op = rng.int(3);
    if (op === 0) out.push(vocab[rng.int(vocab.length)]);
    else if (op === 2) out.push(word, vocab[rng.int(vocab.length)]);
  }
  return out.join(' ');
}

/** Exact Jaccard of two sets of numbers. */
export function jaccard(a: Set<number>, b: Set<number>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

/** A corpus of real book chunks with planted exact and near copies, spread over `nfiles` JSONL files. */
export async function plantCorpus(dir: string, nfiles: number): Promise<string[]> {
  const books = readJsonlSync(shared('real_text', 'gutenberg', 'gutenberg-00001-of-00004.jsonl')) as { text: string }[];
  const base = bookChunks(books, 8, 300);
  const rng = new Rng(5);
  const vocab = base.slice(0, 10).join(' ').split(' ');
  const rows: Record<string, unknown>[] = base.map((t, i) => ({ id: `b${i}`, text: t, kind: 'real', extra: i }));
  for (let i = 0; i < 60; i++) {
    const src = rows[rng.int(base.length)];
    rows.push({ id: `x${i}`, text: (src.text as string).toUpperCase(), kind: 'synthetic', extra: -1 });
    rows.push({ id: `n${i}`, text: editWords(src.text as string, 0.005, rng, vocab), kind: 'synthetic', extra: -2 });
  }
  rows.push({ id: 'empty1', text: '', kind: 'real' }, { id: 'empty2', text: '   ', kind: 'real' });
  rows.push({ id: 'short', text: 'Hi!', kind: 'real' });
  rng.shuffle(rows);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  const per = Math.ceil(rows.length / nfiles);
  for (let f = 0; f < nfiles; f++) {
    const p = join(dir, `part-${f}.jsonl`);
    await writeFile(
      p,
      `${rows
        .slice(f * per, (f + 1) * per)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
    paths.push(p);
  }
  return paths;
}
