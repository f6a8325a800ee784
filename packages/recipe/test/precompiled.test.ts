import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileRecipeValidator, recipeValidatorModule } from '../src/compile.js';
import { schemaIssues } from '../src/issues.js';
import { type RecipeValidator, validatorFingerprint } from '../src/validator-options.js';
import { baseRecipe, type Loose, withEveryFilterAndDedup } from './helpers.js';

const pkg = join(import.meta.dirname, '..');
const root = join(pkg, '..', '..');
const distModule = join(pkg, 'dist', 'recipe-validator.js');

/** Every example recipe in the repository, parsed as `loadRecipe` parses it. */
function exampleRecipes(): [string, unknown][] {
  const dirs = [join(root, 'examples'), join(root, 'fixtures', 'recipes')];
  const files = dirs.flatMap((dir) => readdirSync(dir).map((f) => join(dir, f)));
  return files
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f): [string, unknown] => [
      f.slice(root.length + 1),
      f.endsWith('.json') ? JSON.parse(readFileSync(f, 'utf8')) : parse(readFileSync(f, 'utf8')),
    ]);
}

/** Recipes the schema accepts, beyond the examples: every filter, dedup with all parts, rule-level errors. */
const VALID: [string, (r: Loose) => void][] = [
  ['base recipe', () => {}],
  ['every filter, dedup parts', withEveryFilterAndDedup],
  ['jsonl output', (r) => (r.output = { dir: 'o', format: 'jsonl', shard_size: '1.5 MB' })],
  ['shard rows', (r) => (r.output = { dir: 'o', shard_rows: 1000, shard_size: '1MB' })],
  ['one-sided ratio', (r) => (r.target = { tokens: 1000, ratio: { synthetic: 0.25 } })],
  ['$schema key', (r) => (r.$schema = './recipe.schema.json')],
  ['applies_to', (r) => (r.quality = [{ c4: {} }, { c4: { applies_to: 'synthetic' } }, { c4: { applies_to: ['a'] } }])],
  ['both budgets (a rule error)', (r) => (r.target = { tokens: 10, documents: 5 })],
  ['no text (a rule error)', (r) => delete r.sources[0].text],
  ['ratio not summing to 1 (a rule error)', (r) => (r.target = { ratio: { real: 0.7, synthetic: 0.2 } })],
];

