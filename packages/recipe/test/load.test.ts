import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type CurateError, RecipeError } from '@curate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tinyTokenizerJson } from '../../../tools/test/tokenizer-json.js';
import { canonicalJson, formatIssue, loadRecipe, RecipeValidationError, validateRecipe } from '../src/index.js';
import { tempTree } from './helpers.js';

const ROW = '{"text":"hello world"}\n';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempTree({
    'data/real/a.jsonl': ROW,
    'data/real/b.jsonl': ROW,
    'data/real/nested/c.parquet': 'x',
    'data/synth/s.jsonl': ROW,
    'data/notes/readme.txt': 'not a shard',
    'evals/gsm8k.jsonl': '{"question":"q"}\n',
  }));
});
afterEach(() => cleanup());

function recipe(): Record<string, unknown> {
  return {
    name: 'mix',
    seed: 7,
    target: { tokens: 1000, ratio: { real: 0.7, synthetic: 0.3 } },
    sources: [
      {
        name: 'human',
        kind: 'real',
        paths: ['data/real/*.jsonl', 'data/real/nested'],
        text: '{instruction}\n\n{response}',
      },
      { name: 'synth', kind: 'synthetic', generator: 'gpt-4', paths: ['data/synth/s.jsonl'], text: 'text', share: 1 },
    ],
    quality: [{ gopher_quality: {} }, { score: { column: 'judge', min: 7, applies_to: 'synthetic' } }],
    dedup: {
      exact: {},
      near: { threshold: 0.85 },
      decontaminate: [{ name: 'gsm8k', paths: ['evals/gsm8k.jsonl'], text: 'question' }],
    },
    output: { dir: 'out/mix', format: 'jsonl', compression: 'gzip', shard_size: '1MiB' },
  };
}

