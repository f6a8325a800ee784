import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteScratch, hash32, LineScanner } from '@curate/dedup';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { runRecipeFile } from '../dist/index.js';
import { textFromBytes } from '../dist/sample.js';
import { cleanSpans } from '../dist/spans.js';
import { duckRows, jsonlRows, shardBytes, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

describe('pass 2 on worker threads', () => {
  it('writes the same bytes as pass 2 in the main thread (1 worker), with c4 clean rewriting text', async () => {
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: pass2
seed: 11
tokenizer: cl100k_base
target: { tokens: 40000, ratio: { real: 0.6, synthetic: 0.4 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}"], text: text, columns: [genre] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 2 }
quality:
  - c4: { mode: clean, min_sentences: 2 }
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, shard_rows: 60, write_rejected: false }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    const ra = await runRecipeFile(recipe, { out: a, workers: 1 });
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 });
    // metrics measured on the pass-2 threads and merged (and their results computed on one of them,
    // diversity.ts) equal the writer's own measurement and results on the main thread
    expect(Object.keys(ra.manifest.metrics.sources).sort()).toEqual(['brown', 'markov']);
    expect(rb.manifest.metrics).toEqual(ra.manifest.metrics);
    expect(rb.manifest.warnings).toEqual(ra.manifest.warnings);
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(1);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
  });
});

describe.skipIf(!HAS_SHARED)('pass 2 on worker threads, rejected rows written (real AlpacaEval)', () => {
  it('writes the same output and rejected shards as pass 2 in the main thread', async () => {
    const dir = tempDir();
    // a file whose every row is dropped (too short for gopher_quality): a pass-2 task of rejected rows only
    writeFileSync(
      join(dir, 'short.jsonl'),
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ instruction: `hi ${i}`, output: 'ok' })).join('\n'),
    );
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: pass2-rejected
seed: 5
tokenizer: cl100k_base
target: { ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}"], text: text, columns: [genre] }
  - name: alpaca
    kind: synthetic
    generator: AlpacaEval models
    paths: ["${shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl')}", "${join(dir, 'short.jsonl')}"]
    text: "{instruction}\\n\\n{output}"
    columns: [dataset]
quality:
  - gopher_quality: {}
  - c4: { mode: clean }
dedup: { exact: {}, near: { threshold: 0.8 } }
output: { dir: out, format: jsonl, shard_rows: 2000, write_rejected: true }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    const ra = await runRecipeFile(recipe, { out: a, workers: 1 });
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 });
    expect(rb.manifest.metrics).toEqual(ra.manifest.metrics);
    expect(rb.manifest.totals).toEqual(ra.manifest.totals);
    for (const [x, y] of [
      [a, b],
      [join(a, 'rejected'), join(b, 'rejected')],
    ]) {
      const ha = shardBytes(x);
      const hb = shardBytes(y);
      expect(Object.keys(ha).length).toBeGreaterThan(0);
      expect(Object.keys(hb)).toEqual(Object.keys(ha));
      for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
    }
    // every dropped row is in the rejected shards, in source and file order (the source's files sorted
    // by path: the short file's 40 rows come first or last, depending on where the temp dir and
    // ../shared sit on this machine)
    const rejected = jsonlRows(shardBytes(join(b, 'rejected')));
    expect(rejected.length).toBe(rb.manifest.totals.rows_dropped);
    expect(rb.manifest.totals.rows_rejected_written).toBe(rb.manifest.totals.rows_dropped);
    const alpaca = rejected.filter((r) => r.source === 'alpaca');
    expect(alpaca.length).toBeGreaterThan(140); // AlpacaEval's own drops, over both threads' row ranges
    const shortFirst = join(dir, 'short.jsonl') < shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl');
    const shortRows = shortFirst ? alpaca.slice(0, 40) : alpaca.slice(-40);
    expect(shortRows.map((r) => r.text)).toEqual(Array.from({ length: 40 }, (_, i) => `hi ${i}\n\nok`));
    expect(alpaca.filter((r) => /^hi \d+\n\nok$/.test(r.text as string)).length).toBe(40);
    const rows = alpaca.map((r) => r.source_row as number);
    expect(rows).toEqual([...rows].sort((x, y) => x - y));
    expect(readdirSync(join(b, 'rejected')).some((f) => f.startsWith('shard-'))).toBe(true);
  });
});

