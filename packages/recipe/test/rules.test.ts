import { describe, expect, it } from 'vitest';
import { passColumns } from '../src/columns.js';
import { RULES, validateRecipe } from '../src/index.js';
import { baseRecipe, type Loose, lines } from './helpers.js';

async function run(mutate: (r: Loose) => void) {
  const r = baseRecipe();
  mutate(r);
  const res = await validateRecipe(r, { checkPaths: false });
  if (res.errors.length) expect(res.recipe).toBeUndefined();
  else expect(res.recipe).toBeDefined();
  return { errors: lines(res.errors), warnings: lines(res.warnings) };
}
const errorsOf = async (m: (r: Loose) => void) => (await run(m)).errors;
const warningsOf = async (m: (r: Loose) => void) => (await run(m)).warnings;

describe('rules', () => {
  it('every rule has a unique name and a description', () => {
    const names = RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const r of RULES) expect(r.description.length).toBeGreaterThan(10);
  });

  it('one-budget: tokens or documents, not both', async () => {
    expect(await errorsOf((r) => (r.target = { tokens: 10, documents: 5 }))).toEqual([
      'target: give tokens or documents, not both',
    ]);
    expect(await errorsOf((r) => (r.target = { documents: 5 }))).toEqual([]);
  });

  it('ratio-sums-to-one: within 1e-9', async () => {
    expect(await errorsOf((r) => (r.target = { ratio: { real: 0.7, synthetic: 0.2 } }))).toEqual([
      'target.ratio: real + synthetic must sum to 1 (got 0.9)',
    ]);
    expect(await errorsOf((r) => (r.target = { ratio: { real: 0.1 + 0.2, synthetic: 0.7 } }))).toEqual([]);
    expect(await errorsOf((r) => (r.target = { ratio: { real: 0.7, synthetic: 0.3 + 2e-9 } }))).toEqual([
      'target.ratio: real + synthetic must sum to 1 (got 1.000000002)',
    ]);
  });

  it('ratio-kind-has-sources: a kind asked for must have sources', async () => {
    expect(
      await errorsOf((r) => {
        r.sources = r.sources.filter((s: Loose) => s.kind === 'real');
        r.target = { ratio: { synthetic: 0.3 } };
      }),
    ).toEqual(['target.ratio.synthetic: is 0.3 but no source is synthetic']);
    expect(
      await errorsOf((r) => {
        r.sources = r.sources.filter((s: Loose) => s.kind === 'real');
        r.target = { ratio: { real: 1 } };
      }),
    ).toEqual([]);
  });

  it('synthetic-fraction-guard: names both paths', async () => {
    expect(
      await errorsOf((r) => {
        r.target = { ratio: { real: 0.5, synthetic: 0.5 } };
        r.guards = { max_synthetic_fraction: 0.3 };
      }),
    ).toEqual(['guards.max_synthetic_fraction: 0.3 is below target.ratio.synthetic (0.5): the mix would be refused']);
    expect(
      await errorsOf((r) => {
        r.target = { ratio: { real: 0.5, synthetic: 0.5 } };
        r.guards = { max_synthetic_fraction: 0.5 };
      }),
    ).toEqual([]);
  });

  it('unique-source-names', async () => {
    expect(await errorsOf((r) => (r.sources[1].name = 'human'))).toEqual([
      'sources[1].name: duplicate source name "human" (also sources[0])',
    ]);
  });

  it('generator-synthetic-only: error on real, warning when synthetic has none', async () => {
    expect(await errorsOf((r) => (r.sources[0].generator = 'people'))).toEqual([
      'sources[0].generator: only synthetic sources have a generator',
    ]);
    expect(await warningsOf((r) => delete r.sources[1].generator)).toEqual([
      'sources[1].generator: synthetic source "synth" names no generator (provenance)',
    ]);
    // lineage columns: synthetic only; a generator column is provenance enough
    expect(
      await errorsOf((r) => {
        r.sources[0].generator_column = 'model';
        r.sources[0].generation_column = 'depth';
      }),
    ).toEqual([
      'sources[0].generator_column: only synthetic sources have a generator_column (a real source is written by people: generation 0)',
      'sources[0].generation_column: only synthetic sources have a generation_column (a real source is written by people: generation 0)',
    ]);
    expect(
      await warningsOf((r) => {
        delete r.sources[1].generator;
        r.sources[1].generator_column = 'model';
      }),
    ).toEqual([]);
  });

  it('shares-per-kind: all given sum to 1, some given at most 1, leftovers warned', async () => {
    const three = (r: Loose) => {
      r.sources.push({ name: 'synth2', kind: 'synthetic', generator: 'g', paths: ['s2.jsonl'], text: 't' });
    };
    expect(
      await errorsOf((r) => {
        three(r);
        r.sources[1].share = 0.6;
        r.sources[2].share = 0.3;
      }),
    ).toEqual([
      'sources[2].share: shares of synthetic sources must sum to 1 (got 0.9: sources[1] 0.6, sources[2] 0.3)',
    ]);
    expect(
      await errorsOf((r) => {
        three(r);
        r.sources[1].share = 0.6;
        r.sources[2].share = 0.4;
      }),
    ).toEqual([]);
    // one of two given: the other takes the rest
    expect(
      await run((r) => {
        three(r);
        r.sources[1].share = 0.6;
      }),
    ).toEqual({ errors: [], warnings: [] });
    // the real kind is separate: one real source with share 1 is fine, share 0.5 alone is not
    expect(await errorsOf((r) => (r.sources[0].share = 0.5))).toEqual([
      'sources[0].share: shares of real sources must sum to 1 (got 0.5: sources[0] 0.5)',
    ]);
    expect(
      await run((r) => {
        three(r);
        r.sources.push({ name: 'synth3', kind: 'synthetic', generator: 'g', paths: ['s3.jsonl'], text: 't' });
        r.sources[1].share = 0.7;
        r.sources[2].share = 0.5;
      }),
    ).toEqual({
      errors: [
        'sources[2].share: shares of synthetic sources must sum to at most 1 (got 1.2: sources[1] 0.7, sources[2] 0.5)',
      ],
      warnings: [],
    });
    expect(
      await warningsOf((r) => {
        three(r);
        r.sources.push({ name: 'synth3', kind: 'synthetic', generator: 'g', paths: ['s3.jsonl'], text: 't' });
        r.sources[1].share = 0.5;
        r.sources[2].share = 0.5;
      }),
    ).toEqual(['sources[3].share: "synth3" gets nothing: the other synthetic shares sum to 1']);
  });

  it('epochs-warning: above guards.max_epochs_warning', async () => {
    expect(await warningsOf((r) => (r.sources[1].max_epochs = 4))).toEqual([]);
    expect(await warningsOf((r) => (r.sources[1].max_epochs = 4.5))).toEqual([
      'sources[1].max_epochs: 4.5 is above guards.max_epochs_warning (4): repeated data raises collapse risk',
    ]);
    expect(
      await warningsOf((r) => {
        r.sources[0].max_epochs = 3;
        r.guards = { max_epochs_warning: 2 };
      }),
    ).toEqual(['sources[0].max_epochs: 3 is above guards.max_epochs_warning (2): repeated data raises collapse risk']);
  });

  it('text-template: columns and templates', async () => {
    expect(await errorsOf((r) => (r.sources[0].text = '{instruction}\n\n{response}'))).toEqual([]);
    expect(await errorsOf((r) => (r.sources[0].text = '{{literal}} {a.b}'))).toEqual([]);
    expect(await errorsOf((r) => (r.sources[0].text = '{instruction\n\n{response}'))).toEqual([
      'sources[0].text: unclosed "{" at character 1 (write "{{" for a literal brace)',
    ]);
    expect(await errorsOf((r) => (r.sources[1].text = 'a}'))).toEqual([
      'sources[1].text: unmatched "}" at character 2 (write "}}" for a literal brace)',
    ]);
    expect(
      await errorsOf((r) => (r.dedup = { decontaminate: [{ name: 'ev', paths: ['e.jsonl'], text: 'q {} a' }] })),
    ).toEqual(['dedup.decontaminate[0].text: empty "{}" at character 3: name a column']);
  });

  it('pass-through-columns: provenance names are refused with a rename; renames are accepted', async () => {
    expect(await errorsOf((r) => (r.output = { dir: 'out', columns: ['generator'] }))).toEqual([
      'output.columns[0]: "generator" is a provenance column curate writes (id, text, source, kind, source_row, epoch, generator, generation, reason); pass the input\'s column under another name: { generator: input_generator }',
    ]);
    expect(await errorsOf((r) => (r.sources[1].columns = ['instruction', 'source_row']))).toEqual([
      'sources[1].columns[1]: "source_row" is a provenance column curate writes (id, text, source, kind, source_row, epoch, generator, generation, reason); pass the input\'s column under another name: { source_row: input_source_row }',
    ]);
    expect(
      await errorsOf((r) => (r.output = { dir: 'out', columns: ['instruction', { generator: 'input_generator' }] })),
    ).toEqual([]);
    expect(await errorsOf((r) => (r.output = { dir: 'out', columns: [{ model: 'kind' }] }))).toEqual([
      'output.columns[0]: "kind" is a provenance column curate writes (id, text, source, kind, source_row, epoch, generator, generation, reason); choose another output name, e.g. { model: input_kind }',
    ]);
    expect(await errorsOf((r) => (r.output = { dir: 'out', columns: ['a', { b: 'a' }] }))).toEqual([
      'output.columns[1]: writes column "a", which output.columns[0] already writes from input column "a"',
    ]);
    expect(await errorsOf((r) => (r.output = { dir: 'out', columns: [{ a: 'x', b: 'y' }] }))).toEqual([
      'output.columns[0]: must be a column name or { input_column: output_name }',
    ]);
  });

  it('applies-to-sources: names must exist; a kind without sources warns', async () => {
    expect(await errorsOf((r) => (r.quality = [{ c4: { applies_to: ['human', 'synht'] } }]))).toEqual([
      'quality[0].c4.applies_to[1]: unknown source "synht" (did you mean "synth"?)',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: {} }, { fineweb: { applies_to: ['nothing-like-it'] } }]))).toEqual(
      ['quality[1].fineweb.applies_to[0]: unknown source "nothing-like-it"'],
    );
    expect(
      await warningsOf((r) => {
        r.sources = r.sources.filter((s: Loose) => s.kind === 'real');
        r.quality = [{ score: { column: 'judge', min: 7, applies_to: 'synthetic' } }];
      }),
    ).toEqual(['quality[0].score.applies_to: no source is synthetic: the filter never runs']);
  });

  it('filter-params: blocklist, score bounds, min <= max', async () => {
    expect(await errorsOf((r) => (r.quality = [{ blocklist: {} }]))).toEqual([
      'quality[0].blocklist: give at least one word or phrase',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ blocklist: { phrases: ['as an AI'] } }]))).toEqual([]);
    expect(await errorsOf((r) => (r.quality = [{ score: { column: 'judge' } }]))).toEqual([
      'quality[0].score: give min, max or both',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ c4: {} }, { score: { column: 'judge', min: 8, max: 5 } }]))).toEqual([
      'quality[1].score.min: must be <= max (8 > 5)',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ length: { min: 100, max: 10 } }]))).toEqual([
      'quality[0].length.min: must be <= max (100 > 10)',
    ]);
    expect(await errorsOf((r) => (r.quality = [{ length: { max: 10 } }]))).toEqual([]);
    expect(await errorsOf((r) => (r.quality = [{ gopher_quality: { min_words: 200000 } }]))).toEqual([
      'quality[0].gopher_quality.min_words: must be <= max_words (200000 > 100000)',
    ]);
  });

  it('lsh-bands-rows: both or neither, bands * rows <= num_perm', async () => {
    expect(await errorsOf((r) => (r.dedup = { near: { bands: 16 } }))).toEqual([
      'dedup.near.bands: give rows too, or neither (then they are chosen for the threshold)',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { rows: 8 } }))).toEqual([
      'dedup.near.rows: give bands too, or neither (then they are chosen for the threshold)',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { bands: 16, rows: 8 } }))).toEqual([]);
    expect(await errorsOf((r) => (r.dedup = { near: { bands: 20, rows: 10 } }))).toEqual([
      'dedup.near: bands x rows (20 x 10 = 200) must be <= num_perm (128)',
    ]);
    expect(await errorsOf((r) => (r.dedup = { near: { bands: 20, rows: 10, num_perm: 256 } }))).toEqual([]);
  });

  it('unique-eval-names', async () => {
    const ev = { name: 'gsm8k', paths: ['e.jsonl'], text: 'question' };
    expect(await errorsOf((r) => (r.dedup = { decontaminate: [ev, { ...ev }] }))).toEqual([
      'dedup.decontaminate[1].name: duplicate eval set name "gsm8k" (also decontaminate[0])',
    ]);
  });

  it('compression-fits-format: gzip only for jsonl', async () => {
    expect(await errorsOf((r) => (r.output.compression = 'gzip'))).toEqual([
      'output.compression: gzip is not available for parquet (use snappy, zstd, none): gzip is only for jsonl',
    ]);
    expect(await errorsOf((r) => Object.assign(r.output, { format: 'arrow', compression: 'snappy' }))).toEqual([
      'output.compression: snappy is not available for arrow (use zstd, none)',
    ]);
    expect(await errorsOf((r) => Object.assign(r.output, { format: 'jsonl', compression: 'gzip' }))).toEqual([]);
    expect(await errorsOf((r) => Object.assign(r.output, { format: 'parquet', compression: 'snappy' }))).toEqual([]);
  });

  it('shard-size: at least one byte', async () => {
    expect(await errorsOf((r) => (r.output.shard_size = '0MB'))).toEqual([
      'output.shard_size: must be at least 1 byte',
    ]);
  });

  it('reports all rule errors and warnings together', async () => {
    const res = await run((r) => {
      r.target = { tokens: 1, documents: 1 };
      r.sources[1].name = 'human';
      r.sources[1].max_epochs = 10;
    });
    expect(res.errors).toEqual([
      'target: give tokens or documents, not both',
      'sources[1].name: duplicate source name "human" (also sources[0])',
    ]);
    expect(res.warnings).toEqual([
      'sources[1].max_epochs: 10 is above guards.max_epochs_warning (4): repeated data raises collapse risk',
    ]);
  });
});

