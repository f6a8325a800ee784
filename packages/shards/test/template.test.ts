import { makeBatch } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { compileTemplate, inferColumns } from '../src/index.js';

describe('compileTemplate', () => {
  const batch = makeBatch(
    {
      instruction: ['Do it', 'Again'],
      context: [null, ''],
      response: ['ok', 42],
      meta: [{ a: { b: 'deep' }, n: 1 }, '{"a":{"b":"from json text"}}'],
      flag: [true, undefined],
    },
    { file: 'f.jsonl' },
  );

  it('renders fields, literals, null as empty', () => {
    const t = compileTemplate('{instruction}\n\n{context}\n\n{response}');
    expect(t.columns).toEqual(['instruction', 'context', 'response']);
    expect(t.render(batch, 0)).toBe('Do it\n\n\n\nok');
    expect(t.render(batch, 1)).toBe('Again\n\n\n\n42');
  });

  it('treats a template without braces as a column name', () => {
    const t = compileTemplate('instruction');
    expect(t.columns).toEqual(['instruction']);
    expect(t.render(batch, 1)).toBe('Again');
  });

  it('reads nested fields of objects and of JSON text, objects as JSON', () => {
    const t = compileTemplate('[{meta.a.b}] {meta.n} {flag}');
    expect(t.columns).toEqual(['meta', 'flag']);
    expect(t.render(batch, 0)).toBe('[deep] 1 true');
    expect(t.render(batch, 1)).toBe('[from json text]  ');
    expect(compileTemplate('{meta}').render(batch, 0)).toBe('{"a":{"b":"deep"},"n":1}');
  });

  it('escapes braces with {{ and }}', () => {
    const t = compileTemplate('{{literal}} {instruction} }}');
    expect(t.columns).toEqual(['instruction']);
    expect(t.render(batch, 0)).toBe('{literal} Do it }');
  });

  it('rejects malformed templates', () => {
    for (const bad of ['{oops', 'a } b', '{}', '']) {
      expect(() => compileTemplate(bad), bad).toThrow(/template/);
    }
  });

  it('check() names the file and the missing column', () => {
    const t = compileTemplate('{instruction} {input}');
    try {
      t.check(batch);
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; file: string; message: string };
      expect(err.code).toBe('E_MISSING_COLUMN');
      expect(err.file).toBe('f.jsonl');
      expect(err.message).toContain('"input"');
    }
    expect(() => compileTemplate('{instruction}').check(batch)).not.toThrow();
  });
});

describe('inferColumns', () => {
  it('infers types from values', () => {
    const b = makeBatch({
      s: ['a', null],
      i: [1, 2],
      big: [10n, null],
      d: [1, 2.5],
      unsafe: [2 ** 60, 1],
      b: [true, false],
      j: [{ x: 1 }, [1]],
      mixed: ['a', 1],
      nul: [null, undefined],
    });
    expect(inferColumns(b)).toEqual([
      { name: 's', type: 'string' },
      { name: 'i', type: 'int64' },
      { name: 'big', type: 'int64' },
      { name: 'd', type: 'double' },
      { name: 'unsafe', type: 'double' },
      { name: 'b', type: 'boolean' },
      { name: 'j', type: 'json' },
      { name: 'mixed', type: 'json' },
      { name: 'nul', type: 'string' },
    ]);
  });
});