/** The schema errors the other tests check (schema.test.ts, load.test.ts, rules.test.ts). */
const INVALID: [string, (r: Loose) => void][] = [
  ['max_epochs 0', (r) => (r.sources[1].max_epochs = 0)],
  ['ratio string', (r) => (r.target = { ratio: { real: 'a' } })],
  ['kind typo', (r) => (r.sources[1].kind = 'synthetc')],
  ['seed float', (r) => (r.seed = 1.5)],
  ['report string', (r) => (r.report = 'yes')],
  ['unknown tokenizer', (r) => (r.tokenizer = 'gpt2')],
  ['ratio > 1', (r) => (r.target = { ratio: { synthetic: 1.5 } })],
  ['tokens 0', (r) => (r.target = { tokens: 0 })],
  ['empty ratio', (r) => (r.target = { ratio: {} })],
  ['no name', (r) => delete r.name],
  ['no output.dir', (r) => delete r.output.dir],
  ['no output', (r) => delete r.output],
  ['no sources', (r) => delete r.sources],
  ['empty sources', (r) => (r.sources = [])],
  ['empty paths', (r) => (r.sources[0].paths = [])],
  ['paths string', (r) => (r.sources[0].paths = 'data/x.jsonl')],
  ['empty name', (r) => (r.name = '')],
  ['bad source name', (r) => (r.sources[0].name = 'my source')],
  ['unknown source key', (r) => (r.sources[0].max_epoch = 2)],
  ['unknown output key', (r) => (r.output.shard_sise = '1GB')],
  ['unknown near key', (r) => (r.dedup = { near: { treshold: 0.9 } })],
  ['unknown guards key', (r) => (r.guards = { max_epochs_warn: 3 })],
  ['far unknown key', (r) => (r.target = { zzzzzz: 1 })],
  ['unknown filter', (r) => (r.quality = [{ c4: {} }, { gopher_qualty: {} }])],
  ['two filters', (r) => (r.quality = [{ c4: {}, fineweb: {} }])],
  ['parameter beside filter', (r) => (r.quality = [{ c4: {}, applies_to: 'real' }])],
  ['filter as string', (r) => (r.quality = ['c4'])],
  ['empty quality item', (r) => (r.quality = [{}])],
  ['filter null, parameter beside', (r) => (r.quality = [{ score: null, column: 'judge' }])],
  ['min_words -1', (r) => (r.quality = [{ gopher_quality: { min_words: -1 } }])],
  ['c4 mode', (r) => (r.quality = [{ c4: { mode: 'scrub' } }])],
  ['score without column', (r) => (r.quality = [{ score: { min: 3 } }])],
  ['grounded without context', (r) => (r.quality = [{ grounded: {} }])],
  ['language name', (r) => (r.quality = [{ language: { keep: ['english'] } }])],
  ['applies_to both', (r) => (r.quality = [{ c4: { applies_to: 'both' } }])],
  ['applies_to empty', (r) => (r.quality = [{ c4: { applies_to: [] } }])],
  [
    'n-gram keys',
    (r) => (r.quality = [{ gopher_repetition: { top_ngram_char_frac: { two: 0.2, '3': 2 } } }, { c4: {} }]),
  ],
  ['threshold 1', (r) => (r.dedup = { near: { threshold: 1 } })],
  ['num_perm 8', (r) => (r.dedup = { near: { num_perm: 8 } })],
  ['num_perm 2048', (r) => (r.dedup = { near: { num_perm: 2048 } })],
  ['shingle', (r) => (r.dedup = { near: { shingle: 'token' } })],
  ['scope', (r) => (r.dedup = { scope: 'local' })],
  ['decontaminate without text', (r) => (r.dedup = { decontaminate: [{ name: 'gsm8k', paths: ['x'] }] })],
  ['max_synthetic_fraction < 0', (r) => (r.guards = { max_synthetic_fraction: -0.1 })],
  ['format', (r) => (r.output.format = 'csv')],
  ['compression', (r) => (r.output.compression = 'lz4')],
  ['shard_size unit', (r) => (r.output.shard_size = '128 parsecs')],
  ['shard_size 0', (r) => (r.output.shard_size = 0)],
  ['shard_size boolean', (r) => (r.output.shard_size = true)],
  ['shard_rows 0', (r) => (r.output.shard_rows = 0)],
  [
    'several errors',
    (r) => {
      r.seed = -1;
      r.sources[0].kind = 'human';
      r.sources[1].max_epochs = 'two';
      delete r.output;
    },
  ],
  ['misplaced tokens', (r) => (r.tokens = 1000)],
  ['misplaced rows', (r) => (r.output.rows = 1000)],
  ['misplaced epochs', (r) => (r.sources[1].epochs = 2)],
  ['misplaced real', (r) => (r.target = { real: 0.5 })],
  [
    'sourcez',
    (r) => {
      r.sourcez = [];
      delete r.sources;
    },
  ],
];

/** Whole inputs that are not recipe objects. */
const NOT_OBJECTS: [string, unknown][] = [
  ['string', 'name: x'],
  ['null (an empty file)', null],
  ['number', 42],
  ['list', [baseRecipe()]],
];

function cases(): [string, unknown][] {
  const mutated = (list: [string, (r: Loose) => void][]) =>
    list.map(([name, mutate]): [string, unknown] => {
      const r = baseRecipe();
      mutate(r);
      return [name, r];
    });
  return [...exampleRecipes(), ...mutated(VALID), ...mutated(INVALID), ...NOT_OBJECTS];
}

/** What a validator makes of `input`: validity, ajv's errors (verbose: with schema and data), the defaulted data. */
function outcome(validate: RecipeValidator, input: unknown) {
  const data = structuredClone(input);
  const valid = validate(data);
  const errors = validate.errors ?? null;
  return { valid, errors, data, issues: schemaIssues(errors ?? [], data) };
}

async function importValidator(file: string): Promise<{ default: RecipeValidator; fingerprint: string }> {
  return import(pathToFileURL(file).href);
}

