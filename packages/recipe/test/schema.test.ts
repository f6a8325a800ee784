import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKENIZER_NAMES } from '@curate/core';
import { describe, expect, it } from 'vitest';
import {
  appliesToSources,
  DEFAULT_SHARD_SIZE,
  FILTER_DEFAULTS,
  FILTER_NAMES,
  qualitySteps,
  recipeSchema,
  validateRecipe,
} from '../src/index.js';
import { baseRecipe, GIVEN_FILTER_PARAMS, type Loose, lines, withEveryFilterAndDedup } from './helpers.js';

const check = (input: unknown) => validateRecipe(input, { checkPaths: false });

async function errorsOf(mutate: (r: Loose) => void): Promise<string[]> {
  const r = baseRecipe();
  mutate(r);
  const res = await check(r);
  expect(res.recipe).toBeUndefined();
  return lines(res.errors);
}

describe('schema errors name the recipe path', () => {
  it('rewrites ajv messages into readable ones', async () => {
    expect(await errorsOf((r) => (r.sources[1].max_epochs = 0))).toEqual(['sources[1].max_epochs: must be > 0']);
    expect(await errorsOf((r) => (r.target = { ratio: { real: 'a' } }))).toEqual([
      'target.ratio.real: must be a number',
    ]);
    expect(await errorsOf((r) => (r.sources[1].kind = 'synthetc'))).toEqual([
      'sources[1].kind: must be one of real, synthetic',
    ]);
    expect(await errorsOf((r) => (r.seed = 1.5))).toEqual(['seed: must be an integer']);
    expect(await errorsOf((r) => (r.report = 'yes'))).toEqual(['report: must be a boolean (true or false)']);
    expect(await errorsOf((r) => (r.tokenizer = 'gpt2'))).toEqual([
      'tokenizer: must be one of cl100k_base, o200k_base, words, bytes',
    ]);
    expect(await errorsOf((r) => (r.target = { ratio: { synthetic: 1.5 } }))).toEqual([
      'target.ratio.synthetic: must be <= 1',
    ]);
    expect(await errorsOf((r) => (r.target = { tokens: 0 }))).toEqual(['target.tokens: must be >= 1']);
    expect(await errorsOf((r) => (r.target = { ratio: {} }))).toEqual([
      'target.ratio: must give at least one of real, synthetic',
    ]);
  });

  it('reports required keys at their own path, and a non-object recipe at the root', async () => {
    expect(await errorsOf((r) => delete r.name)).toEqual(['name: is required']);
    expect(await errorsOf((r) => delete r.output.dir)).toEqual(['output.dir: is required']);
    expect(await errorsOf((r) => delete r.sources[0].text)).toEqual(['sources[0].text: is required']);
    expect(lines((await check('name: x')).errors)).toEqual(['recipe: must be an object']);
    expect(lines((await check(null)).errors)).toEqual(['recipe: must be an object']);
  });

  it('rejects empty lists and strings', async () => {
    expect(await errorsOf((r) => (r.sources = []))).toEqual(['sources: must not be empty']);
    expect(await errorsOf((r) => (r.sources[0].paths = []))).toEqual(['sources[0].paths: must not be empty']);
    expect(await errorsOf((r) => (r.sources[0].paths = 'data/x.jsonl'))).toEqual(['sources[0].paths: must be a list']);
    expect(await errorsOf((r) => (r.name = ''))).toEqual(['name: must not be empty']);
  });

  it('names bad source names with the allowed characters', async () => {
    expect(await errorsOf((r) => (r.sources[0].name = 'my source'))).toEqual([
      'sources[0].name: must be a name of letters, digits, "_", "." or "-"',
    ]);
  });

  it('rejects unknown keys everywhere, with the closest known key', async () => {
    expect(await errorsOf((r) => (r.sources[0].max_epoch = 2))).toEqual([
      'sources[0].max_epoch: unknown key (did you mean "max_epochs"?)',
    ]);
    expect(await errorsOf((r) => (r.output.shard_sise = '1GB'))).toEqual([
      'output.shard_sise: unknown key (did you mean "shard_size"?)',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { treshold: 0.9 } }))).toEqual([
      'dedup.near.treshold: unknown key (did you mean "threshold"?)',
    ]);
    expect(await errorsOf((r) => (r.guards = { max_epochs_warn: 3 }))).toEqual([
      'guards.max_epochs_warn: unknown key (did you mean "max_epochs_warning"?)',
    ]);
    const far = await errorsOf((r) => (r.target = { zzzzzz: 1 }));
    expect(far).toEqual(['target.zzzzzz: unknown key (known keys: tokens, documents, ratio)']);
  });

  it('explains quality items: unknown filters, several filters, parameters outside the filter', async () => {
    expect(await errorsOf((r) => (r.quality = [{ c4: {} }, { gopher_qualty: {} }]))).toEqual([
      'quality[1]: unknown filter "gopher_qualty" (did you mean "gopher_quality"?)',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: {}, fineweb: {} }]))).toEqual([
      'quality[0]: must name exactly one filter, found 2 (c4, fineweb): give each its own list item',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: {}, applies_to: 'real' }]))).toEqual([
      `quality[0]: "applies_to" is a filter parameter, not a filter: put it inside the filter's object`,
    ]);
    expect(await errorsOf((r) => (r.quality = ['c4']))).toEqual([
      'quality[0]: must be an object (write "- c4: {}" for the filter with its defaults)',
    ]);
    expect(await errorsOf((r) => (r.quality = [{}]))).toEqual([
      `quality[0]: must name one filter (one of ${FILTER_NAMES.join(', ')})`,
    ]);
    // YAML written with the parameters one indent too shallow.
    expect(await errorsOf((r) => (r.quality = [{ score: null, column: 'judge' }]))).toEqual([
      `quality[0]: "column" is a filter parameter, not a filter: put it inside the filter's object`,
      'quality[0].score: must be an object (write "score: {}" for the defaults)',
    ]);
  });

  it('checks filter parameters by type and range', async () => {
    expect(await errorsOf((r) => (r.quality = [{ gopher_quality: { min_words: -1 } }]))).toEqual([
      'quality[0].gopher_quality.min_words: must be >= 0',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: { mode: 'scrub' } }]))).toEqual([
      'quality[0].c4.mode: must be one of filter, clean',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ score: { min: 3 } }]))).toEqual([
      'quality[0].score.column: is required',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ grounded: {} }]))).toEqual([
      'quality[0].grounded.context: is required',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ language: { keep: ['english'] } }]))).toEqual([
      'quality[0].language.keep[0]: must be an ISO 639-1 code such as "en"',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: { applies_to: 'both' } }]))).toEqual([
      'quality[0].c4.applies_to: must be real, synthetic or a non-empty list of source names',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: { applies_to: [] } }]))).toEqual([
      'quality[0].c4.applies_to: must be real, synthetic or a non-empty list of source names',
    ]);
    expect(
      await errorsOf((r) => (r.quality = [{ gopher_repetition: { top_ngram_char_frac: { two: 0.2, '3': 2 } } }])),
    ).toEqual([
      'quality[0].gopher_repetition.top_ngram_char_frac.two: keys must be n-gram sizes such as "2"',
      'quality[0].gopher_repetition.top_ngram_char_frac["3"]: must be <= 1',
    ]);
  });

  it('checks dedup, guards and output values', async () => {
    expect(await errorsOf((r) => (r.dedup = { near: { threshold: 1 } }))).toEqual([
      'dedup.near.threshold: must be < 1',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { num_perm: 8 } }))).toEqual([
      'dedup.near.num_perm: must be >= 16',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { num_perm: 2048 } }))).toEqual([
      'dedup.near.num_perm: must be <= 1024',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { shingle: 'token' } }))).toEqual([
      'dedup.near.shingle: must be one of word, char',
    ]);
    expect(await errorsOf((r) => (r.dedup = { scope: 'local' }))).toEqual([
      'dedup.scope: must be one of global, per_source',
    ]);
    expect(await errorsOf((r) => (r.dedup = { decontaminate: [{ name: 'gsm8k', paths: ['x'] }] }))).toEqual([
      'dedup.decontaminate[0].text: is required',
    ]);
    expect(await errorsOf((r) => (r.guards = { max_synthetic_fraction: -0.1 }))).toEqual([
      'guards.max_synthetic_fraction: must be >= 0',
    ]);
    expect(await errorsOf((r) => (r.output.format = 'csv'))).toEqual([
      'output.format: must be one of parquet, arrow, jsonl',
    ]);
    expect(await errorsOf((r) => (r.output.compression = 'lz4'))).toEqual([
      'output.compression: must be one of snappy, zstd, none, gzip',
    ]);
    const size = 'output.shard_size: must be a size such as "128MB" or "1GiB", or a number of bytes';
    expect(await errorsOf((r) => (r.output.shard_size = '128 parsecs'))).toEqual([size]);
    expect(await errorsOf((r) => (r.output.shard_size = 0))).toEqual([size]);
    expect(await errorsOf((r) => (r.output.shard_size = true))).toEqual([size]);
    expect(await errorsOf((r) => (r.output.shard_rows = 0))).toEqual(['output.shard_rows: must be >= 1']);
  });

  it('reports every error at once', async () => {
    const errs = await errorsOf((r) => {
      r.seed = -1;
      r.sources[0].kind = 'human';
      r.sources[1].max_epochs = 'two';
      delete r.output;
    });
    expect(errs).toEqual([
      'output: is required',
      'seed: must be >= 0',
      'sources[0].kind: must be one of real, synthetic',
      'sources[1].max_epochs: must be a number',
    ]);
  });
});

