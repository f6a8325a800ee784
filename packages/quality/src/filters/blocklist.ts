/**
 * Blocklist of words and phrases, matched in linear time with one Aho-Corasick
 * automaton (no user regular expressions, so nothing can backtrack).
 *
 * Text and patterns are normalised the same way: letters and digits are kept
 * (lower-cased unless `case_sensitive`), every other run of characters becomes one
 * space, and both ends are padded with a space. A pattern matches only at word
 * boundaries, so `ass` does not match "class", and the phrase "click here" matches
 * "Click   here!".
 */
import { RecipeError } from '@curate/core';
import { drop, type Filter, type FilterDoc, type FilterResult } from '../filter.js';
import { CHAR_CLASS } from '../text.js';

export interface BlocklistParams {
  words: string[];
  phrases: string[];
  case_sensitive: boolean;
}

export const BLOCKLIST_DEFAULTS: BlocklistParams = { words: [], phrases: [], case_sensitive: false };

const LETTER = 1;
const DIGIT = 8;
let LOWER: Uint16Array | undefined;

/** Lower-case mapping of the BMP (characters whose lower case is one UTF-16 unit). */
function lowerTable(): Uint16Array {
  if (!LOWER) {
    LOWER = new Uint16Array(65536);
    for (let c = 0; c < 65536; c++) {
      const l = c >= 0xd800 && c <= 0xdfff ? '' : String.fromCharCode(c).toLowerCase();
      LOWER[c] = l.length === 1 ? l.charCodeAt(0) : c;
    }
  }
  return LOWER;
}

/** Aho-Corasick over UTF-16 units; node 0 is the root. */
class Automaton {
  private next: Map<number, number>[] = [new Map()];
  private fail: Int32Array = new Int32Array(1);
  /** Pattern kind ending at a node (directly or through its failure chain): 0 none, 1 word, 2 phrase. */
  private out: Uint8Array = new Uint8Array(1);

  add(units: number[], kind: 1 | 2): void {
    let node = 0;
    for (const u of units) {
      let n = this.next[node].get(u);
      if (n === undefined) {
        n = this.next.length;
        this.next.push(new Map());
        this.next[node].set(u, n);
      }
      node = n;
    }
    if (this.out.length < this.next.length) {
      const o = new Uint8Array(this.next.length * 2);
      o.set(this.out);
      this.out = o;
    }
    if (this.out[node] === 0) this.out[node] = kind;
  }

  build(): void {
    const n = this.next.length;
    this.fail = new Int32Array(n);
    const out = new Uint8Array(n);
    out.set(this.out.subarray(0, n));
    this.out = out;
    const queue: number[] = [];
    for (const child of this.next[0].values()) queue.push(child);
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q];
      for (const [u, child] of this.next[node]) {
        let f = this.fail[node];
        while (f !== 0 && !this.next[f].has(u)) f = this.fail[f];
        const target = this.next[f].get(u);
        this.fail[child] = target !== undefined && target !== child ? target : 0;
        if (this.out[child] === 0) this.out[child] = this.out[this.fail[child]];
        queue.push(child);
      }
    }
  }

  /** The kind of the first pattern found in the unit stream, or 0. */
  step(node: number, u: number): number {
    let s = node;
    for (;;) {
      const n = this.next[s].get(u);
      if (n !== undefined) return n;
      if (s === 0) return 0;
      s = this.fail[s];
    }
  }

  kind(node: number): number {
    return this.out[node];
  }
}

function normalise(pattern: string, caseSensitive: boolean): number[] {
  const lower = lowerTable();
  const units = [32];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    const k = CHAR_CLASS[c];
    if (k === LETTER || k === DIGIT) units.push(caseSensitive ? c : lower[c]);
    else if (units[units.length - 1] !== 32) units.push(32);
  }
  if (units[units.length - 1] !== 32) units.push(32);
  return units;
}

export function blocklist(p: BlocklistParams, path: string): Filter['filter'] {
  const ac = new Automaton();
  let patterns = 0;
  const addAll = (list: string[], kind: 1 | 2, key: string) => {
    list.forEach((w, i) => {
      const units = normalise(w, p.case_sensitive);
      if (units.length <= 1) {
        throw new RecipeError(`has no letters or digits: ${JSON.stringify(w)}`, {
          path: `${path}.${key}[${i}]`,
          code: 'E_QUALITY_PARAM',
        });
      }
      ac.add(units, kind);
      patterns++;
    });
  };
  addAll(p.words, 1, 'words');
  addAll(p.phrases, 2, 'phrases');
  ac.build();
  const lower = lowerTable();
  const cs = p.case_sensitive;
  return (doc: FilterDoc): FilterResult => {
    if (patterns === 0) return true;
    const text = doc.text;
    let node = ac.step(0, 32);
    let prevSpace = true;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const k = CHAR_CLASS[c];
      let u: number;
      if (k === LETTER || k === DIGIT) {
        u = cs ? c : lower[c];
        prevSpace = false;
      } else {
        if (prevSpace) continue;
        u = 32;
        prevSpace = true;
      }
      node = ac.step(node, u);
      const kind = ac.kind(node);
      if (kind !== 0) return drop(kind === 1 ? 'word' : 'phrase');
    }
    if (!prevSpace) {
      node = ac.step(node, 32);
      const kind = ac.kind(node);
      if (kind !== 0) return drop(kind === 1 ? 'word' : 'phrase');
    }
    return true;
  };
}
