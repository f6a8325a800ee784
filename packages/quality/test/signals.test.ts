import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import {
  FILTER_DEFAULTS,
  QualitySignalMeter,
  type QualitySignalName,
  type QualitySignals,
  qualitySignals,
  SIGNAL_INFO,
} from '../src/index.js';
import { check } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'shards');

/** Every check of each filter switched off, so only the one under test can drop. */
const OFF: Record<string, Record<string, unknown>> = {
  gopher_quality: {
    min_words: 0,
    max_words: 1e9,
    min_mean_word_length: 0,
    max_mean_word_length: 1e9,
    max_symbol_word_ratio: 1e9,
    max_bullet_lines_ratio: 1,
    max_ellipsis_lines_ratio: 1,
    min_alpha_words_ratio: 0,
    min_stop_words: 0,
  },
  gopher_repetition: {
    max_dup_line_frac: 1,
    max_dup_line_char_frac: 1,
    max_dup_para_frac: 1,
    max_dup_para_char_frac: 1,
    top_ngram_char_frac: {},
    dup_ngram_char_frac: {},
  },
  fineweb: { min_punct_line_ratio: 0, max_short_line_ratio: 1, max_dup_line_char_frac: 1, max_newline_word_ratio: 1e9 },
};

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The next double above (d = 1) or below (d = -1) a finite x >= 0. */
function nudge(x: number, d: 1 | -1): number {
  if (x === 0) return d > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
  f64[0] = x;
  i64[0] += BigInt(d);
  return f64[0];
}

/** Filter parameters with the signal's threshold parameter (`a.b` paths) set to `t`. */
function withThreshold(name: QualitySignalName, bound: 'min' | 'max', t: number): Record<string, unknown> {
  const info = SIGNAL_INFO[name];
  const p = structuredClone(OFF[info.filter]);
  const path = (info.params[bound] as string).split('.');
  if (path.length === 2) p[path[0]] = { [path[1]]: t };
  else p[path[0]] = t;
  return p;
}

const isInt = (n: QualitySignalName) => n === 'word_count' || n === 'stop_words';
const RATIO: QualitySignalName[] = [
  'alpha_words_ratio',
  'dup_line_char_frac',
  'top_2gram_char_frac',
  'dup_5gram_char_frac',
  'punct_line_ratio',
  'short_line_ratio',
];

/**
 * For each signal and bound: the filter with the threshold exactly at the value keeps the
 * document, and the nearest stricter threshold drops it for this signal's reason.
 */
function checkAroundThresholds(text: string, s: QualitySignals): number {
  let checks = 0;
  for (const name of Object.keys(SIGNAL_INFO) as QualitySignalName[]) {
    const info = SIGNAL_INFO[name];
    const v = s[name];
    const reasonOf = (p: Record<string, unknown>) => {
      const r = check(info.filter, p, text);
      return typeof r === 'string' && info.reasons.includes(r) ? 'drop' : 'keep';
    };
    const where = `${name} = ${v} on ${JSON.stringify(text.slice(0, 60))}`;
    if (v === null) {
      // undefined without words: no threshold drops the document for this reason
      if (info.params.min) expect(reasonOf(withThreshold(name, 'min', 1)), where).toBe('keep');
      continue;
    }
    if (info.params.min) {
      const top = RATIO.includes(name) ? 1 : 1e9;
      expect(reasonOf(withThreshold(name, 'min', Math.min(v, top))), where).toBe('keep');
      const stricter = isInt(name) ? v + 1 : nudge(v, 1);
      if (stricter <= top) expect(reasonOf(withThreshold(name, 'min', stricter)), where).toBe('drop');
      checks++;
    }
    if (info.params.max) {
      if (Number.isFinite(v)) expect(reasonOf(withThreshold(name, 'max', v)), where).toBe('keep');
      else expect(reasonOf(withThreshold(name, 'max', 1e9)), where).toBe('drop');
      if (v > 0 && Number.isFinite(v)) {
        const stricter = isInt(name) ? v - 1 : nudge(v, -1);
        expect(reasonOf(withThreshold(name, 'max', stricter)), where).toBe('drop');
      }
      checks++;
    }
  }
  return checks;
}

function jsonl(path: string, text: (r: Record<string, string>) => string, limit: number): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, limit)
    .map((l) => text(JSON.parse(l)));
}