describe('defaults', () => {
  it('fills every default of the recipe', async () => {
    const { recipe, errors, warnings } = await check(baseRecipe());
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(recipe).toEqual({
      name: 'test-mix',
      seed: 0,
      tokenizer: 'cl100k_base',
      target: {},
      sources: [
        { name: 'human', kind: 'real', paths: ['data/real.jsonl'], text: 'text', max_epochs: 1 },
        {
          name: 'synth',
          kind: 'synthetic',
          generator: 'gpt-4',
          paths: ['data/synth.jsonl'],
          text: 'text',
          max_epochs: 1,
        },
      ],
      quality: [],
      dedup: { scope: 'global' },
      guards: { max_epochs_warning: 4, min_diversity_ratio: 0.7 },
      output: {
        dir: 'out',
        format: 'parquet',
        compression: 'zstd',
        shard_size: DEFAULT_SHARD_SIZE,
        write_rejected: false,
        columns: [],
      },
      report: true,
    });
  });

  it('fills dedup and filter parameter defaults, and keeps what is given', async () => {
    const r = baseRecipe();
    withEveryFilterAndDedup(r);
    const { recipe, errors } = await check(r);
    expect(errors).toEqual([]);
    expect(recipe!.dedup).toEqual({
      exact: { normalize: true, strip_punctuation: false },
      near: { threshold: 0.9, ngram: 5, shingle: 'word', num_perm: 128, seed: 1, prefer: 'real', verify: true },
      decontaminate: [{ name: 'ev', paths: ['e.jsonl'], text: 'q', ngram: 13 }],
      scope: 'global',
    });
    recipe!.quality.slice(0, FILTER_NAMES.length).forEach((item, i) => {
      const name = FILTER_NAMES[i];
      expect((item as Record<string, unknown>)[name]).toEqual({
        ...FILTER_DEFAULTS[name],
        ...GIVEN_FILTER_PARAMS[name],
      });
    });
    expect(recipe!.quality.at(-1)).toEqual({ length: { unit: 'tokens', min: 1, max: 10 } });
  });

  it('does not modify the input object', async () => {
    const r = baseRecipe();
    const before = JSON.stringify(r);
    await check(r);
    expect(JSON.stringify(r)).toBe(before);
  });

  it('chooses compression by format and parses shard sizes', async () => {
    const out = async (output: Record<string, unknown>) =>
      (await check({ ...baseRecipe(), output: { dir: 'o', ...output } })).recipe!.output;
    expect((await out({ format: 'jsonl' })).compression).toBe('none');
    expect((await out({ format: 'arrow' })).compression).toBe('none');
    expect((await out({ format: 'parquet' })).compression).toBe('zstd');
    expect((await out({ format: 'jsonl', compression: 'gzip' })).compression).toBe('gzip');
    expect((await out({ shard_size: '1GiB' })).shard_size).toBe(2 ** 30);
    expect((await out({ shard_size: '1.5 MB' })).shard_size).toBe(1_500_000);
    expect((await out({ shard_size: '64kib' })).shard_size).toBe(65536);
    expect((await out({ shard_size: 4096 })).shard_size).toBe(4096);
    const rows = await out({ shard_rows: 1000 });
    expect(rows.shard_rows).toBe(1000);
    expect(rows.shard_size).toBeUndefined();
    expect((await out({ shard_rows: 1000, shard_size: '1MB' })).shard_size).toBe(1_000_000);
  });

  it('completes a one-sided ratio', async () => {
    const r = baseRecipe();
    r.target = { tokens: 1000, ratio: { synthetic: 0.25 } };
    expect((await check(r)).recipe!.target).toEqual({ tokens: 1000, ratio: { real: 0.75, synthetic: 0.25 } });
  });

  it('drops $schema from the resolved recipe', async () => {
    const { recipe } = await check({ $schema: './recipe.schema.json', ...baseRecipe() });
    expect(recipe).toBeDefined();
    expect(recipe).not.toHaveProperty('$schema');
  });
});

