/** Document length in words (Gopher-style, see text.ts), tokens (cl100k_base) or characters (code points). */
import { loadTokenizer, type Tokenizer } from '@curate/core';
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';

export interface LengthParams {
  unit: 'words' | 'tokens' | 'chars';
  min: number;
  max?: number;
}

export const LENGTH_DEFAULTS: LengthParams = { unit: 'words', min: 1, max: undefined };

function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = text.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

export function length(p: LengthParams): Pick<Filter, 'filter' | 'prepare' | 'signals'> {
  let tokenizer: Tokenizer | undefined;
  const max = p.max ?? Number.POSITIVE_INFINITY;
  const measure = (doc: FilterDoc): number => {
    if (p.unit === 'words') return doc.analysis.tokens().wordCount;
    if (p.unit === 'chars') return codePoints(doc.text);
    if (!tokenizer) throw new Error('length filter: prepare() was not awaited before counting tokens');
    return tokenizer.count(doc.text);
  };
  const decide = (n: number): FilterResult => {
    if (n < p.min) return drop('too_short');
    if (n > max) return drop('too_long');
    return true;
  };
  return {
    async prepare() {
      if (p.unit === 'tokens' && !tokenizer) tokenizer = await loadTokenizer('cl100k_base');
    },
    filter: (doc) => decide(measure(doc)),
    // The length in the unit is the one value the bounds judge: a new min/max needs no text.
    signals: {
      key: { unit: p.unit },
      names: [p.unit],
      measure(doc, out) {
        out[0] = measure(doc);
      },
      decide: (v) => decide(v[0]) as true | { drop: string },
    },
  };
}
