import { readFileSync } from 'node:fs';
import { collect, makeBatch, Stats, silentLogger } from '@curate/core';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { groundedVerdict } from '../src/filters/grounded.js';
import { createFilter, FilterChain, groundedness, qualityStep } from '../src/index.js';
import { check } from './helpers.js';

describe('score', () => {
  it('min and max are inclusive; strings and booleans are numbers; missing policy', () => {
    const p = { column: 'judge', min: 7, max: 9 };
    expect(check('score', p, 't', { judge: 7 })).toBe(true);
    expect(check('score', p, 't', { judge: 9 })).toBe(true);
    expect(check('score', p, 't', { judge: 6.999 })).toBe('below_min');
    expect(check('score', p, 't', { judge: 9.001 })).toBe('above_max');
    expect(check('score', p, 't', { judge: ' 8 ' })).toBe(true);
    expect(check('score', p, 't', { judge: 'high' })).toBe('missing');
    expect(check('score', p, 't', { judge: null })).toBe('missing');
    expect(check('score', p, 't', { judge: Number.NaN })).toBe('missing');
    expect(check('score', { ...p, missing: 'keep' }, 't', { judge: null })).toBe(true);
    expect(check('score', { column: 'ok', min: 1 }, 't', { ok: true })).toBe(true);
    expect(check('score', { column: 'big', max: 10 }, 't', { big: 11n })).toBe('above_max');
  });

  it('errors: no column, max < min, absent column in the data', async () => {
    expect(() => createFilter('score', { min: 1 }, 'quality[4].score')).toThrow(/is required/);
    try {
      createFilter('score', { min: 1 }, 'quality[4].score');
    } catch (e) {
      expect((e as { toLine(): string }).toLine()).toBe('quality[4].score.column: is required (the name of a column)');
    }
    expect(() => createFilter('score', { column: 'x', min: 5, max: 1 })).toThrow(/score\.max|must be >= min/);
    const step = qualityStep([createFilter('score', { column: 'judge', min: 1 })]);
    const ctx = { rank: 0, worldSize: 1, stats: new Stats(), log: silentLogger };
    const batch = makeBatch({ text: ['a'] }, { file: 'rows.jsonl', offset: 41 });
    const err = await collect(
      step(
        (async function* () {
          yield batch;
        })(),
        ctx,
      ),
    ).catch((e) => e);
    expect(err.toLine()).toBe('rows.jsonl: row 42: column "judge" not found (columns: text)');
    expect(err.code).toBe('E_MISSING_COLUMN');
  });
});

describe('grounded', () => {
  const context =
    'Mount Everest, at 8,849 metres, was first climbed in 1953 by Edmund Hillary and Tenzing Norgay of Nepal.';
  const p = { context: 'context', prompt: 'prompt', response: 'response' };
  const run = (response: string, extra: object = {}) =>
    check('grounded', { ...p, ...extra }, 'doc', { context, prompt: 'Who climbed Everest first?', response });

  it('counts numbers, entities and content words against context and prompt', () => {
    const g = groundedness('Edmund Hillary climbed Everest in 1953 with Tenzing Norgay.', context);
    expect(g).toMatchObject({ numbers: 1, unsupportedNumbers: 0, entities: 2, unsupportedEntities: 0 });
    const h = groundedness('Edmund Hillary and George Mallory climbed it in 1924, reaching 8849 metres.', context);
    expect(h).toMatchObject({ numbers: 2, unsupportedNumbers: 1, entities: 2, unsupportedEntities: 1 });
    // number words support digits; list markers are not numbers
    expect(groundedness('It took 2 men.', 'two men climbed').unsupportedNumbers).toBe(0);
    expect(groundedness('1. Hillary\n2. Norgay', context).numbers).toBe(0);
  });

  it('drops above max_unsupported with the kind as reason', () => {
    expect(run('Edmund Hillary and Tenzing Norgay first climbed it in 1953.')).toBe(true);
    expect(run('Edmund Hillary and Tenzing Norgay first climbed it in 1935.')).toBe('numbers');
    // 1 of 5 numbers unsupported = 0.2 passes, 2 of 5 drops
    expect(run('At 8,849 metres, in 1953, Hillary and Norgay of Nepal climbed it, 1953 and 8849 and 7.')).toBe(true);
    expect(run('At 8,849 metres, in 1953, Hillary and Norgay of Nepal climbed it, 1953 and 8849 and 7 and 6.')).toBe(
      'numbers',
    );
    expect(run('Edmund Hillary and Reinhold Messner climbed Everest.')).toBe('entities');
    // one invented name among many is still a drop: names are judged at max_unsupported / 4
    const many = 'Edmund Hillary, Tenzing Norgay, Mount Everest and Reinhold Messner.';
    expect(run(many)).toBe('entities');
    expect(run(many, { max_unsupported: 1 })).toBe(true);
    expect(run('Hillary enjoyed delicious breakfast pancakes before skiing downhill.')).toBe('content_words');
    expect(run('Hillary enjoyed delicious pancakes.', { min_response_words: 5 })).toBe(true);
    // content words are judged at four times max_unsupported (paraphrase is not hallucination)
    expect(run('Hillary and Norgay of Nepal first climbed Everest, reaching the summit.')).toBe(true);
    // empty context: not judged
    expect(check('grounded', p, 'doc', { context: '', prompt: '', response: 'Invented Name 1234' })).toBe(true);
    // response defaults to the document text
    expect(check('grounded', { context: 'context' }, 'Reinhold Messner did it in 1978.', { context })).toBe('numbers');
  });
});