describe('filters', () => {
  it('lists the filters and their defaults exactly as specified', () => {
    expect([...FILTER_NAMES]).toEqual([
      'gopher_quality',
      'gopher_repetition',
      'c4',
      'fineweb',
      'length',
      'blocklist',
      'language',
      'score',
      'grounded',
      'where',
      'pii',
      'custom',
    ]);
    expect(FILTER_DEFAULTS).toEqual({
      gopher_quality: {
        min_words: 50,
        max_words: 100000,
        min_mean_word_length: 3,
        max_mean_word_length: 10,
        max_symbol_word_ratio: 0.1,
        max_bullet_lines_ratio: 0.9,
        max_ellipsis_lines_ratio: 0.3,
        min_alpha_words_ratio: 0.8,
        min_stop_words: 2,
        stop_words: ['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'],
      },
      gopher_repetition: {
        max_dup_line_frac: 0.3,
        max_dup_line_char_frac: 0.2,
        max_dup_para_frac: 0.3,
        max_dup_para_char_frac: 0.2,
        top_ngram_char_frac: { '2': 0.2, '3': 0.18, '4': 0.16 },
        dup_ngram_char_frac: { '5': 0.15, '6': 0.14, '7': 0.13, '8': 0.12, '9': 0.11, '10': 0.1 },
      },
      c4: {
        mode: 'clean',
        min_sentences: 5,
        min_words_per_line: 3,
        remove_javascript: true,
        remove_policy: true,
        remove_lorem_ipsum: true,
        remove_curly_bracket: true,
        terminal_punctuation: true,
      },
      fineweb: {
        min_punct_line_ratio: 0.12,
        max_short_line_ratio: 0.67,
        short_line_length: 30,
        max_dup_line_char_frac: 0.01,
        max_newline_word_ratio: 0.3,
      },
      length: { unit: 'words', min: 1 },
      blocklist: { words: [], phrases: [], case_sensitive: false },
      language: { keep: ['en'], min_confidence: 0.5 },
      score: { missing: 'drop' },
      grounded: { max_unsupported: 0.2, min_response_words: 5 },
      where: { missing: 'drop' },
      pii: {
        email: true,
        ip: true,
        phone: false,
        only_public_ips: true,
        email_placeholder: '<EMAIL_ADDRESS>',
        ip_placeholder: '<IP_ADDRESS>',
        phone_placeholder: '<PHONE_NUMBER>',
      },
      custom: { export: 'default' },
    });
  });

  it('where: structured conditions with recipe-path errors', async () => {
    const q = (item: object) => errorsOf((r) => (r.quality = [{ c4: {} }, item]));
    expect(await q({ where: { column: 'status' } })).toEqual([
      'quality[1].where: give a condition: eq, ne, in, not_in, gt, gte, lt, lte',
    ]);
    expect(await q({ where: { column: 'score', gte: 'three' } })).toEqual(['quality[1].where.gte: must be a number']);
    expect(await q({ where: { column: 'lang', in: [] } })).toEqual(['quality[1].where.in: must not be empty']);
    expect(await q({ where: { column: 'lang', in: [['en']] } })).toEqual([
      'quality[1].where.in[0]: must be a string, number or boolean',
    ]);
    expect(await q({ where: { colum: 'lang', eq: 'en' } })).toEqual([
      'quality[1].where.column: is required',
      'quality[1].where.colum: unknown key (did you mean "column"?)',
    ]);
    const { recipe } = await check({
      ...baseRecipe(),
      quality: [{ where: { column: 'status', eq: 'ok' } }, { where: { column: 'score', gte: 3, lt: 10 } }],
    });
    expect(recipe!.quality).toEqual([
      { where: { column: 'status', eq: 'ok', missing: 'drop' } },
      { where: { column: 'score', gte: 3, lt: 10, missing: 'drop' } },
    ]);
  });

  it('pii and custom: defaults, recipe-path errors, module resolved against the recipe directory', async () => {
    const q = (item: object) => errorsOf((r) => (r.quality = [item]));
    expect(await q({ pii: { email: 'yes' } })).toEqual(['quality[0].pii.email: must be a boolean (true or false)']);
    expect(await q({ pii: { phones: true } })).toEqual(['quality[0].pii.phones: unknown key (did you mean "phone"?)']);
    expect(await q({ custom: { export: 'x' } })).toEqual(['quality[0].custom.module: is required']);
    const base: Loose = { ...baseRecipe(), quality: [{ custom: { module: './f/short.mjs', params: { max: 3 } } }] };
    const res = await validateRecipe(base, { checkPaths: false, baseDir: '/recipes' });
    expect(res.recipe!.quality[0]).toEqual({
      custom: { module: '/recipes/f/short.mjs', export: 'default', params: { max: 3 } },
    });
    const missing = await validateRecipe(
      { ...base, sources: base.sources.map((s: Loose) => ({ ...s, paths: [__filename] })) },
      { baseDir: '/nonexistent-dir' },
    );
    expect(lines(missing.errors)).toEqual(['quality[0].custom.module: no file "./f/short.mjs"']);
  });

  it('every filter accepts applies_to', () => {
    for (const name of FILTER_NAMES) {
      const props = (recipeSchema.properties.quality.items.properties[name] as { properties: object }).properties;
      expect(Object.keys(props)).toContain('applies_to');
    }
  });

  it('FILTER_DEFAULTS is a copy: changing it does not change validation', async () => {
    (FILTER_DEFAULTS.language.keep as string[]).push('xx');
    try {
      const { recipe } = await check({ ...baseRecipe(), quality: [{ language: {} }] });
      expect(recipe!.quality[0]).toEqual({ language: { keep: ['en'], min_confidence: 0.5 } });
    } finally {
      (FILTER_DEFAULTS.language.keep as string[]).pop();
    }
  });
});

