/**
 * Language identification with the bundled `eld` detector (small database, pure
 * JS, no download at run time; chosen by measurement, see README). Long documents
 * are judged on a sample: three windows of 600 characters (start, middle, end),
 * so the cost per document is bounded.
 *
 * Confidence is eld's score of the best language (0..1; clear text scores ~0.8).
 * Drop reasons: the detected language (`language:fr`), `und` when nothing could be
 * detected (no letters), or `low_confidence`.
 */
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';

export interface LanguageParams {
  keep: string[];
  min_confidence: number;
}

export const LANGUAGE_DEFAULTS: LanguageParams = { keep: ['en'], min_confidence: 0.5 };

interface Detector {
  detect(text: string): { language: string; getScores(): Record<string, number> };
}

let loading: Promise<Detector> | undefined;
function loadDetector(): Promise<Detector> {
  loading ??= import('eld/small').then((m) => m.eld as Detector);
  return loading;
}

const WINDOW = 600;

/** The text a detector sees: all of it when short, else three windows cut at white space. */
export function languageSample(text: string): string {
  if (text.length <= 3 * WINDOW) return text;
  const parts: string[] = [];
  for (const at of [0, Math.floor(text.length / 2 - WINDOW / 2), text.length - WINDOW]) {
    let s = at;
    let e = at + WINDOW;
    const sp = text.indexOf(' ', s);
    if (s > 0 && sp >= 0 && sp < s + 40) s = sp + 1;
    const ep = text.lastIndexOf(' ', e);
    if (e < text.length && ep > e - 40) e = ep;
    parts.push(text.slice(s, e));
  }
  return parts.join('\n');
}

/** Detect the language of a text: ISO 639-1 code ('' when unknown) and confidence. */
export async function detectLanguage(text: string): Promise<{ language: string; confidence: number }> {
  const d = await loadDetector();
  const r = d.detect(languageSample(text));
  return { language: r.language, confidence: r.language ? (r.getScores()[r.language] ?? 0) : 0 };
}

export function language(p: LanguageParams): Pick<Filter, 'filter' | 'prepare'> {
  let detector: Detector | undefined;
  const keep = new Set(p.keep.map((k) => k.toLowerCase()));
  return {
    async prepare() {
      detector ??= await loadDetector();
    },
    filter(doc: FilterDoc): FilterResult {
      if (!detector) throw new Error('language filter: prepare() was not awaited');
      const r = detector.detect(languageSample(doc.text));
      const lang = r.language;
      if (!lang) return drop('und');
      if (!keep.has(lang)) return drop(lang);
      const score = r.getScores()[lang] ?? 0;
      if (score < p.min_confidence) return drop('low_confidence');
      return true;
    },
  };
}
