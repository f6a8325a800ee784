import { createFilter, FilterChain } from '../src/index.js';

/** Run one filter on a text: true (kept), the drop detail, or the cleaned text as `{ text }`. */
export function check(name: string, params: object | undefined, text: string, columns?: Record<string, unknown>) {
  const f = createFilter(name, params);
  const chain = new FilterChain([f]);
  const cols = columns ? Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, [v]])) : undefined;
  const reason = chain.run(text, 'src', 'synthetic', cols, 0);
  if (reason !== null) return reason.split(':').slice(2).join(':');
  return chain.doc.text === text ? true : { text: chain.doc.text };
}

/** `n` distinct lower-case words (no stop words), each `len` letters long. */
export function words(n: number, len = 5, seed = 0): string[] {
  const out: string[] = [];
  const letters = 'bcdfghjklmnpqrsvwxz';
  for (let i = 0; i < n; i++) {
    let x = i + seed * 100003;
    let w = '';
    for (let j = 0; j < len; j++) {
      w += letters[x % letters.length];
      x = Math.floor(x / letters.length) + j * 7;
    }
    out.push(w);
  }
  return out;
}
