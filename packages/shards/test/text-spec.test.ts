import { describe, expect, it } from 'vitest';
import { checkTextSpec, compileTextSpec, parseTextOption, textRuleFor } from '../src/index.js';

const dolly = '/data/instruct_pair/human_dolly15k.jsonl';
const alpaca = '/data/instruct_pair/synthetic_alpaca_eval_outputs.jsonl';

describe('text per file pattern', () => {
  it('parses the command-line form: plain templates stay strings; PATTERN=TEMPLATE rules in order', () => {
    expect(parseTextOption('text')).toBe('text');
    expect(parseTextOption(['{instruction}\n\n{response}'])).toBe('{instruction}\n\n{response}');
    expect(parseTextOption(['*dolly*=response', '*alpaca*={instruction} {output}', 'text'])).toEqual([
      { match: '*dolly*', text: 'response' },
      { match: '*alpaca*', text: '{instruction} {output}' },
      { text: 'text' },
    ]);
    // a template with "=" after a brace is a template, not a rule
    expect(parseTextOption('{a}={b}')).toBe('{a}={b}');
    expect(() => parseTextOption(['a', 'b'])).toThrow(/at most one template without a file pattern/);
    expect(() => parseTextOption(['*.jsonl={oops'])).toThrow(/unclosed/);
  });

  it('the first matching pattern wins; a template without a pattern covers the rest', () => {
    const spec = parseTextOption(['**/*dolly*.jsonl=response', '*.jsonl=output', 'text']);
    expect(textRuleFor(spec, dolly)).toBe('response');
    expect(textRuleFor(spec, alpaca)).toBe('output');
    expect(textRuleFor(spec, '/x/y.parquet')).toBe('text');
    // relative to the working directory, or by base name for a pattern without "/"
    expect(textRuleFor([{ match: 'instruct_pair/*dolly*', text: 'r' }], dolly, '/data')).toBe('r');
    expect(textRuleFor([{ match: 'human_*.jsonl', text: 'r' }], dolly, '/elsewhere')).toBe('r');
  });

  it('names every input file no pattern covers', () => {
    const spec = parseTextOption(['*dolly*=response']);
    expect(() => checkTextSpec(spec, [dolly])).not.toThrow();
    const one = (() => {
      try {
        checkTextSpec(spec, [dolly, alpaca]);
      } catch (e) {
        return e as Error & { file?: string; code?: string; toLine(): string };
      }
    })();
    expect(one?.code).toBe('E_TEXT_UNMATCHED');
    expect(one?.toLine()).toBe(
      `${alpaca}: --text: no pattern covers this input file; add a pattern (PATTERN=TEMPLATE) or a template without a pattern for every other file`,
    );
    expect(() => checkTextSpec(spec, [alpaca, '/x/a.parquet'])).toThrow(
      `--text: no pattern covers 2 input files (${alpaca}, /x/a.parquet); add a pattern`,
    );
    const t = compileTextSpec(spec);
    expect(() => t.render({ length: 1, columns: { output: ['x'] }, file: alpaca }, 0)).toThrow(/no pattern covers/);
  });

  it('renders each batch with its file template; columns are the union', () => {
    const t = compileTextSpec([
      { match: '*dolly*', text: '{instruction}|{response}' },
      { match: '*alpaca*', text: '{instruction}|{output}' },
    ]);
    expect(t.columns).toEqual(['instruction', 'response', 'output']);
    expect(t.forFile(dolly).columns).toEqual(['instruction', 'response']);
    const a = { length: 1, columns: { instruction: ['i'], response: ['r'] }, file: dolly };
    const b = { length: 1, columns: { instruction: ['j'], output: ['o'] }, file: alpaca };
    expect([t.render(a, 0), t.render(b, 0), t.render(a, 0)]).toEqual(['i|r', 'j|o', 'i|r']);
    expect(() => t.check(b)).not.toThrow();
    expect(() => t.check({ ...b, file: dolly })).toThrow(/missing column "response"/);
  });
});