describe('pass 2 over raw JSONL bytes', () => {
  it('finds and parses only the selected lines, with the reader rules (BOM, CRLF, blank lines, keys missing or first seen late)', async () => {
    const dir = tempDir();
    // Real rows (Brown fixture) rewritten into awkward but valid JSONL.
    const src = readFileSync(join(FIX, 'shards', 'real', 'brown-00000.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(src.length).toBeGreaterThan(50);
    const lines: string[] = [];
    src.forEach((r, i) => {
      const row: Record<string, unknown> = { id: `r${i}`, text: r.text };
      if (i % 3 !== 1) row.genre = r.genre ?? `g${i % 5}`; // pass-through column missing on some rows
      if (i % 7 !== 3) row.q = i % 10; // score column, absent from some rows (the reader's batches hold null)
      if (i > src.length / 2) row.late = { n: i, tags: ['x', i] }; // a column first seen late in the file
      if (i % 11 === 0) Object.defineProperty(row, '__proto__', { value: 'kept', enumerable: true }); // an own key
      const json = i % 4 === 0 ? JSON.stringify(row, null, 1).replace(/\n/g, ' ') : JSON.stringify(row);
      lines.push(json);
      if (i % 9 === 0) lines.push(''); // blank lines are not records
      if (i % 13 === 0) lines.push(' \t ');
    });
    const body = lines.map((l, i) => (i % 5 === 0 ? `${l}\r` : l)).join('\n');
    expect(body).toContain('"__proto__":"kept"');
    writeFileSync(join(dir, 'awkward.jsonl'), `\ufeff${body}`); // BOM, no final newline
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: raw-pass2
seed: 5
tokenizer: cl100k_base
target: { ratio: { real: 0.15, synthetic: 0.85 } }
sources:
  - { name: awkward, kind: real, paths: ["${join(dir, 'awkward.jsonl')}"], text: text, id: id, columns: [genre, late, q] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 1 }
quality:
  - score: { column: q, min: 2, applies_to: [awkward] }
  - c4: { mode: clean, min_sentences: 1 }
dedup: { exact: {} }
output: { dir: out, format: jsonl, write_rejected: false }
report: false
`,
    );
    const a = join(dir, 'one');
    const b = join(dir, 'two');
    const ra = await runRecipeFile(recipe, { out: a, workers: 1 }); // pass 2 through the generic reader
    const rb = await runRecipeFile(recipe, { out: b, workers: 2 }); // pass 2 on threads, raw JSONL lines
    const real = ra.manifest.sources.find((s) => s.name === 'awkward');
    expect(real?.rows_sampled).toBeGreaterThan(5);
    expect(real?.rows_sampled).toBeLessThan(real?.rows_available ?? 0); // a subset: lines are skipped
    // >= 256 selected rows of one JSONL file: with 2 workers pass 2 shares it out in two row ranges
    expect(ra.manifest.sources.find((s) => s.name === 'markov')?.rows_sampled).toBeGreaterThanOrEqual(256);
    const ha = shardBytes(a);
    const hb = shardBytes(b);
    expect(Object.keys(ha).length).toBeGreaterThan(0);
    expect(Object.keys(hb)).toEqual(Object.keys(ha));
    for (const k of Object.keys(ha)) expect(hb[k].equals(ha[k]), k).toBe(true);
    const out = jsonlRows(ha);
    expect(out.some((r) => r.source === 'awkward' && r.genre === null)).toBe(true);
    expect(out.some((r) => r.source === 'awkward' && r.late !== null)).toBe(true);
    expect(rb.manifest.output.shards.map((s) => s.sha256)).toEqual(ra.manifest.output.shards.map((s) => s.sha256));
  });
});

describe('pass 2 over raw JSONL bytes, from stored spans', () => {
  it('takes the text from the bytes where the line allows it, and hands the rest to the reader', () => {
    const raw = 'Keep this.\njunk\nÉtoile 😀 kept.\n';
    const cleaned = 'Keep this.\nÉtoile 😀 kept.';
    const spans = cleanSpans(raw, cleaned) as Uint8Array;
    const esc = JSON.stringify(raw);
    const path = () => {
      const scanner = new LineScanner();
      scanner.lazyKey = Buffer.from('text');
      const derive = { fromSpans: 0, rederived: 0 };
      return { scanner, spans: [spans], transforms: true, derive, scratch: new ByteScratch() };
    };
    const run = (line: string, hash = hash32(raw)) => {
      const buf = Buffer.from(`xx${line}yy`);
      const p = path();
      const got = textFromBytes(p, buf, 2, buf.length - 2, 0, hash, 'f.jsonl', 0);
      return got && { ...got, counted: p.derive.fromSpans };
    };
    const taken = [
      `{"id":"a","text":${esc}}`,
      `{"meta":{"q":"}\\"{","n":[1,{"a":null}]},"text":${esc.replaceAll('/', '\\/')}}`,
      `{"text":"${Array.from({ length: raw.length }, (_, i) => `\\u${raw.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"}`,
      `{ "text" : ${esc} , "n" : 12345678901234567890 }`,
    ];
    for (const line of taken) {
      const got = run(line);
      expect(got?.text, line).toBe(cleaned);
      expect(got?.counted).toBe(1);
      // the other columns as the reader parses them (the text column null)
      const want = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(got?.obj ?? {})).toEqual(Object.keys(want));
      expect(got?.obj.text).toBeNull();
    }
    expect(run(taken[3])?.obj.n).toBe(12345678901234567890n);
    for (const line of [
      `{"te\\u0078t":${esc}}`, // escaped key
      `{"text":"decoy","text":${esc}}`, // repeated key
      `{"text":"lone \\ud800"}`, // no UTF-8 form
      `{"text":null}`,
      `[${esc}]`,
    ])
      expect(run(line), line).toBeNull();
    // a text that is not what pass 1 hashed: the reader's path (which then fails closed)
    expect(run(taken[0], hash32(raw) ^ 1)).toBeNull();
  });

  it('the byte path (text decoded from bytes, spans applied to bytes) writes what the reader path writes', async () => {
    const dir = tempDir();
    const src = readFileSync(join(FIX, 'shards', 'real', 'brown-00000.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { text: string }).text);
    // Each row: real sentences, one junk line c4 clean removes, and one of the shapes the byte
    // path must handle or hand back to the reader (escaped key, repeated key, lone surrogate, ...).
    const lines = src.map((t, i) => {
      const sentences = t.split(/(?<=\.) /).join('\n');
      const text = `${sentences}\njunk line without an end ${i}\nÉtoile, 中文, 😀 and 𝄞 end here.`;
      const esc = JSON.stringify(text);
      switch (i % 8) {
        case 0:
          return `{"id":"r${i}","te\\u0078t":${esc}}`; // an escaped key: the reader's path
        case 1:
          return `{"text":"decoy","id":"r${i}","text":${esc}}`; // repeated: JSON.parse keeps the last
        case 2:
          return `{"id":"r${i}","text":${esc.slice(0, -1)} lone \\ud800 here."}`; // no UTF-8 form
        case 3:
          return `{"meta":{"q":"}\\"{","n":[1,{"a":null}]},"id":"r${i}","text":${esc.replaceAll('/', '\\/')}}`;
        case 4:
          return `{"id":"r${i}","text":"${Array.from({ length: text.length }, (_, k) => `\\u${text.charCodeAt(k).toString(16).padStart(4, '0')}`).join('')}"}`;
        case 5:
          return `{ "id" : "r${i}" , "text" : ${esc} , "n" : 12345678901234567890 }`; // a big integer elsewhere
        default:
          return JSON.stringify({ id: `r${i}`, text, genre: `g${i % 3}` });
      }
    });
    writeFileSync(join(dir, 'shapes.jsonl'), `${lines.join('\n')}\n`);
    const recipe = writeRecipe(
      dir,
      'r.yaml',
      `name: byte-path
seed: 3
tokenizer: cl100k_base
target: { ratio: { real: 0.5, synthetic: 0.5 } }
sources:
  - { name: shapes, kind: real, paths: ["${join(dir, 'shapes.jsonl')}"], text: text, id: id, columns: [genre, n] }
  - { name: markov, kind: synthetic, generator: markov-2, paths: ["${join(FIX, 'shards', 'synthetic')}/*.jsonl"], text: text, max_epochs: 1 }
quality:
  - c4: { mode: clean, min_sentences: 1 }
output: { dir: out, format: jsonl, write_rejected: false }
report: false
`,
    );
    const ref = await runRecipeFile(recipe, { out: join(dir, 'ref'), workers: 2, work: false }); // no spans: strings
    const work = join(dir, 'work');
    const first = await runRecipeFile(recipe, { out: join(dir, 'first'), workers: 2, work }); // spans stored, then used
    // a re-mix from the stored attributes (every text through the byte path where the line allows)
    const remix = await runRecipeFile(recipe, { out: join(dir, 'remix'), workers: 2, work });
    expect(remix.manifest.work?.scan).toMatchObject({ reused: 2, computed: 0 });
    await runRecipeFile(recipe, { out: join(dir, 'again'), workers: 1, work: join(dir, 'work1') }); // pass 2 on this thread
    const shapes = ref.manifest.sources.find((s) => s.name === 'shapes');
    expect(shapes?.rows_sampled).toBeGreaterThan(20);
    const text = first.manifest.work?.write?.text as { from_spans: number; rederived: number };
    expect(text.from_spans).toBeGreaterThan(20);
    const want = shardBytes(join(dir, 'ref'));
    expect(Object.keys(want).length).toBeGreaterThan(0);
    for (const out of ['first', 'remix', 'again']) {
      const got = shardBytes(join(dir, out));
      expect(Object.keys(got)).toEqual(Object.keys(want));
      for (const k of Object.keys(want)) expect(got[k].equals(want[k]), `${out}/${k}`).toBe(true);
    }
    // the cleaned rows kept their non-ASCII line, the lone surrogate as the reader decodes it
    const rows = jsonlRows(want);
    const mine = rows.filter((r) => r.source === 'shapes');
    expect(mine.every((r) => !String(r.text).includes('junk line'))).toBe(true);
    expect(mine.some((r) => String(r.text).includes('😀 and 𝄞'))).toBe(true);
    expect(mine.some((r) => String(r.text).includes('\ud800'))).toBe(true);
  });
});

describe('pass 2 hands texts to the Parquet writer as bytes', () => {
  it('keeps a text UTF-8 cannot hold (a lone surrogate) as a string, so the writer refuses it as before, on both paths', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'in.jsonl'),
      [
        JSON.stringify({ text: 'A fine sentence here with words. Lone \ud800 surrogate inside it.' }),
        JSON.stringify({ text: 'Another good line of text for the mix to keep around, in plain ASCII.' }),
        JSON.stringify({ text: 'Non-ASCII but well formed: café, naïve, 漢字, emoji 😀 all written as bytes.' }),
      ].join('\n'),
    );
    const recipe = (name: string, rows: string) =>
      writeRecipe(
        dir,
        `${name}.yaml`,
        `name: ${name}
seed: 1
tokenizer: cl100k_base
target: { ratio: { real: 1.0 } }
sources:
  - { name: a, kind: real, paths: ["${join(dir, rows)}"], text: text }
output: { dir: out, format: parquet, compression: zstd }
report: false
`,
      );
    for (const workers of [1, 2]) {
      const e = await runRecipeFile(recipe('bad', 'in.jsonl'), { out: join(dir, `bad${workers}`), workers }).then(
        () => null,
        (err: { code?: string; message: string }) => err,
      );
      expect(e?.code, `workers ${workers}`).toBe('E_LONE_SURROGATE');
      expect(e?.message).toContain('column "text"');
    }
    // without that row, the well-formed texts (ASCII and not) are written and read back exactly
    writeFileSync(join(dir, 'good.jsonl'), readFileSync(join(dir, 'in.jsonl'), 'utf8').split('\n').slice(1).join('\n'));
    const outs: Record<string, Buffer>[] = [];
    for (const workers of [1, 2]) {
      const out = join(dir, `good${workers}`);
      await runRecipeFile(recipe('good', 'good.jsonl'), { out, workers });
      outs.push(shardBytes(out));
    }
    expect(Object.keys(outs[1])).toEqual(Object.keys(outs[0]));
    for (const k of Object.keys(outs[0])) expect(outs[1][k].equals(outs[0][k]), k).toBe(true);
    // DuckDB reads the texts back as they were
    const texts = (await duckRows(`SELECT text FROM read_parquet('${join(dir, 'good2')}/*.parquet')`)).map(
      (r) => r.text,
    );
    expect(texts.sort()).toEqual(
      readFileSync(join(dir, 'good.jsonl'), 'utf8')
        .split('\n')
        .map((l) => JSON.parse(l).text)
        .sort(),
    );
  });
});