async function write(name: string, content: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('loadRecipe', () => {
  it('YAML and JSON spellings resolve identically, with the same hash', async () => {
    const yamlFile = await write(
      'mix.yaml',
      `# yaml-language-server: $schema=./recipe.schema.json\n${stringify(recipe())}`,
    );
    const jsonFile = await write('mix.json', JSON.stringify(recipe(), null, 2));
    const a = await loadRecipe(yamlFile);
    const b = await loadRecipe(jsonFile);
    expect(a.recipe).toEqual(b.recipe);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.file).toBe(yamlFile);
    expect(a.text).toContain('name: mix');
    expect(a.warnings).toEqual([]);
  });

  it('the hash follows content, not key order', async () => {
    const r = recipe();
    const reordered = Object.fromEntries(Object.entries(r).reverse());
    const a = await loadRecipe(await write('a.json', JSON.stringify(r)));
    const b = await loadRecipe(await write('b.json', JSON.stringify(reordered)));
    expect(a.hash).toBe(b.hash);
    const c = await loadRecipe(await write('c.json', JSON.stringify({ ...r, seed: 8 })));
    expect(c.hash).not.toBe(a.hash);
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it("resolves relative paths against the recipe's directory, not the working directory", async () => {
    await mkdir(join(dir, 'recipes'));
    const r = recipe();
    r.sources = [
      { name: 'human', kind: 'real', paths: ['../data/real/*.jsonl', '../data/real/nested'], text: 't' },
      { name: 'synth', kind: 'synthetic', generator: 'g', paths: [join(dir, 'data/synth/s.jsonl')], text: 't' },
    ];
    (r.dedup as { decontaminate: { paths: string[] }[] }).decontaminate[0].paths = ['../evals/gsm8k.jsonl'];
    const { recipe: got } = await loadRecipe(await write('recipes/mix.yaml', stringify(r)));
    expect(got.sources[0].paths).toEqual([`${resolve(dir, 'data/real')}/*.jsonl`, resolve(dir, 'data/real/nested')]);
    expect(got.sources[1].paths).toEqual([join(dir, 'data/synth/s.jsonl')]);
    expect(got.dedup.decontaminate![0].paths).toEqual([resolve(dir, 'evals/gsm8k.jsonl')]);
    expect(got.output.dir).toBe(resolve(dir, 'recipes/out/mix'));
    expect(got.output.shard_size).toBe(1 << 20);
  });

  it('overrides.out replaces output.dir (relative to the working directory), even when output is missing', async () => {
    const r = recipe();
    delete r.output;
    const file = await write('mix.yaml', stringify(r));
    await expect(loadRecipe(file)).rejects.toThrow('output: is required');
    const { recipe: got } = await loadRecipe(file, { overrides: { out: 'elsewhere' } });
    expect(got.output.dir).toBe(resolve('elsewhere'));
    expect(got.output.format).toBe('parquet');
  });

  it('keeps s3:// URLs as they are: sources, eval sets, output.dir and --out (listed when the run reads them)', async () => {
    const r = recipe();
    (r.sources as { paths: string[] }[])[0].paths = ['s3://bucket/real/*.parquet', 's3://bucket/real/more'];
    (r.dedup as { decontaminate: { paths: string[] }[] }).decontaminate[0].paths = ['s3://bucket/evals/gsm8k.jsonl'];
    (r.output as { dir: string }).dir = 's3://bucket/out/mix';
    const file = await write('mix.yaml', stringify(r));
    const { recipe: got, warnings } = await loadRecipe(file);
    expect(got.sources[0].paths).toEqual(['s3://bucket/real/*.parquet', 's3://bucket/real/more']);
    expect(got.dedup.decontaminate![0].paths).toEqual(['s3://bucket/evals/gsm8k.jsonl']);
    expect(got.output.dir).toBe('s3://bucket/out/mix');
    expect(warnings).toEqual([]);
    const { recipe: over } = await loadRecipe(file, { overrides: { out: 's3://other/prefix' } });
    expect(over.output.dir).toBe('s3://other/prefix');
  });

  it('checks every path against real files, globs and directories', async () => {
    const r = recipe();
    r.sources = [
      {
        name: 'human',
        kind: 'real',
        paths: ['data/real/*.jsonl', 'data/x/*.parquet', 'data/notes', 'data/notes/*.txt', 'data/missing.jsonl'],
        text: 't',
      },
      { name: 'synth', kind: 'synthetic', generator: 'g', paths: ['data/synth/**/*.jsonl'], text: 't' },
    ];
    (r.dedup as { decontaminate: { paths: string[] }[] }).decontaminate[0].paths = ['evals/mmlu.jsonl'];
    const file = await write('mix.yaml', stringify(r));
    const err = await loadRecipe(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecipeValidationError);
    const issues = (err as RecipeValidationError).issues.map(formatIssue);
    expect(issues).toEqual([
      'sources[0].paths[1]: no file matches "data/x/*.parquet"',
      'sources[0].paths[2]: directory "data/notes" holds no .parquet, .arrow, .arrows, .feather, .jsonl or .json files',
      'sources[0].paths[3]: no input file matches "data/notes/*.txt" (1 files match, none with a shard extension such as .parquet, .arrow or .jsonl)',
      'sources[0].paths[4]: no file matches "data/missing.jsonl"',
      'dedup.decontaminate[0].paths[0]: no file matches "evals/mmlu.jsonl"',
    ]);
    expect((err as Error).message).toBe('sources[0].paths[1]: no file matches "data/x/*.parquet" (+4 more)');
    // checkPaths: false skips the file system
    expect((await loadRecipe(file, { checkPaths: false })).recipe.sources[0].paths).toHaveLength(5);
  });

  it('validateRecipe checks paths against baseDir and keeps them relative without one', async () => {
    const r = recipe();
    const ok = await validateRecipe(r, { baseDir: dir });
    expect(ok.errors).toEqual([]);
    expect(ok.recipe!.sources[1].paths).toEqual([join(dir, 'data/synth/s.jsonl')]);
    const elsewhere = await validateRecipe(r, { baseDir: join(dir, 'data') });
    expect(elsewhere.errors.map(formatIssue)[0]).toBe('sources[0].paths[0]: no file matches "data/real/*.jsonl"');
    const relative = await validateRecipe(r, { checkPaths: false });
    expect(relative.recipe!.sources[1].paths).toEqual(['data/synth/s.jsonl']);
  });

  it('warns when output.dir is inside a directory a source reads', async () => {
    const r = recipe();
    r.output = { dir: 'data/real/out' };
    const { warnings } = await loadRecipe(await write('mix.yaml', stringify(r)));
    expect(warnings.map(formatIssue)).toEqual([
      'output.dir: is inside the input of sources[0].paths[0] ("data/real/*.jsonl"): output shards may be read back as input',
    ]);
    r.output = { dir: 'data/realistic' };
    expect((await loadRecipe(await write('mix2.yaml', stringify(r)))).warnings).toEqual([]);
  });

  it('an invalid recipe throws RecipeValidationError naming the first issue, with all issues and their lines', async () => {
    const text = [
      'name: mix',
      'sources:',
      '  - name: human',
      '    kind: real',
      '    paths: [data/real/a.jsonl]',
      '    text: text',
      '    max_epochs: 0',
      '  - name: synth',
      '    kind: synthetik',
      '    paths: [data/synth/s.jsonl]',
      '    text: text',
      'output: { dir: out }',
      '',
    ].join('\n');
    const file = await write('bad.yaml', text);
    const err = (await loadRecipe(file).catch((e: unknown) => e)) as RecipeValidationError;
    expect(err).toBeInstanceOf(RecipeValidationError);
    expect(err).toBeInstanceOf(RecipeError);
    expect(err.code).toBe('E_RECIPE_INVALID');
    expect(err.isUserError).toBe(true);
    expect(err.file).toBe(file);
    expect(err.message).toBe('sources[0].max_epochs: must be > 0 (+1 more)');
    expect(err.toLine()).toBe(`${file}: sources[0].max_epochs: must be > 0 (+1 more)`);
    expect(err.issues).toEqual([
      { path: 'sources[0].max_epochs', message: 'must be > 0', line: 7, column: 5 },
      { path: 'sources[1].kind', message: 'must be one of real, synthetic', line: 9, column: 5 },
    ]);
  });

  it('locates missing and unknown keys in JSON files too', async () => {
    const text = '{\n  "name": "mix",\n  "sourcez": [],\n  "output": {"dir": "o"}\n}\n';
    const err = (await loadRecipe(await write('bad.json', text)).catch((e: unknown) => e)) as RecipeValidationError;
    expect(err.issues).toEqual([
      { path: 'sources', message: 'is required', line: 1, column: 1 },
      { path: 'sourcez', message: 'unknown key (did you mean "sources"?)', line: 3, column: 3 },
    ]);
  });

  it('a YAML syntax error names the file, line and column', async () => {
    const file = await write('broken.yaml', 'name: mix\nsources:\n  - name: a\n    paths: [x, y\noutput: {dir: o}\n');
    const err = (await loadRecipe(file).catch((e: unknown) => e)) as RecipeError;
    expect(err).toBeInstanceOf(RecipeError);
    expect(err.code).toBe('E_RECIPE_SYNTAX');
    expect(err.file).toBe(file);
    expect(err.message).toMatch(/^line 5, column 1: .*\(YAML [A-Z_]+\)$/);
  });

  it('seeds above 2^53 - 1 are refused with the recipe path (they are not exact: 2^53 + 1 reads as 2^53)', async () => {
    for (const seed of ['9007199254740993', '9007199254740992', '1e300']) {
      const text = stringify(recipe()).replace('seed: 7', `seed: ${seed}`);
      const err = (await loadRecipe(await write(`seed-${seed}.yaml`, text)).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(RecipeValidationError);
      expect(err.message).toContain('seed: must be <= 9007199254740991');
    }
    const ok = stringify(recipe()).replace('seed: 7', 'seed: 9007199254740991');
    expect((await loadRecipe(await write('seed-max.yaml', ok))).recipe.seed).toBe(9007199254740991);
  });

  it('duplicate YAML keys are a syntax error', async () => {
    const err = (await loadRecipe(await write('dup.yaml', 'name: a\nseed: 1\nseed: 2\n')).catch(
      (e: unknown) => e,
    )) as RecipeError;
    expect(err.code).toBe('E_RECIPE_SYNTAX');
    expect(err.message).toMatch(/^line 3, column 1: .*unique.*\(YAML DUPLICATE_KEY\)$/i);
  });

  it('a YAML alias bomb ("billion laughs") is a syntax error naming the file and the first alias', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const file = await write('bomb.yaml', `${levels.join('\n')}\n`);
    const err = (await loadRecipe(file).catch((e: unknown) => e)) as RecipeError;
    expect(err).toBeInstanceOf(RecipeError);
    expect(err.code).toBe('E_RECIPE_SYNTAX');
    expect(err.file).toBe(file);
    expect(err.message).toMatch(/^line 2, column 8: YAML aliases expand to too many nodes/);
    expect(err.toLine()).toContain(file);
  });

  it('a JSON syntax error names line and column', async () => {
    const err = (await loadRecipe(await write('broken.json', '{\n  "name": "mix",\n  "seed": 1,\n}\n')).catch(
      (e: unknown) => e,
    )) as RecipeError;
    expect(err.code).toBe('E_RECIPE_SYNTAX');
    expect(err.message).toMatch(/^line 4, column 1: /);
  });

  it('an unreadable file is E_RECIPE_READ naming the file', async () => {
    const missing = join(dir, 'nope.yaml');
    const err = (await loadRecipe(missing).catch((e: unknown) => e)) as RecipeError;
    expect(err).toBeInstanceOf(RecipeError);
    expect(err.code).toBe('E_RECIPE_READ');
    expect(err.file).toBe(missing);
    expect(err.toLine()).toBe(`${missing}: cannot read recipe: file not found`);
    const asDir = (await loadRecipe(join(dir, 'data')).catch((e: unknown) => e)) as CurateError;
    expect(asDir.code).toBe('E_RECIPE_READ');
    expect(asDir.message).toBe('cannot read recipe: is a directory');
    if (process.getuid?.() !== 0) {
      const locked = await write('locked.yaml', 'name: x\n');
      await chmod(locked, 0);
      expect(((await loadRecipe(locked).catch((e: unknown) => e)) as CurateError).code).toBe('E_RECIPE_READ');
    }
  });

  it('an empty file is an invalid recipe, not a crash', async () => {
    const err = (await loadRecipe(await write('empty.yaml', '')).catch((e: unknown) => e)) as RecipeValidationError;
    expect(err.message).toBe('recipe: must be an object');
  });
});

describe('tokenizer: a tokenizer.json path (relative to the recipe file), checked before any work', () => {
  const tokenized = (extra: Record<string, unknown> = {}) => {
    const r = recipe();
    r.tokenizer = 'tok/tokenizer.json';
    r.output = { dir: 'out', format: 'megatron', ...extra };
    return r;
  };
  const write = async (name: string, body: string) => {
    await mkdir(join(dir, 'tok'), { recursive: true });
    await writeFile(join(dir, 'tok', name), body);
  };
  const issuesOf = async (r: Record<string, unknown>) => {
    await writeFile(join(dir, 'recipe.yaml'), stringify(r));
    const e = await loadRecipe(join(dir, 'recipe.yaml')).catch((x) => x);
    expect(e).toBeInstanceOf(RecipeValidationError);
    return (e as RecipeValidationError).issues.map(formatIssue);
  };

  it('resolves the path against the recipe directory and accepts megatron output', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    await writeFile(join(dir, 'recipe.yaml'), stringify(tokenized()));
    const { recipe: r } = await loadRecipe(join(dir, 'recipe.yaml'));
    expect(r.tokenizer).toBe(join(dir, 'tok', 'tokenizer.json'));
    expect(r.output.format).toBe('megatron');
    expect(r.output.compression).toBe('none');
  });

  it('missing, not JSON, unsupported model: one issue naming the file', async () => {
    const file = join(dir, 'tok', 'tokenizer.json');
    expect(await issuesOf(tokenized())).toEqual([`tokenizer: ${file}: tokenizer.json not found`]);
    await write('tokenizer.json', '{"model": ');
    expect((await issuesOf(tokenized()))[0]).toMatch(new RegExp(`^tokenizer: ${file}: tokenizer.json is not JSON`));
    await write('tokenizer.json', '{"model": {"type": "WordPiece", "vocab": {}}}');
    expect((await issuesOf(tokenized()))[0]).toMatch(
      new RegExp(`^tokenizer: ${file}: unsupported tokenizer.json: model type "WordPiece"`),
    );
  });

  it('EOD not in the vocabulary, vocabulary larger than the token size', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    const file = join(dir, 'tok', 'tokenizer.json');
    expect(await issuesOf(tokenized({ eod_token: '<eos>' }))).toEqual([
      `output.eod_token: ${file}: EOD token "<eos>" is not in the vocabulary`,
    ]);
    await write('tokenizer.json', tinyTokenizerJson({ eodId: 70000 }));
    expect(await issuesOf(tokenized({ token_size: 2 }))).toEqual([
      `output.token_size: ${file}: a vocabulary of 70001 tokens does not fit uint16 token ids`,
    ]);
    // by default the token size follows the vocabulary
    await writeFile(join(dir, 'recipe.yaml'), stringify(tokenized()));
    await expect(loadRecipe(join(dir, 'recipe.yaml'))).resolves.toBeTruthy();
  });

  it('megatron output needs a tokenizer.json; eod_token only applies to tokenized output', async () => {
    const r = tokenized();
    r.tokenizer = 'cl100k_base';
    expect(await issuesOf(r)).toEqual([
      "output.format: megatron writes token ids: set tokenizer to the model's tokenizer.json (cl100k_base has no ids)",
    ]);
    const p = recipe();
    p.output = { dir: 'out', eod_token: '<x>' };
    expect(await issuesOf(p)).toEqual(['output.eod_token: only applies to megatron and nanotron output']);
  });

  it('loss_mask: nanotron only, needs a conversation source rendered as ChatML', async () => {
    await write('tokenizer.json', tinyTokenizerJson());
    expect(await issuesOf(tokenized({ loss_mask: 'assistant' }))).toEqual([
      "output.loss_mask: only applies to nanotron output (datatrove's .ds.loss), not megatron",
    ]);
    const r = tokenized({ format: 'nanotron', loss_mask: 'assistant' });
    expect(await issuesOf(r)).toEqual([
      'output.loss_mask: no source has a conversation: there are no assistant turns to train on',
    ]);
    const sources = r.sources as Record<string, unknown>[];
    sources[0] = { ...sources[0], text: undefined, conversation: { template: 'plain' } };
    delete sources[0].text;
    expect(await issuesOf(r)).toEqual([
      'sources[0].conversation.template: must be chatml with output.loss_mask (the assistant turns are found in the ChatML rendering)',
    ]);
    sources[0].conversation = {};
    await writeFile(join(dir, 'recipe.yaml'), stringify(r));
    const ok = await loadRecipe(join(dir, 'recipe.yaml'));
    expect(ok.recipe.output.loss_mask).toBe('assistant');
  });
});