const NAMES = ['Halvard Penrose', 'Marguerite Olowe', 'Tobias Wrenfield', 'Ingrid Castellanos'];
/** Every number made wrong (or a wrong figure added when there is none). */
export function injectNumbers(response: string, i: number): string {
  let changed = false;
  const out = response.replace(/\d+(?:[.,]\d+)*/g, (m) => {
    changed = true;
    const v = Number(m.replace(/,/g, ''));
    return String(Number.isFinite(v) ? Math.round(v * 3 + 17) : 4172);
  });
  return changed ? out : `${response} This figure rose to ${1000 + ((i * 37) % 8000)} in ${1700 + ((i * 13) % 300)}.`;
}
/** The first multi-word name replaced by an invented one (or an invented source added). */
export function injectName(response: string, i: number): string {
  const name = NAMES[i % NAMES.length];
  const m = response.match(/\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b/);
  return m ? response.replace(m[0], name) : `${response} This was first described by ${name}.`;
}

/**
 * One wrong number: the first number that states a fact made wrong (`3x+17`); list markers (`1.`
 * at a line start) and digits glued to letters (`A380`) are skipped, as they state no fact.
 * Returns the response unchanged when it has no such number.
 */
export function injectOneNumber(response: string): string {
  let done = false;
  return response.replace(/(?<![\p{L}\d.,])\d+(?:[.,]\d+)*/gu, (m, off: number) => {
    const line = response.slice(response.lastIndexOf('\n', off - 1) + 1, off);
    const marker = m.length <= 2 && /^[ \t(]*$/.test(line) && /^[.)][ \t]/.test(response.slice(off + m.length));
    if (done || marker) return m;
    done = true;
    const v = Number(m.replace(/,/g, ''));
    return String(Math.round(v * 3 + 17));
  });
}

describe.skipIf(!HAS_SHARED)('grounded on Dolly (human answers with context)', () => {
  it('passes most human answers and fails most injected wrong numbers and invented names', { timeout: 60000 }, () => {
    const all = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => ['closed_qa', 'information_extraction', 'summarization'].includes(r.category) && r.context.trim());
    expect(all.length).toBeGreaterThan(4000);
    const chain = new FilterChain([createFilter('grounded', { context: 'context', prompt: 'instruction' })]);
    const rates = (rows: typeof all) => {
      const rate = (fn: (r: { response: string }, i: number) => string) => {
        let pass = 0;
        rows.forEach((r, i) => {
          if (chain.run(fn(r, i), 'dolly', 'real', { context: [r.context], instruction: [r.instruction] }, 0) === null)
            pass++;
        });
        return pass / rows.length;
      };
      const withNumber = rows.filter((r) => injectOneNumber(r.response) !== r.response);
      let oneCaught = 0;
      for (const r of withNumber) {
        const g = groundedness(injectOneNumber(r.response), r.context, r.instruction);
        if (groundedVerdict(g, 0.2, 5) !== undefined) oneCaught++;
      }
      return {
        one: oneCaught / withNumber.length,
        human: rate((r) => r.response),
        numbers: 1 - rate((r, i) => injectNumbers(r.response, i)),
        names: 1 - rate((r, i) => injectName(r.response, i)),
      };
    };
    // the scoring was tuned on the even rows; the odd rows are held out (README: both halves)
    const tuning = rates(all.filter((_, i) => i % 2 === 0));
    const heldOut = rates(all.filter((_, i) => i % 2 === 1));
    // measured, tuning half: 91.4% / 97.1% / 98.3%; held-out half: 90.3% / 98.1% / 98.7%
    expect(tuning.human).toBeGreaterThanOrEqual(0.91);
    expect(heldOut.human).toBeGreaterThanOrEqual(0.9);
    // one wrong number (contradicted figures, December 2026): tuning 89.7%, held-out 91.6% (was 81.3% / 83.9%)
    expect(tuning.one).toBeGreaterThan(0.89);
    expect(heldOut.one).toBeGreaterThanOrEqual(0.9);
    for (const h of [tuning, heldOut]) {
      expect(h.numbers).toBeGreaterThan(0.96);
      expect(h.names).toBeGreaterThan(0.97);
    }
  });
});

