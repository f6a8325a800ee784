/**
 * A small byte-level BPE tokenizer.json (GPT-2 byte map, Llama 3 split pattern, a few merges) for
 * tests that need a model tokenizer without the real 9 MB ones: `extra` adds or overrides fields.
 */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out = new Array<string>(256);
  for (let i = 0; i < bs.length; i++) out[bs[i]] = String.fromCodePoint(cs[i]);
  return out;
}

export function tinyTokenizerJson(options: { eodId?: number; extra?: Record<string, unknown> } = {}): string {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, b) => {
    vocab[c] = b;
  });
  const merges: [string, string][] = [];
  const add = (a: string, b: string) => {
    if (vocab[a + b] === undefined) vocab[a + b] = Object.keys(vocab).length;
    merges.push([a, b]);
  };
  const sp = chars[32];
  add('t', 'h');
  add('th', 'e');
  add(sp, 'the');
  add('i', 'n');
  add('a', 'n');
  add('an', 'd');
  add(sp, 'and');
  add('e', 'r');
  add(sp, 'a');
  add('o', 'n');
  const next = Object.keys(vocab).length;
  return JSON.stringify({
    version: '1.0',
    added_tokens: [
      {
        id: options.eodId ?? next,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', dropout: null, unk_token: null, byte_fallback: false, ignore_merges: false, vocab, merges },
    ...options.extra,
  });
}