describe('published schema', () => {
  it('recipe.schema.json equals the exported schema (run npm run build after changing it)', () => {
    const file = join(import.meta.dirname, '..', 'recipe.schema.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(recipeSchema);
  });

  it('tokenizer names follow @curate/core', () => {
    expect([...recipeSchema.properties.tokenizer.enum].sort()).toEqual([...TOKENIZER_NAMES].sort());
  });
});

describe('hints for keys in the wrong place', () => {
  it('points at where a misplaced key belongs', async () => {
    expect(await errorsOf((r) => (r.tokens = 1000))).toEqual(['tokens: unknown key (did you mean "target.tokens"?)']);
    expect(await errorsOf((r) => (r.output.rows = 1000))).toEqual([
      'output.rows: unknown key (did you mean "shard_rows"?)',
    ]);
    expect(await errorsOf((r) => (r.sources[1].epochs = 2))).toEqual([
      'sources[1].epochs: unknown key (did you mean "max_epochs"?)',
    ]);
    expect(await errorsOf((r) => (r.target = { real: 0.5 }))).toEqual([
      'target.real: unknown key (did you mean "target.ratio.real"?)',
    ]);
  });

  it('input that is not plain data is an issue, not a crash', async () => {
    expect(lines((await check({ name: () => 1 })).errors)).toEqual([
      'recipe: must be plain data (what YAML or JSON gives)',
    ]);
  });
});

describe('appliesToSources and qualitySteps', () => {
  it('resolves applies_to to source names, in source order', async () => {
    const r = baseRecipe();
    r.sources.push({ name: 'synth2', kind: 'synthetic', generator: 'g', paths: ['x'], text: 't' });
    r.quality = [{ c4: {} }, { c4: { applies_to: 'synthetic' } }, { c4: { applies_to: ['synth2', 'human'] } }];
    const { recipe } = await check(r);
    const steps = qualitySteps(recipe!);
    expect(steps.map((s) => s.path)).toEqual(['quality[0].c4', 'quality[1].c4', 'quality[2].c4']);
    expect(steps.map((s) => appliesToSources(recipe!, s.params.applies_to))).toEqual([
      ['human', 'synth', 'synth2'],
      ['synth', 'synth2'],
      ['human', 'synth2'],
    ]);
  });
});