describe('conversations and lineage', () => {
  const chat = (r: Loose) => {
    delete r.sources[1].text;
    r.sources[1].conversation = { format: 'sharegpt', roles: { bot: 'assistant' } };
  };
  it('a conversation source needs no text; its defaults are filled and its column passes through', async () => {
    const r = baseRecipe();
    chat(r);
    const res = await validateRecipe(r, { checkPaths: false });
    expect(res.errors).toEqual([]);
    const s = res.recipe?.sources[1];
    expect(s?.text).toBe('messages');
    expect(s?.conversation).toEqual({
      column: 'messages',
      format: 'sharegpt',
      roles: { bot: 'assistant' },
      template: 'chatml',
      quality: ['assistant'],
      decontaminate: ['user'],
      dedup: ['user', 'assistant', 'tool'],
    });
    expect(passColumns(res.recipe!, 1)).toEqual([
      { input: 'messages', output: 'messages', path: 'sources[1].conversation.column' },
    ]);
  });
  it('text with a conversation, a rewriting filter on one, an unknown role kind are errors', async () => {
    expect(
      await errorsOf((r) => {
        chat(r);
        r.sources[1].text = '{a}';
      }),
    ).toEqual([
      'sources[1].text: a conversation source has no text template: its text is the conversation rendered by conversation.template',
    ]);
    expect(
      await errorsOf((r) => {
        chat(r);
        r.quality = [{ c4: {} }, { c4: { mode: 'clean', applies_to: 'real' } }];
      }),
    ).toEqual([
      'quality[0].c4: c4 in clean mode rewrites text, which conversation source "synth" cannot take (turns are kept exactly): use mode: filter, or exclude it with applies_to',
    ]);
    expect(
      await errorsOf((r) => {
        chat(r);
        r.sources[1].conversation.roles = { bot: 'robot' };
      }),
    ).toEqual(['sources[1].conversation.roles.bot: must be one of system, user, assistant, tool']);
  });
  it('generation depth: real is 0, synthetic >= 1, and guards.max_generation_depth refuses deeper sources', async () => {
    expect(
      await errorsOf((r) => {
        r.sources[0].generation = 1;
        r.sources[1].generation = 3;
        r.guards = { max_generation_depth: 2 };
      }),
    ).toEqual([
      'sources[0].generation: a real source is written by people: generation 0',
      'sources[1].generation: 3 is deeper than guards.max_generation_depth (2): model collapse compounds across generations of training on generated data (Shumailov et al., Nature 2024)',
    ]);
  });
});