const runtime = compileRecipeValidator();

function expectSameAsRuntime(precompiled: RecipeValidator) {
  const all = cases();
  let invalid = 0;
  for (const [name, input] of all) {
    const want = outcome(runtime, input);
    const got = outcome(precompiled, input);
    expect(got, name).toStrictEqual(want);
    if (!want.valid) invalid++;
  }
  // The comparison covers both sides: examples that pass, and recipes that fail with errors.
  expect(invalid).toBe(INVALID.length + NOT_OBJECTS.length);
  expect(all.length - invalid).toBeGreaterThanOrEqual(VALID.length + 3);
}

describe('precompiled validator', () => {
  // The module the build writes, generated here from the current schema into a git-ignored directory inside
  // the package (so that its `require('ajv/dist/runtime/...')` resolves as it does from dist/).
  let dir: string;
  let fresh: { default: RecipeValidator; fingerprint: string };
  beforeAll(async () => {
    await mkdir(join(pkg, 'test-artifacts'), { recursive: true });
    dir = await mkdtemp(join(pkg, 'test-artifacts', 'validator-'));
    await writeFile(join(dir, 'recipe-validator.js'), recipeValidatorModule());
    fresh = await importValidator(join(dir, 'recipe-validator.js'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives the same validity, errors and defaults as the schema compiled at run time', () => {
    expectSameAsRuntime(fresh.default);
  });

  it('records the fingerprint of the current options and schema', () => {
    expect(fresh.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(fresh.fingerprint).toBe(validatorFingerprint());
  });

  it('examples are valid and a bad name gets its errorMessage (the comparison is not vacuous)', () => {
    for (const [name, input] of exampleRecipes()) expect(outcome(fresh.default, input).valid, name).toBe(true);
    const bad = baseRecipe();
    bad.sources[0].name = 'my source';
    expect(outcome(fresh.default, bad).issues).toEqual([
      { path: 'sources[0].name', message: 'must be a name of letters, digits, "_", "." or "-"' },
    ]);
  });

  // dist/ exists whenever the tests run through turbo ("test" depends on "build").
  it.skipIf(!existsSync(distModule))('dist/recipe-validator.js is the current one (npm run build)', async () => {
    // Compared by hash: the module is one 200 KB line, too long for a readable diff.
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(sha(readFileSync(distModule, 'utf8')), 'stale: run npm run build').toBe(sha(recipeValidatorModule()));
    expectSameAsRuntime((await importValidator(distModule)).default);
  });

  it.skipIf(!existsSync(distModule))(
    'the built package validates without loading the ajv compiler, and compiles when the module is stale',
    () => {
      // A fresh process per variant: which ajv modules it loaded shows which validator it used.
      const probe = (dist: string) => {
        const script = [
          "import { createRequire } from 'node:module';",
          `const { validateRecipe } = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});`,
          `const bad = await validateRecipe(${JSON.stringify({ ...baseRecipe(), seed: -1 })}, { checkPaths: false });`,
          `const good = await validateRecipe(${JSON.stringify(baseRecipe())}, { checkPaths: false });`,
          'const ajv = Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\/]ajv[\\/]/.test(k));',
          'console.log(JSON.stringify({ bad: bad.errors, seed: good.recipe.seed, compiler: ajv.some((k) => k.endsWith("ajv.js")) }));',
        ].join('\n');
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: pkg,
          encoding: 'utf8',
        });
        return JSON.parse(out) as { bad: unknown; seed: number; compiler: boolean };
      };
      const want = { bad: [{ path: 'seed', message: 'must be >= 0' }], seed: 0 };
      expect(probe(join(pkg, 'dist'))).toEqual({ ...want, compiler: false });
      // The same build, its module claiming another schema: ignored, the schema is compiled at run time.
      const copy = join(dir, 'dist');
      cpSync(join(pkg, 'dist'), copy, { recursive: true });
      const file = join(copy, 'recipe-validator.js');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/fingerprint = "[0-9a-f]+"/, 'fingerprint = "stale"'));
      expect(probe(copy)).toEqual({ ...want, compiler: true });
    },
  );
});