describe('grounded folding', () => {
  it('matches names with and without diacritics', () => {
    expect(
      groundedness('Uscie Gorlicke has 1,100 people.', 'Uście Gorlickie is a village of 1100 people.'),
    ).toMatchObject({
      unsupportedNumbers: 0,
      entities: 1,
    });
    expect(
      groundedness('Uscie Gorlickie lies in Poland.', 'Uście Gorlickie is a village in Poland.').unsupportedEntities,
    ).toBe(0);
  });
});

describe('grounded normalisation', () => {
  const un = (response: string, source: string) => groundedness(response, source).unsupportedNumbers;
  it('matches numbers across spellings, scales, words, decades, centuries, ranges and roman numerals', () => {
    expect(
      un('It has 1,000 rooms, 3.50 m high, $5 each, 25% full.', 'a 1000-room hotel, 3.5 m; 5 dollars; 25 percent'),
    ).toBe(0);
    expect(un('It came 3rd of 28 in the 1960s.', 'third of twenty-eight entrants, 1960s')).toBe(0);
    expect(un('About 1.5 million people.', 'a population of 1,500,000')).toBe(0);
    expect(un('A population of 2,300,000.', 'some 2.3 million inhabitants')).toBe(0);
    expect(un('Popular in the 60s and 70s.', 'During the 1960s and the 1970s')).toBe(0);
    expect(un('The 1995-96 season.', 'the season of 1995 to 1996')).toBe(0);
    expect(un('The 1995-97 season.', 'the season of 1995 to 1996')).toBe(1);
    expect(un('Built in the 19th century.', 'built in 1854')).toBe(0);
    expect(un('Built in the 18th century.', 'built in 1854')).toBe(1);
    expect(un('It is about 650 miles long.', 'It is 652 miles long.')).toBe(0);
    // rounding needs a hedge word, and never turns 1950 into 1953
    expect(un('It is 650 miles long.', 'It is 652 miles long.')).toBe(1);
    expect(un('Built in 1950.', 'built in 1953')).toBe(1);
    expect(un('He fought in World War 2.', 'during World War II')).toBe(0);
    // computed from numbers of the answer: 1597 - 1539 = 58, 3 + 2 = 5
    expect(un('It took 58 years: started in 1539, completed in 1597.', 'started 1539, finished 1597')).toBe(0);
    expect(un('A total of 5 times: three wins and two podiums.', 'won; podium')).toBe(0);
    expect(un('A total of 7 times: three wins and two podiums.', 'won; podium')).toBe(1);
    // `1968,1972` are two numbers; list markers are not numbers
    expect(groundedness('1968,1972', '1968 and 1972')).toMatchObject({ numbers: 2, unsupportedNumbers: 0 });
    expect(groundedness('In 1922. 2. At the camp. 1) Microsoft, 2) Alphabet', '1922').numbers).toBe(1);
  });
  it('reads full-width digits, vulgar fractions and a⁄b', () => {
    expect(un('It has １２ rooms.', 'a house of 12 rooms')).toBe(0);
    expect(un('It has 12 rooms.', 'a house of １２ rooms')).toBe(0);
    expect(un('It has 13 rooms.', 'a house of １２ rooms')).toBe(1);
    expect(un('It is a 2.5 story house, 2.5 miles away.', 'a 2+1⁄2-story house 2½ miles away')).toBe(0);
    expect(un('Half of it: 0.5.', 'about 1⁄2 of it')).toBe(0);
  });
  it('a number where the context has another one between the same words is contradicted', () => {
    const ctx =
      'Matt Giraud (born May 11, 1985) is an American singer. At the 2006 census, its population was 228,673.';
    const g = (r: string) => groundedness(r, ctx);
    // the same two neighbours, both content words (`may`, `1985`): contradicted
    expect(g('Matt Giraud was born May 50, 1985.')).toMatchObject({ unsupportedNumbers: 1, contradictedNumbers: 1 });
    // the same content word before it (`census`): contradicted
    expect(g('The census of 2011 counted people.')).toMatchObject({ unsupportedNumbers: 1, contradictedNumbers: 0 });
    expect(g('At the 2011 census it had 228,673 people.')).toMatchObject({ contradictedNumbers: 1 });
    // function words on both sides are no evidence (`from 1911 to`), nor is a sentence boundary
    expect(groundedness('He served from 1911 to 1913.', 'He served from 1929 to 1933.').contradictedNumbers).toBe(0);
    expect(groundedness('He was born. 1985 came.', 'He was born 11 May.').contradictedNumbers).toBe(0);
    // `17th`, `1960s`: the suffix is part of the number, the next word is its neighbour
    expect(groundedness('in the 17th century', 'in the 15th century').contradictedNumbers).toBe(1);
    // one contradicted number among many numbers drops the row (names' rule: above max_unsupported / 4)
    const many = 'Matt Giraud was born May 50, 1985; in 2006 the population was 228,673, and 228,673 in 2006.';
    expect(groundedVerdict(g(many), 0.2, 5)).toBe('numbers');
    expect(groundedVerdict(g(many.replace('50', '11')), 0.2, 5)).toBe(undefined);
    // a figure computed from the answer's own numbers is still supported unless both neighbours match
    expect(
      groundedness(
        'It took a total of 4,800 pieces: 3,200 pieces and 1,600 pieces.',
        'composed of 3,200 pieces and 1,600 pieces',
      ).unsupportedNumbers,
    ).toBe(0);
  });

  it('names: acronyms, dotted abbreviations, misspellings, leading function words, connectors', () => {
    const ue = (response: string, source: string) => groundedness(response, source).unsupportedEntities;
    expect(ue('He moved to the United States.', 'He moved to the U.S. in 1990.')).toBe(0);
    expect(ue('The North Atlantic Treaty Organization met.', 'NATO met in Brussels.')).toBe(0);
    expect(ue('Authors include Ernest Heminway.', 'Ernest Hemingway lived in Key West.')).toBe(0);
    expect(ue('Authors include Halvard Penrose.', 'Ernest Hemingway lived in Key West.')).toBe(1);
    // `The` does not make `The Dallas` a name; `of` joins one name
    expect(groundedness('The Dallas Mavericks won.', 'Dallas Mavericks').entities).toBe(1);
    expect(groundedness('She studied at University of Connecticut.', 'University of Connecticut').entities).toBe(1);
  });

  it('content words match by Porter stem and ignore function words', () => {
    expect(groundedness('The governed states included these.', 'governments include states')).toMatchObject({
      words: 2,
      unsupportedWords: 0,
    });
  });
});

