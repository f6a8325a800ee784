import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRecipeFile } from '../dist/index.js';
import { shardBytes, tempDir, writeRecipe } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

function readJsonl(dir: string): Record<string, unknown>[] {
  return Object.values(shardBytes(dir)).flatMap((b) =>
    b
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
}

/** 40 rows with a status, a score, e-mail addresses in the text and in a pass-through column. */
function writeInput(dir: string): void {
  const rows = Array.from({ length: 40 }, (_, i) => ({
    id: `r${i}`,
    question: `Question ${i}: who answers mail sent to help${i}@example.org about topic ${i}?`,
    answer: `Write to desk${i}@corp-mail.com or call; server 163.36.${i}.25 is down. ${'word '.repeat(i % 7)}done ${i}`,
    contact: `owner${i}@example.net`,
    status: i % 5 === 0 ? 'spam' : 'ok',
    score: i % 4,
  }));
  // two files, so pass 1 and pass 2 run in worker threads with workers: 2
  writeFileSync(
    join(dir, 'data-0.jsonl'),
    rows
      .slice(0, 25)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  writeFileSync(
    join(dir, 'data-1.jsonl'),
    rows
      .slice(25)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  mkdirSync(join(dir, 'filters'));
  // a custom filter module outside any package: a plain object (what defineFilter returns)
  writeFileSync(
    join(dir, 'filters', 'short.mjs'),
    `export function maxWords(p) {
  return { name: 'max_words', columns: ['answer'], filter: (doc) => {
    const n = String(doc.get('answer')).split(/\\s+/).filter(Boolean).length;
    doc.count('checked');
    return n > p.max ? { drop: 'too_long' } : true;
  } };
}`,
  );
}

const recipeText = (writeRejected: boolean) => `name: filters
seed: 5
tokenizer: words
sources:
  - name: qa
    kind: real
    paths: [data-*.jsonl]
    text: "{question}\\n{answer}"
    id: id
    columns: [contact, status]
quality:
  - where: { column: status, eq: ok }
  - where: { column: score, gte: 1 }
  - pii: {}
  - custom: { module: ./filters/short.mjs, export: maxWords, params: { max: 20 } }
output: { dir: out, format: jsonl, write_rejected: ${writeRejected} }
report: false
`;

describe('where, pii and custom filters in a mix', () => {
  it('drops by column values with reasons, redacts text and pass-through columns, counts per source, same bytes with 1 or 2 workers', async () => {
    const dir = tempDir();
    writeInput(dir);
    const recipe = writeRecipe(dir, 'r.yaml', recipeText(false));
    const one = join(dir, 'one');
    const two = join(dir, 'two');
    const { manifest } = await runRecipeFile(recipe, { out: one, workers: 1 });
    await runRecipeFile(recipe, { out: two, workers: 2 });
    expect(shardBytes(two)).toEqual(shardBytes(one));
    const src = manifest.sources[0];
    // 8 rows spam; of the other 32, score 0 on 8 (i % 4 == 0 and i % 5 != 0 ... counted below)
    const spam = 8;
    const lowScore = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 5 !== 0 && i % 4 === 0).length;
    expect(src.dropped['filter:where:status']).toBe(spam);
    expect(src.dropped['filter:where:score']).toBe(lowScore);
    const kept = 40 - spam - lowScore;
    // pii saw every row that passed both where filters: 2 e-mails and 1 IPv4 each
    expect(src.changed).toEqual({
      'max_words:checked': kept,
      'pii:email': 2 * kept,
      'pii:ipv4': kept,
      'pii:rows': kept,
    });
    expect(src.rows_read).toBe(40);
    const rows = readJsonl(one);
    expect(rows.length).toBe(src.rows_available);
    for (const r of rows) {
      expect(r.text).not.toMatch(/@|163\.36\./);
      expect(r.text).toMatch(/<EMAIL_ADDRESS>.*<EMAIL_ADDRESS>.*<IP_ADDRESS>/s);
      expect(r.contact).toBe('<EMAIL_ADDRESS>');
      expect(r.status).toBe('ok');
    }
  });

  it('rejected rows are written redacted too, with their reasons', async () => {
    const dir = tempDir();
    writeInput(dir);
    const recipe = writeRecipe(dir, 'r.yaml', recipeText(true));
    const out = join(dir, 'out');
    await runRecipeFile(recipe, { out, workers: 2 });
    const rejected = readJsonl(join(out, 'rejected'));
    expect(rejected.length).toBeGreaterThan(8);
    const reasons = new Set(rejected.map((r) => r.reason));
    expect(reasons).toEqual(new Set(['filter:where:status', 'filter:where:score']));
    for (const r of rejected) {
      expect(JSON.stringify(r)).not.toMatch(/@example|@corp-mail|163\.36\./);
    }
  });

  it('the shipped example recipe: custom filters from a module relative to the recipe, loaded in worker threads', async () => {
    const out = join(tempDir(), 'out');
    const { manifest } = await runRecipeFile(join(FIX, 'recipes', 'custom-filters.yaml'), { out, workers: 2 });
    const brown = manifest.sources.find((s) => s.name === 'brown');
    expect(brown?.dropped['filter:where:genre']).toBeGreaterThan(0);
    const all = manifest.sources.flatMap((s) => Object.keys(s.dropped));
    expect(all).toContain('filter:min_words_in:too_short');
    expect(readJsonl(out).length).toBe(200);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toContain('custom-filters.mjs');
  });
});

describe('checkRecipeColumns', () => {
  it('reads only schemas (Parquet footer, first JSONL batch) and names path, file, columns and the closest name', async () => {
    const { loadRecipe } = await import('@curate/recipe');
    const { checkRecipeColumns } = await import('../dist/index.js');
    const dir = tempDir();
    const recipe = writeRecipe(
      dir,
      'c.yaml',
      `name: c
sources:
  - { name: brown, kind: real, paths: ["${join(FIX, 'shards', 'real')}/*"], text: "{text}\\n{genr}", id: id }
quality:
  - score: { column: genre, min: 1, applies_to: [brown] }
  - grounded: { context: contxt }
output: { dir: out }
`,
    );
    const { recipe: r } = await loadRecipe(recipe);
    const issues = await checkRecipeColumns(r);
    expect(issues.map((i) => i.path)).toEqual(['sources[0].text', 'quality[1].grounded.context']);
    expect(issues[0].message).toMatch(
      /^column "genr" is not in .*brown-00000\.jsonl of source "brown" \(did you mean "genre"\?\) \(columns: id, text, genre\)$/,
    );
    const err = await loadRecipe(recipe, { checks: [checkRecipeColumns] }).catch((e) => e);
    expect(err.code).toBe('E_RECIPE_INVALID');
    expect(err.issues[0]).toMatchObject({ path: 'sources[0].text', line: 3 });
  });
});
