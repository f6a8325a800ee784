import { describe, expect, it } from 'vitest';
import { parseTextTemplate, renderTextTemplate } from '../src/template.js';

describe('text templates', () => {
  it('a string without braces is a column', () => {
    expect(parseTextTemplate('response')).toEqual({
      columns: ['response'],
      parts: [{ column: 'response' }],
      isTemplate: false,
    });
  });

  it('parses columns, nested fields and literal braces, and renders rows', () => {
    const t = parseTextTemplate('{instruction}\n\n{meta.lang} {{x}} {instruction}');
    expect(t.columns).toEqual(['instruction', 'meta.lang']);
    expect(t.parts).toEqual([
      { column: 'instruction' },
      '\n\n',
      { column: 'meta.lang' },
      ' {x} ',
      { column: 'instruction' },
    ]);
    expect(renderTextTemplate(t, { instruction: 'Hi', meta: { lang: 'en' } })).toBe('Hi\n\nen {x} Hi');
    expect(renderTextTemplate(t, { instruction: null, 'meta.lang': 3 })).toBe('\n\n3 {x} ');
    expect(renderTextTemplate(parseTextTemplate('{a}'), { a: { b: [1] } })).toBe('{"b":[1]}');
  });

  it('rejects malformed templates with the position', () => {
    expect(() => parseTextTemplate('a {b')).toThrow('unclosed "{" at character 3');
    expect(() => parseTextTemplate('a {b {c}')).toThrow('unclosed "{" at character 3');
    expect(() => parseTextTemplate('a } b')).toThrow('unmatched "}" at character 3');
    expect(() => parseTextTemplate('{ }')).toThrow('empty "{}" at character 1');
  });
});
