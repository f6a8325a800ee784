// The cost of exact JSONL values (issue 19.5) on the JSONL reader's per-line work: before, `JSON.parse`,
// the object check and the column builder's loop over keys (a copy of the old `RowColumns.add`);
// now `parseObject`, `RowColumns.add` (which also notes whole numbers and nested values) and, for
// such rows only, `refineRecord` (a regex for `1.0`-style tokens, a walk of nested values, and an
// exact second parse only when a number may be unsafe or written as a float). Real files and three
// synthetic cases, plus the whole `readShard` time for scale. Same process, order alternated,
// best of REPS. Run: node --expose-gc bench/values.bench.mjs
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readShard } from '../dist/index.js';
import { parseObject, refineRecord } from '../dist/lines.js';
import { RowColumns } from '../dist/rows.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '..', '..', '..', '..', 'shared', 'data');
const REPS = Number(process.env.BENCH_REPS ?? 8);

const tmp = await mkdtemp(join(tmpdir(), 'curate-values-bench-'));
const words = 'the quick brown fox jumps over the lazy dog and then some more words follow here'.split(' ');
const text = (i) => Array.from({ length: 60 }, (_, j) => words[(i + j * 7) % words.length]).join(' ');
const synth = async (name, row) => {
  const p = join(tmp, name);
  await writeFile(
    p,
    `${Array.from({ length: 50_000 }, (_, i) => JSON.stringify(row(i)).replace(/"@(.*?)@"/g, '$1')).join('\n')}\n`,
  );
  return p;
};

const files = [
  ['dolly (instruct text)', join(DATA, 'instruct_pair', 'human_dolly15k.jsonl')],
  ['gutenberg (books)', join(DATA, 'real_text', 'gutenberg', 'gutenberg-00000-of-00004.jsonl')],
  ['alpaca eval (has ints)', join(DATA, 'instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')],
  ['gsm8k (short)', join(DATA, 'decontam', 'gsm8k_train.jsonl')],
  [
    'synthetic: nanochat turns as {"messages": [...]} (nested)',
    await (async () => {
      const p = join(tmp, 'chat.jsonl');
      const src = join(DATA, 'chat', 'synthetic_nanochat_identity_conversations.jsonl');
      const turns = existsSync(src)
        ? readFileSync(src, 'utf8')
            .split('\n')
            .filter((l) => l.trim())
        : [];
      await writeFile(p, turns.map((l, i) => `{"id":${i},"messages":${l}}`).join('\n'));
      return p;
    })(),
  ],
  [
    'synthetic: ids + score 7.0 (every line slow)',
    await synth('scores.jsonl', (i) => ({ id: i, score: `@${i % 10}.0@`, text: text(i) })),
  ],
  [
    'synthetic: ids > 2^53 (every line slow)',
    await synth('bigids.jsonl', (i) => ({ id: `@${1234567890123456789n + BigInt(i)}@`, n: i, text: text(i) })),
  ],
].filter(([, p]) => existsSync(p));

function isRecord(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The column builder's row loop before this change (RowColumns.add without `only`). */
class OldRows {
  names = [];
  cols = new Map();
  length = 0;
  add(obj) {
    const row = this.length++;
    for (const k in obj) {
      let col = this.cols.get(k);
      if (col === undefined) {
        col = [];
        this.cols.set(k, col);
        this.names.push(k);
      }
      col[row] = obj[k];
    }
  }
  flush() {
    for (const n of this.names) this.cols.set(n, []);
    this.length = 0;
  }
}

function timeIt(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

console.log('| file | MB | lines | before s | exact s | ratio | readShard s (same MB) | parse delta / readShard |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [label, path] of files) {
  let lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'));
  // at least ~40 MB of lines per timing, so one pass is long enough to measure on a shared machine
  const once = lines.reduce((s, l) => s + l.length, 0);
  const copies = Math.max(1, Math.ceil(40e6 / once));
  lines = Array.from({ length: copies * lines.length }, (_, i) => lines[i % lines.length]);
  const mb = lines.reduce((s, l) => s + l.length, 0) / 1e6;
  let base = Number.POSITIVE_INFINITY;
  let ours = Number.POSITIVE_INFINITY;
  let whole = Number.POSITIVE_INFINITY;
  const floats = new Set();
  const plain = () => {
    const rows = new OldRows();
    for (let i = 0; i < lines.length; i++) {
      let v;
      try {
        v = JSON.parse(lines[i]);
      } catch (e) {
        throw new Error(`${path}:${i}: ${e.message}`);
      }
      if (!isRecord(v)) throw new Error('not an object');
      rows.add(v);
      if (rows.length === 2048) rows.flush();
    }
  };
  const exact = () => {
    const rows = new RowColumns();
    for (let i = 0; i < lines.length; i++) {
      const obj = parseObject(lines[i], path, i);
      if (rows.add(obj)) {
        const e = refineRecord(obj, lines[i], path, i, floats);
        if (e !== obj || floats.size) rows.refine(e, floats);
      }
      if (rows.length === 2048) rows.flush(path, i);
    }
  };
  for (let r = 0; r < REPS; r++) {
    // alternate the order: the second of two passes pays the first one's garbage
    if (r % 2) {
      ours = Math.min(ours, timeIt(exact));
      base = Math.min(base, timeIt(plain));
    } else {
      base = Math.min(base, timeIt(plain));
      ours = Math.min(ours, timeIt(exact));
    }
    globalThis.gc?.();
    const t = process.hrtime.bigint();
    for await (const _ of readShard(path)) {
    }
    // readShard reads the file once: scale to the repeated lines
    whole = Math.min(whole, ((Number(process.hrtime.bigint() - t) / 1e9) * mb * 1e6) / once);
  }
  console.log(
    `| ${label} | ${mb.toFixed(1)} | ${lines.length} | ${base.toFixed(3)} | ${ours.toFixed(3)} | ${(ours / base).toFixed(2)}x | ${whole.toFixed(3)} | ${(((ours - base) / whole) * 100).toFixed(1)}% |`,
  );
}
await rm(tmp, { recursive: true, force: true });
