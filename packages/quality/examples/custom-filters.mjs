// Custom filters for a curate recipe (see the "Custom filters" section of @curate/quality's README).
// A recipe names a module and one of its exports, with a path relative to the recipe file:
//
//   quality:
//     - custom: { module: ./custom-filters.mjs, export: minWordsIn, params: { column: text, min: 40 } }
//     - custom: { module: ./custom-filters.mjs, export: noUrls }
//     - custom: { module: ./custom-filters.mjs, export: stripSignature, applies_to: real }
//
// An export is either a filter made with `defineFilter` (no params), or a function of the recipe's
// `params` returning one. The filter's name is its reason prefix (`filter:min_words_in:too_short`).
// The module is imported once per thread (runRecipe scans in worker threads), so keep it free of
// side effects and deterministic: the same row must get the same answer every time.
import { defineFilter } from '@curate/quality';

/** Drops documents holding a URL: reason `filter:no_urls:url`. Reads no column but the text. */
export const noUrls = defineFilter(
  'no_urls',
  (doc) => (/\bhttps?:\/\//.test(doc.text) ? { drop: 'url' } : true),
  undefined,
  [],
);

/**
 * A factory: keeps rows whose `column` has at least `min` words (`filter:min_words_in:too_short`,
 * `filter:min_words_in:missing`). Declaring the column lets Parquet readers decode only what is used.
 */
export function minWordsIn(params) {
  const column = params.column ?? 'text';
  const min = params.min ?? 1;
  if (typeof min !== 'number' || min < 0) throw new Error(`min must be a number >= 0, got ${JSON.stringify(min)}`);
  return defineFilter(
    'min_words_in',
    (doc) => {
      const v = column === 'text' ? doc.text : doc.get(column);
      if (typeof v !== 'string') return { drop: 'missing' };
      let n = 0;
      for (const w of v.split(/\s+/)) if (w) n++;
      return n >= min ? true : { drop: 'too_short' };
    },
    undefined,
    column === 'text' ? [] : [column],
  );
}

/**
 * Rewrites text: removes a trailing "-- \n" e-mail signature block and counts it with `doc.count`
 * (the run's manifest shows `strip_signature:signatures` per source under `changed`).
 */
export const stripSignature = defineFilter(
  'strip_signature',
  (doc) => {
    const i = doc.text.lastIndexOf('\n-- \n');
    if (i < 0) return true;
    doc.count('signatures');
    return { text: doc.text.slice(0, i) };
  },
  undefined,
  [],
);