describe('the columns filters read', () => {
  it('built-in filters say which columns they read; a hand-written one makes the chain unknown', async () => {
    const { defineFilter, FILTER_NAMES } = await import('../src/index.js');
    const params: Record<string, object> = {
      score: { column: 'judge', min: 1 },
      grounded: { context: 'ctx', prompt: 'q' },
      language: { keep: ['en'] },
      where: { column: 'status', eq: 'ok' },
    };
    for (const name of FILTER_NAMES) {
      const f = createFilter(name, params[name]);
      const want =
        name === 'score' ? ['judge'] : name === 'grounded' ? ['ctx', 'q'] : name === 'where' ? ['status'] : [];
      expect(f.columns, name).toEqual(want);
    }
    expect(createFilter('grounded', { context: 'c', response: 'r' }).columns).toEqual(['c', 'r']);
    const chain = new FilterChain([
      createFilter('gopher_quality'),
      createFilter('score', { column: 'judge', min: 1 }),
      createFilter('grounded', { context: 'ctx', prompt: 'judge' }),
    ]);
    expect(chain.columns()).toEqual(['judge', 'ctx']);
    expect(new FilterChain([]).columns()).toEqual([]);
    const mine = defineFilter('mine', (doc) => (doc.get('anything') === null ? { drop: 'null' } : true));
    expect(new FilterChain([createFilter('c4'), mine]).columns()).toBeUndefined();
    const declared = defineFilter('mine', (doc) => (doc.get('anything') === null ? { drop: 'null' } : true), 'real', [
      'anything',
    ]);
    expect(new FilterChain([createFilter('c4'), declared]).columns()).toEqual(['anything']);
  });
});
