import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyTokenizerJson } from '../../../tools/test/tokenizer-json.js';
import type { JsonError } from '../src/main.js';
import { curate, tempDir } from './helpers.js';

/** The one JSON object a failing command prints on stdout with --json. */
function jsonError(stdout: string) {
  const v = JSON.parse(stdout) as { command: string | null; ok: boolean; exit_code: number; error: JsonError };
  expect(v.ok).toBe(false);
  return v;
}

const TWO_ISSUES = `name: x
sources:
  - name: a
    kind: real
    paths: [data.jsonl]
    text: text
    max_epochs: 0
output:
  dir: out
  format: csv
`;

describe('errors with --json: one JSON object on stdout, for every command', () => {
  it('each command prints code, message, file/row or recipe path and exit code', async () => {
    const d = tempDir();
    const broken = join(d, 'broken.jsonl');
    writeFileSync(broken, '{"text":"a"}\n{"text": oops}\n');
    const recipe = join(d, 'bad.yaml');
    writeFileSync(recipe, TWO_ISSUES);
    writeFileSync(join(d, 'data.jsonl'), '{"text":"a"}\n');
    const missing = join(d, 'missing.parquet');
    const out = join(d, 'out');
    const cases: [string[], string, Partial<{ file: string; row: number; path: string }>][] = [
      [['mix', recipe], 'E_RECIPE_INVALID', { file: recipe, path: 'sources[0].max_epochs' }],
      [['plan', recipe], 'E_RECIPE_INVALID', { file: recipe, path: 'sources[0].max_epochs' }],
      [['validate', recipe], 'E_RECIPE_INVALID', { file: recipe, path: 'sources[0].max_epochs' }],
      [['inspect', missing], 'E_NOT_FOUND', { file: missing }],
      [['stats', broken, '--filters', 'none'], 'E_JSON_PARSE', { file: broken, row: 2 }],
      [['dedup', broken, '--out', out], 'E_JSON_PARSE', { file: broken, row: 2 }],
      [['filter', broken, '--out', out, '--filters', 'c4'], 'E_JSON_PARSE', { file: broken, row: 2 }],
      [['decontam', broken, '--against', broken, '--out', out], 'E_JSON_PARSE', { file: broken, row: 2 }],
      [['report', join(d, 'nope.json')], '', {}],
      [['convert', missing, '--out', out], 'E_NOT_FOUND', { file: missing }],
    ];
    for (const [args, code, where] of cases) {
      const r = await curate([...args, '--json']);
      const what = args.join(' ');
      expect(r.code, what).toBe(2);
      const v = jsonError(r.stdout);
      expect(v.command, what).toBe(args[0]);
      expect(v.exit_code, what).toBe(2);
      if (code) expect(v.error.code, what).toBe(code);
      expect(v.error.message.length, what).toBeGreaterThan(0);
      expect(r.stderr.split('\n')[0], what).toBe(`error: ${v.error.line}`);
      for (const [k, val] of Object.entries(where))
        expect(v.error[k as keyof typeof v.error], `${what}: ${k}`).toBe(val);
    }
  });

  it('usage errors (unknown flag, missing argument) answer in JSON too; no JSON without --json', async () => {
    const flag = await curate(['inspect', 'x.parquet', '--frobnicate', '--json']);
    expect(flag.code).toBe(2);
    const v = jsonError(flag.stdout);
    expect(v.error.code).toBe('E_USAGE');
    expect(v.command).toBe('inspect');
    expect(v.error.message).toMatch(/unknown option '--frobnicate'/);
    const arg = await curate(['dedup', 'x.jsonl', '--out', 'o', '--threshold', 'high', '--json']);
    expect(jsonError(arg.stdout).error.message).toBe('--threshold must be a number, got "high"');
    const plain = await curate(['inspect', '/nonexistent/file.parquet']);
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe('');
  });
});

describe('several recipe issues', () => {
  it('are listed under the error line with their line and column in the recipe file', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'data.jsonl'), '{"text":"a"}\n');
    const recipe = join(d, 'bad.yaml');
    writeFileSync(recipe, TWO_ISSUES);
    for (const cmd of ['validate', 'mix', 'plan']) {
      const r = await curate([cmd, recipe]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^error: .*bad\.yaml: .*\(\+1 more\)$/);
      expect(lines.slice(1)).toEqual([
        '  line 7, column 5: sources[0].max_epochs: must be > 0',
        '  line 10, column 3: output.format: must be one of parquet, arrow, jsonl, megatron, nanotron',
      ]);
    }
    const j = await curate(['validate', recipe, '--json']);
    expect(jsonError(j.stdout).error.issues).toEqual([
      { path: 'sources[0].max_epochs', message: 'must be > 0', line: 7, column: 5 },
      {
        path: 'output.format',
        message: 'must be one of parquet, arrow, jsonl, megatron, nanotron',
        line: 10,
        column: 3,
      },
    ]);
  });
});

describe('a bad tokenizer.json', () => {
  it('missing, not JSON, unsupported model, EOD not in the vocabulary: one line naming the file, exit 2, nothing written', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'data.jsonl'), '{"text":"a"}\n');
    const tok = join(d, 'tokenizer.json');
    const recipe = (extra = '') =>
      `name: t\ntokenizer: tokenizer.json\nsources: [{ name: a, kind: real, paths: [data.jsonl], text: text }]\noutput: { dir: out, format: megatron${extra} }\n`;
    const cases: [string | null, string, RegExp][] = [
      [null, '', /tokenizer: .*tokenizer\.json: tokenizer\.json not found$/],
      ['{"model": ', '', /tokenizer: .*tokenizer\.json: tokenizer\.json is not JSON/],
      [
        '{"model": {"type": "WordPiece", "vocab": {}}}',
        '',
        /tokenizer: .*tokenizer\.json: unsupported tokenizer\.json: model type "WordPiece"/,
      ],
      [
        tinyTokenizerJson(),
        ', eod_token: "<eos>"',
        /output\.eod_token: .*tokenizer\.json: EOD token "<eos>" is not in the vocabulary$/,
      ],
      [tinyTokenizerJson({ eodId: 70000 }), ', token_size: 2', /output\.token_size: .*does not fit uint16 token ids$/],
    ];
    for (const [body, extra, line] of cases) {
      if (body === null) rmSync(tok, { force: true });
      else writeFileSync(tok, body);
      writeFileSync(join(d, 'r.yaml'), recipe(extra));
      const r = await curate(['mix', join(d, 'r.yaml')]);
      expect(r.code, String(line)).toBe(2);
      expect(r.stderr.trim().split('\n'), String(line)).toHaveLength(1);
      expect(r.stderr.trim(), String(line)).toMatch(line);
      expect(r.stderr).toContain(tok);
      expect(existsSync(join(d, 'out')), String(line)).toBe(false);
    }
  });
});