describe('qualitySignals', () => {
  it('measures a small text as the filters define it', () => {
    const text = 'The cat sat with the dog.\nThe cat sat with the dog.\n#tag and ... more words here!\nok';
    const s = qualitySignals(text);
    // 18 words ("..." is not a word), 19 tokens; stop words: The, with, the (twice) and "and"
    expect(s.word_count).toBe(18);
    expect(s.stop_words).toBe(7);
    expect(s.symbol_word_ratio).toBe(1 / 18);
    expect(s.alpha_words_ratio).toBe(1);
    expect(text.length).toBe(84);
    expect(s.dup_line_char_frac).toBe(25 / 84);
    expect(s.punct_line_ratio).toBe(3 / 4);
    expect(s.short_line_ratio).toBe(1); // 25, 25, 29 and 2 characters: all <= 30
    expect(s.newline_word_ratio).toBe(3 / 19); // 19 white-space tokens, "..." included
    // "The cat" and "cat sat", ... each twice: the first (The cat) is the top 2-gram
    expect(s.top_2gram_char_frac).toBe((7 * 2) / text.length);
    // the second "The cat sat with the" and the 5-gram after it are repeats: 6 tokens' characters
    expect(s.dup_5gram_char_frac).toBeGreaterThan(0);
    // cores: The cat sat with the dog (19 characters) twice, tag and more words here (19), ok (2)
    expect(s.mean_word_length).toBe(59 / 18);
  });

  it('gives null where a value is undefined and the filters never drop for it', () => {
    for (const text of ['', '... -- !!!', '\n\n\n']) {
      const s = qualitySignals(text);
      expect(s.word_count).toBe(0);
      expect(s.mean_word_length).toBeNull();
      expect(s.alpha_words_ratio).toBeNull();
      checkAroundThresholds(text, s);
    }
    expect(qualitySignals('\n\n\n').newline_word_ratio).toBe(Number.POSITIVE_INFINITY);
  });

  it('SIGNAL_INFO names the parameters and defaults the filters use', () => {
    for (const info of Object.values(SIGNAL_INFO)) {
      const defaults = FILTER_DEFAULTS[info.filter] as unknown as Record<string, unknown>;
      for (const bound of ['min', 'max'] as const) {
        const path = info.params[bound];
        if (!path) {
          expect(info[bound]).toBeUndefined();
          continue;
        }
        const [k, sub] = path.split('.');
        const v = sub ? (defaults[k] as Record<string, number>)[sub] : defaults[k];
        expect(v).toBe(info[bound]);
      }
    }
  });

  it('measuring options: stop words and short line length', () => {
    const m = new QualitySignalMeter({ stop_words: ['Cat'], short_line_length: 5 });
    const s = m.measure('the cat\nthe cat sat on the mat');
    expect(s.stop_words).toBe(2);
    expect(s.short_line_ratio).toBe(0);
    expect(qualitySignals('the cat\nthe cat sat on the mat', { short_line_length: 7 }).short_line_ratio).toBe(0.5);
  });

  it('matches the filters just around the thresholds on the demo fixtures (real Brown, Markov synthetic)', () => {
    const docs = [
      ...jsonl(join(FIXTURES, 'real', 'brown-00000.jsonl'), (r) => r.text, 60),
      ...jsonl(join(FIXTURES, 'synthetic', 'markov-00000.jsonl'), (r) => r.text, 60),
    ];
    let checks = 0;
    for (const d of docs) checks += checkAroundThresholds(d, qualitySignals(d));
    expect(checks).toBe(docs.length * 13);
  });
});

describe.skipIf(!HAS_SHARED)('qualitySignals on shared real and synthetic data', () => {
  it('matches the filters just around the thresholds on C4 and AlpacaEval outputs', () => {
    const docs = [
      ...jsonl(shared('real_text', 'c4_sample.jsonl'), (r) => r.text, 150),
      ...jsonl(
        shared('instruct_pair', 'synthetic_alpaca_eval_outputs.jsonl'),
        (r) => `${r.instruction}\n\n${r.output}`,
        150,
      ),
    ];
    const meter = new QualitySignalMeter();
    let repeated = 0;
    for (const d of docs) {
      const s = meter.measure(d);
      if (s.dup_5gram_char_frac > 0) repeated++;
      checkAroundThresholds(d, s);
    }
    // the boundary checks ran on documents with repetition too, not only on zeros
    expect(repeated).toBeGreaterThan(20);
  });
});
