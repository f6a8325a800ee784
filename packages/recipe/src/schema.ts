/**
 * The recipe's JSON Schema (draft-07): the single source of truth. The TypeScript
 * types (`Recipe`, `FilterParams`), the validator (ajv), the filter defaults and
 * the README reference are all derived from this object.
 *
 * `errorMessage` (a string) is the readable message for any failure of that
 * subschema; VS Code and yaml-language-server show it too.
 */

const fraction = { type: 'number', minimum: 0, maximum: 1 } as const;
const columnName = { type: 'string', minLength: 1 } as const;
/**
 * A pass-through column: its name, or `{ input_name: output_name }` to write it under another name
 * (needed when the input's column has the name of a provenance column curate writes).
 */
const passColumn = {
  anyOf: [
    columnName,
    {
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: columnName,
    },
  ],
  errorMessage: 'must be a column name or { input_column: output_name }',
} as const;
const columnList = {
  type: 'array',
  items: passColumn,
} as const;
const nameSchema = {
  type: 'string',
  minLength: 1,
  pattern: '^[A-Za-z0-9_.-]+$',
  errorMessage: 'must be a name of letters, digits, "_", "." or "-"',
} as const;
const pathList = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1 },
  description:
    "Files, directories (read recursively, known shard extensions only) or globs. Relative paths are resolved against the recipe file's directory; each must match at least one file.",
} as const;
const textSpec = {
  type: 'string',
  minLength: 1,
  description:
    'The document text: a column name (`text`, `a.b` for a nested field) or a template over columns such as `"{instruction}\\n\\n{response}"` (`{{` and `}}` are literal braces).',
} as const;

const ROLES = ['system', 'user', 'assistant', 'tool'] as const;
const roleList = (description: string, dflt: readonly string[]) =>
  ({
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { type: 'string', enum: ROLES },
    default: dflt,
    description,
  }) as const;

const conversation = {
  type: 'object',
  additionalProperties: false,
  description:
    "The source's documents are conversations: a column holding a list of turns. Each step sees the rendering chosen here; the output `text` is the chat `template` rendering and the column itself is written as a nested list of turns.",
  properties: {
    column: {
      ...columnName,
      default: 'messages',
      description:
        'Column holding the list of turns (a JSONL line that is a bare array of turns is read as the column `messages`).',
    },
    format: {
      type: 'string',
      enum: ['auto', 'openai', 'sharegpt'],
      default: 'auto',
      description:
        '`openai`: turns `{role, content}`; `sharegpt`: turns `{from, value}`; `auto`: whichever the first turn of each file has (one file may not mix them).',
    },
    roles: {
      type: 'object',
      additionalProperties: { type: 'string', enum: ROLES, errorMessage: `must be one of ${ROLES.join(', ')}` },
      propertyNames: { minLength: 1 },
      default: {},
      description:
        'More role names and what they are, e.g. `{ bot: assistant }`. Always known: system, user, assistant, tool, and ShareGPT human -> user, gpt -> assistant (also developer -> system, function/observation -> tool).',
    },
    template: {
      type: 'string',
      enum: ['chatml', 'plain'],
      default: 'chatml',
      description:
        'The rendering written as `text` and counted for token budgets and ratios: `chatml` (`<|im_start|>role\ncontent<|im_end|>` per turn) or `plain` (`role: content` lines).',
    },
    quality: roleList('Roles whose turns (their content, one paragraph each) the quality filters see.', ['assistant']),
    decontaminate: roleList(
      'Roles whose turns decontamination searches for eval n-grams (benchmark questions leak through prompts).',
      ['user'],
    ),
    dedup: roleList(
      'Roles whose turns exact and near dedup compare (default: all but system, so a system prompt shared by many rows makes no duplicates).',
      ['user', 'assistant', 'tool'],
    ),
  },
} as const;

const appliesTo = {
  description: 'Which documents the filter sees: `real`, `synthetic`, or a list of source names. Default: all.',
  anyOf: [
    { type: 'string', enum: ['real', 'synthetic'] },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
  errorMessage: 'must be real, synthetic or a non-empty list of source names',
} as const;

const ngramFracMap = {
  type: 'object',
  propertyNames: { pattern: '^[1-9][0-9]*$', errorMessage: 'keys must be n-gram sizes such as "2"' },
  additionalProperties: fraction,
} as const;

/** Per-language overrides (the filter's own parameters, checked by @curate/quality with recipe paths). */
const languages = {
  type: 'object',
  description: 'Per-language overrides (`{ zh: { min_words: 30 } }`); `false` drops a language default.',
  propertyNames: { pattern: '^[a-z]{2,3}$', errorMessage: 'keys must be language codes such as "zh"' },
  additionalProperties: { anyOf: [{ const: false }, { type: 'object' }] },
} as const;

const gopherQuality = {
  type: 'object',
  additionalProperties: false,
  description: 'Gopher quality rules (Rae et al. 2021, appendix A).',
  properties: {
    min_words: { type: 'integer', minimum: 0, default: 50, description: 'Drop documents with fewer words.' },
    max_words: { type: 'integer', minimum: 1, default: 100000, description: 'Drop documents with more words.' },
    min_mean_word_length: { type: 'number', minimum: 0, default: 3, description: 'Minimum mean word length.' },
    max_mean_word_length: { type: 'number', minimum: 0, default: 10, description: 'Maximum mean word length.' },
    max_symbol_word_ratio: { ...fraction, default: 0.1, description: 'Max ratio of `#` and `...` to words.' },
    max_bullet_lines_ratio: { ...fraction, default: 0.9, description: 'Max share of lines starting with a bullet.' },
    max_ellipsis_lines_ratio: { ...fraction, default: 0.3, description: 'Max share of lines ending with an ellipsis.' },
    min_alpha_words_ratio: {
      ...fraction,
      default: 0.8,
      description: 'Min share of words with at least one letter.',
    },
    min_stop_words: { type: 'integer', minimum: 0, default: 2, description: 'Min number of stop words present.' },
    stop_words: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      default: ['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'],
      description: 'The stop words counted by `min_stop_words`.',
    },
    languages,
    applies_to: appliesTo,
  },
} as const;

const gopherRepetition = {
  type: 'object',
  additionalProperties: false,
  description: 'Gopher repetition rules: duplicate lines, paragraphs and n-grams.',
  properties: {
    max_dup_line_frac: { ...fraction, default: 0.3, description: 'Max share of duplicate lines.' },
    max_dup_line_char_frac: {
      ...fraction,
      default: 0.2,
      description: 'Max share of characters in duplicate lines.',
    },
    max_dup_para_frac: { ...fraction, default: 0.3, description: 'Max share of duplicate paragraphs.' },
    max_dup_para_char_frac: {
      ...fraction,
      default: 0.2,
      description: 'Max share of characters in duplicate paragraphs.',
    },
    top_ngram_char_frac: {
      ...ngramFracMap,
      default: { '2': 0.2, '3': 0.18, '4': 0.16 },
      description: 'Per n: max share of characters covered by the most frequent n-gram. Replaces the whole map.',
    },
    dup_ngram_char_frac: {
      ...ngramFracMap,
      default: { '5': 0.15, '6': 0.14, '7': 0.13, '8': 0.12, '9': 0.11, '10': 0.1 },
      description: 'Per n: max share of characters covered by duplicate n-grams. Replaces the whole map.',
    },
    applies_to: appliesTo,
  },
} as const;

const c4 = {
  type: 'object',
  additionalProperties: false,
  description: 'C4 rules (Raffel et al. 2020). `filter` drops documents; `clean` drops offending lines.',
  properties: {
    mode: {
      type: 'string',
      enum: ['filter', 'clean'],
      default: 'clean',
      description: '`clean` removes failing lines as C4 did (default); `filter` drops the whole document instead.',
    },
    min_sentences: { type: 'integer', minimum: 0, default: 5, description: 'Min sentences per document.' },
    min_words_per_line: { type: 'integer', minimum: 0, default: 3, description: 'Min words per kept line.' },
    remove_javascript: { type: 'boolean', default: true, description: 'Lines mentioning javascript.' },
    remove_policy: { type: 'boolean', default: true, description: 'Cookie/terms/privacy policy lines.' },
    remove_lorem_ipsum: { type: 'boolean', default: true, description: 'Documents containing "lorem ipsum".' },
    remove_curly_bracket: { type: 'boolean', default: true, description: 'Documents containing `{`.' },
    terminal_punctuation: {
      type: 'boolean',
      default: true,
      description: 'Keep only lines ending in terminal punctuation.',
    },
    languages,
    applies_to: appliesTo,
  },
} as const;

const fineweb = {
  type: 'object',
  additionalProperties: false,
  description: 'FineWeb rules (Penedo et al. 2024).',
  properties: {
    min_punct_line_ratio: {
      ...fraction,
      default: 0.12,
      description: 'Min share of lines ending in punctuation.',
    },
    max_short_line_ratio: { ...fraction, default: 0.67, description: 'Max share of short lines.' },
    short_line_length: {
      type: 'integer',
      minimum: 1,
      default: 30,
      description: 'A line shorter than this many characters is short.',
    },
    max_dup_line_char_frac: {
      ...fraction,
      default: 0.01,
      description: 'Max share of characters in duplicate lines.',
    },
    max_newline_word_ratio: {
      type: 'number',
      minimum: 0,
      default: 0.3,
      description: 'Max ratio of newlines to words.',
    },
    languages,
    applies_to: appliesTo,
  },
} as const;

const length = {
  type: 'object',
  additionalProperties: false,
  description: 'Length bounds in words, tokens (the recipe tokenizer) or characters.',
  properties: {
    unit: { type: 'string', enum: ['words', 'tokens', 'chars'], default: 'words', description: 'Unit of `min`/`max`.' },
    min: { type: 'integer', minimum: 0, default: 1, description: 'Drop shorter documents.' },
    max: { type: 'integer', minimum: 1, description: 'Drop longer documents (default: no limit).' },
    applies_to: appliesTo,
  },
} as const;

const blocklist = {
  type: 'object',
  additionalProperties: false,
  description: 'Drop documents containing a listed word (whole word) or phrase (substring).',
  properties: {
    words: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'Whole words.' },
    phrases: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'Substrings.' },
    case_sensitive: { type: 'boolean', default: false, description: 'Match case.' },
    applies_to: appliesTo,
  },
} as const;

const language = {
  type: 'object',
  additionalProperties: false,
  description: 'Keep documents in the listed languages (bundled detector).',
  properties: {
    keep: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^[a-z]{2}$', errorMessage: 'must be an ISO 639-1 code such as "en"' },
      default: ['en'],
      description: 'ISO 639-1 codes to keep.',
    },
    min_confidence: { ...fraction, default: 0.5, description: 'Min detector confidence.' },
    applies_to: appliesTo,
  },
} as const;

const score = {
  type: 'object',
  additionalProperties: false,
  required: ['column'],
  description: 'Thresholds on an existing score column (LLM judge, reward model).',
  properties: {
    column: { ...columnName, description: 'The score column.' },
    min: { type: 'number', description: 'Keep scores >= min.' },
    max: { type: 'number', description: 'Keep scores <= max.' },
    missing: {
      type: 'string',
      enum: ['drop', 'keep'],
      default: 'drop',
      description: 'What to do with rows without a numeric score.',
    },
    applies_to: appliesTo,
  },
} as const;

const grounded = {
  type: 'object',
  additionalProperties: false,
  required: ['context'],
  description:
    'Share of numbers, named entities and content words of the response not supported by context and prompt.',
  properties: {
    context: { ...columnName, description: 'The context column.' },
    prompt: { ...columnName, description: 'The prompt column (optional).' },
    response: { ...columnName, description: "The response column (default: the source's text)." },
    max_unsupported: { ...fraction, default: 0.2, description: 'Drop above this unsupported share.' },
    min_response_words: {
      type: 'integer',
      minimum: 0,
      default: 5,
      description: 'Shorter responses are not judged (kept).',
    },
    applies_to: appliesTo,
  },
} as const;

const whereValue = {
  type: ['string', 'number', 'boolean'],
  errorMessage: 'must be a string, number or boolean',
} as const;
const whereList = {
  type: 'array',
  minItems: 1,
  items: whereValue,
} as const;

const where = {
  type: 'object',
  additionalProperties: false,
  required: ['column'],
  description:
    'Keep rows by the value of an input column; every condition given must hold (at least one). Reason `filter:where:COLUMN` (`filter:where:COLUMN:missing` for null).',
  properties: {
    column: { ...columnName, description: 'The input column.' },
    eq: { ...whereValue, description: 'Keep rows whose value equals this (a number matches numeric cells).' },
    ne: { ...whereValue, description: 'Keep rows whose value differs from this.' },
    in: { ...whereList, description: 'Keep rows whose value is in this list.' },
    not_in: { ...whereList, description: 'Keep rows whose value is not in this list.' },
    gt: { type: 'number', description: 'Keep values > this (numbers and numeric strings).' },
    gte: { type: 'number', description: 'Keep values >= this.' },
    lt: { type: 'number', description: 'Keep values < this.' },
    lte: { type: 'number', description: 'Keep values <= this.' },
    missing: {
      type: 'string',
      enum: ['drop', 'keep'],
      default: 'drop',
      description: 'What to do with rows whose value is null or absent.',
    },
    applies_to: appliesTo,
  },
} as const;

const pii = {
  type: 'object',
  additionalProperties: false,
  description:
    'Replace e-mail addresses, IP addresses and (opt-in) phone numbers by placeholders in the text and in every string column written with the row. Counted per source as `pii:rows`, `pii:email`, `pii:ipv4`, `pii:ipv6`, `pii:phone`.',
  properties: {
    email: { type: 'boolean', default: true, description: 'Replace e-mail addresses.' },
    ip: { type: 'boolean', default: true, description: 'Replace IPv4 and IPv6 addresses.' },
    phone: {
      type: 'boolean',
      default: false,
      description: 'Replace North American and `+`country phone numbers (off: a rule for all formats is not reliable).',
    },
    only_public_ips: {
      type: 'boolean',
      default: true,
      description: 'Keep private, loopback, link-local and documentation addresses.',
    },
    email_placeholder: { type: 'string', minLength: 1, default: '<EMAIL_ADDRESS>', description: 'E-mail replacement.' },
    ip_placeholder: { type: 'string', minLength: 1, default: '<IP_ADDRESS>', description: 'IP address replacement.' },
    phone_placeholder: { type: 'string', minLength: 1, default: '<PHONE_NUMBER>', description: 'Phone replacement.' },
    applies_to: appliesTo,
  },
} as const;

const custom = {
  type: 'object',
  additionalProperties: false,
  required: ['module'],
  description:
    'A filter from your own module: an export made with `defineFilter` (a Filter), or a function of `params` returning one. Reasons are `filter:NAME:DETAIL` with the name it was defined with.',
  properties: {
    module: {
      type: 'string',
      minLength: 1,
      description: "Path of an ES module (`.mjs`/`.js`), relative to the recipe file's directory.",
    },
    export: {
      type: 'string',
      minLength: 1,
      default: 'default',
      description: 'The export holding the filter or its factory.',
    },
    params: { type: 'object', description: 'Passed to a factory export (not allowed for a plain filter).' },
    applies_to: appliesTo,
  },
} as const;

const qualityItem = {
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  description: 'One filter: an object with exactly one key, the filter name, whose value holds its parameters.',
  properties: {
    gopher_quality: gopherQuality,
    gopher_repetition: gopherRepetition,
    c4,
    fineweb,
    length,
    blocklist,
    language,
    score,
    grounded,
    where,
    pii,
    custom,
  },
} as const;

export const recipeSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'curate recipe',
  description: 'A curate recipe: sources, quality filters, dedup, mixing targets and output.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'sources', 'output'],
  properties: {
    $schema: { type: 'string', description: 'JSON Schema reference for editors; ignored.' },
    name: { type: 'string', minLength: 1, description: 'Name of the mix.' },
    seed: {
      type: 'integer',
      minimum: 0,
      // 2^53 - 1: above it YAML/JSON numbers are no longer exact (9007199254740993 reads as 2^53)
      maximum: 9007199254740991,
      default: 0,
      description:
        'Seed for sampling and shuffling; same recipe and seed, same output. At most 2^53 - 1: larger integers are not exact in YAML/JSON.',
    },
    tokenizer: {
      type: 'string',
      anyOf: [{ enum: ['cl100k_base', 'o200k_base', 'words', 'bytes'] }, { pattern: '\\.json$' }],
      errorMessage: 'must be one of cl100k_base, o200k_base, words, bytes, or the path of a tokenizer.json',
      default: 'cl100k_base',
      description:
        "Tokenizer counting tokens for budgets, ratios and `length` in tokens, and writing `megatron`/`nanotron` output: an OpenAI encoding, `words`, `bytes`, or a model's Hugging Face `tokenizer.json` (a local path, relative to the recipe file; byte-level BPE such as Llama 3 or Qwen, SentencePiece-style BPE such as Llama 2, Mistral 7B or Gemma, or Unigram; never downloaded).",
    },
    target: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The budget. No budget: as much as the `max_epochs` caps allow.',
      properties: {
        tokens: { type: 'integer', minimum: 1, description: 'Budget in tokens.' },
        documents: { type: 'integer', minimum: 1, description: 'Budget in documents (instead of tokens).' },
        ratio: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          description:
            "Split of the budget between kinds, in the budget's unit (tokens unless `documents` is given). Give both (summing to 1) or one (the other is its complement).",
          properties: {
            real: { ...fraction, description: 'Share of real documents.' },
            synthetic: { ...fraction, description: 'Share of synthetic documents.' },
          },
        },
      },
    },
    sources: {
      type: 'array',
      minItems: 1,
      description: 'Input sources, each real or synthetic.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'paths'],
        properties: {
          name: { ...nameSchema, description: 'Unique source name (letters, digits, `_`, `.`, `-`).' },
          kind: { type: 'string', enum: ['real', 'synthetic'], description: '`real` or `synthetic`.' },
          paths: pathList,
          text: { ...textSpec, description: `${textSpec.description} Required unless \`conversation\` is given.` },
          conversation,
          generation: {
            type: 'integer',
            minimum: 0,
            description:
              'Generation depth: 0 = written by people, 1 = generated by a model from human material, 2+ = generated from generated data. Default: 0 for real, 1 for synthetic sources. Every output row carries it in the `generation` column (int64).',
          },
          id: { ...columnName, description: 'Column holding a stable document id (default: file and row).' },
          generator: {
            type: 'string',
            minLength: 1,
            description: 'The model that wrote a synthetic source (synthetic only); kept as provenance.',
          },
          generator_column: {
            ...columnName,
            description:
              "A column naming each row's generator, for a synthetic source whose rows come from several models (synthetic only): the row's `generator` value, and the manifest's lineage counts it; a row where it is null or missing takes `generator`.",
          },
          generation_column: {
            ...columnName,
            description:
              "A column holding each row's generation depth (synthetic only): an integer >= 1, written as the row's `generation`; null or missing takes `generation`. Any other value, or a row deeper than `guards.max_generation_depth`, is refused naming the file and row.",
          },
          share: {
            ...fraction,
            description:
              "Share of its kind's budget. Sources without a share split what the others leave, in proportion to their available tokens (documents).",
          },
          max_epochs: {
            type: 'number',
            exclusiveMinimum: 0,
            default: 1,
            description: 'Upsampling cap: whole epochs first, then a seeded subset for the fraction.',
          },
          columns: {
            ...columnList,
            description:
              'Extra columns passed through for this source: names, or `{ input: output_name }` to rename one (see `output.columns`).',
          },
        },
      },
    },
    quality: {
      type: 'array',
      default: [],
      description: 'Quality filters, applied in order.',
      items: qualityItem,
    },
    dedup: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Exact and near deduplication and decontamination against eval sets.',
      properties: {
        exact: {
          type: 'object',
          additionalProperties: false,
          description: 'Exact dedup on normalized text (NFKC, lower case, collapsed white space).',
          properties: {
            normalize: { type: 'boolean', default: true, description: 'Normalize before hashing.' },
            strip_punctuation: { type: 'boolean', default: false, description: 'Also strip punctuation.' },
          },
        },
        near: {
          type: 'object',
          additionalProperties: false,
          description: 'MinHash LSH near-dedup; one document per cluster is kept.',
          properties: {
            threshold: {
              type: 'number',
              exclusiveMinimum: 0,
              exclusiveMaximum: 1,
              default: 0.8,
              description: 'Jaccard similarity above which documents are duplicates.',
            },
            ngram: { type: 'integer', minimum: 1, default: 5, description: 'Shingle size.' },
            shingle: {
              type: 'string',
              enum: ['word', 'char'],
              default: 'word',
              description: 'Word or character shingles.',
            },
            num_perm: { type: 'integer', minimum: 16, maximum: 1024, default: 128, description: 'Permutations.' },
            seed: {
              type: 'integer',
              minimum: 0,
              maximum: 4294967295,
              default: 1,
              description:
                'MinHash permutation seed. Independent of the mix `seed`, so mixes that differ only in their seed share the stored signatures (and the same dedup verdicts).',
            },
            bands: {
              type: 'integer',
              minimum: 1,
              description: 'LSH bands (with `rows`; default: chosen for threshold).',
            },
            rows: { type: 'integer', minimum: 1, description: 'LSH rows per band (with `bands`).' },
            prefer: {
              type: 'string',
              enum: ['real', 'none'],
              default: 'real',
              description: '`real` keeps a real document over synthetic copies.',
            },
            score_column: { ...columnName, description: 'Higher score wins within a cluster (after `prefer`).' },
            verify: {
              type: 'boolean',
              default: true,
              description: 'Verify candidate pairs on exact shingle sets.',
            },
          },
        },
        decontaminate: {
          type: 'array',
          description: 'Eval sets: a document sharing an n-gram with one is dropped.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'paths', 'text'],
            properties: {
              name: { ...nameSchema, description: 'Unique eval set name (used in drop reasons).' },
              paths: pathList,
              text: textSpec,
              ngram: { type: 'integer', minimum: 1, default: 13, description: 'N-gram size in words.' },
            },
          },
        },
        scope: {
          type: 'string',
          enum: ['global', 'per_source'],
          default: 'global',
          description: '`global` dedups across sources; `per_source` within each source.',
        },
      },
    },
    guards: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Collapse-risk guards.',
      properties: {
        max_synthetic_fraction: {
          ...fraction,
          description: 'Refuse a mix whose synthetic share is above this (default: no limit).',
        },
        max_epochs_warning: {
          type: 'number',
          exclusiveMinimum: 0,
          default: 4,
          description: 'Warn when a source may be repeated more than this many epochs.',
        },
        max_generation_depth: {
          type: 'integer',
          minimum: 0,
          description:
            'Refuse a recipe with a source of a deeper `generation` than this, and a run with a row of a deeper `generation_column` value (default: no limit).',
        },
        max_recursive_share: {
          ...fraction,
          default: 0.25,
          description:
            'Warn when sources of generation >= 2 (model output trained on model output) exceed this share of the sampled tokens: model collapse compounds across generations of training on generated data (Shumailov et al., Nature 2024).',
        },
        min_diversity_ratio: {
          ...fraction,
          default: 0.7,
          description: 'Warn when synthetic/real distinct-n-gram diversity falls below this ratio.',
        },
      },
    },
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['dir'],
      description: 'Where and how to write the mix.',
      properties: {
        dir: {
          type: 'string',
          minLength: 1,
          description: "Output directory, relative to the recipe file's directory (`--out` overrides).",
        },
        format: {
          type: 'string',
          enum: ['parquet', 'arrow', 'jsonl', 'megatron', 'nanotron'],
          default: 'parquet',
          description:
            'Shard format. `megatron` (Megatron-LM indexed dataset, `.bin` + `.idx`) and `nanotron` (datatrove `.ds` + `.ds.index` + `.ds.metadata`) write token ids of the recipe `tokenizer` (a tokenizer.json), one EOD token after each document, one dataset per shard, and the provenance of every document in a sidecar `.provenance.parquet`.',
        },
        eod_token: {
          type: 'string',
          minLength: 1,
          description:
            "`megatron`/`nanotron`: the token appended after each document (default: the tokenizer's end-of-text token, e.g. `<|end_of_text|>` for Llama 3, `<|endoftext|>` for Qwen).",
        },
        loss_mask: {
          type: 'string',
          enum: ['assistant'],
          description:
            "`nanotron`: also write `.ds.loss` (datatrove's loss mask, one byte per token): `assistant` trains on the content of the assistant turns of conversation sources (their ChatML pieces are encoded one after another, so a reply starts at a token boundary as at inference) and masks the template, the other turns and the EOD; documents of other sources are trained on whole. Default: no loss file.",
        },
        token_size: {
          type: 'integer',
          enum: [2, 4],
          description:
            '`megatron`/`nanotron`: bytes per token id, 2 (uint16) or 4 (int32 for Megatron, uint32 for datatrove). Default: 2 when the vocabulary fits, else 4.',
        },
        compression: {
          type: 'string',
          enum: ['snappy', 'zstd', 'none', 'gzip'],
          description:
            'Default: `zstd` for parquet, `none` otherwise. parquet: snappy, zstd, none; arrow: zstd, none; jsonl: gzip, zstd, none.',
        },
        shard_size: {
          type: ['string', 'integer'],
          pattern: '^[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?)?[bB]$',
          minimum: 1,
          errorMessage: 'must be a size such as "128MB" or "1GiB", or a number of bytes',
          description:
            'Rotate shards at this size: "128MB" (KB/MB/GB = 1000^n, KiB/MiB/GiB = 1024^n) or bytes. Default 128MB unless `shard_rows` is given.',
        },
        shard_rows: { type: 'integer', minimum: 1, description: 'Rotate shards at this many rows.' },
        row_group_rows: { type: 'integer', minimum: 1, description: 'Rows per Parquet row group (default: writer).' },
        write_rejected: {
          type: 'boolean',
          default: false,
          description: 'Also write dropped rows with their reason to `rejected/`.',
        },
        columns: {
          ...columnList,
          default: [],
          description:
            'Extra pass-through columns: names, or `{ input: output_name }` to rename one. Provenance names (`id`, `text`, `source`, `kind`, `source_row`, `epoch`, `generator`, `generation`, `reason`) are refused, never overwritten: rename, e.g. `[instruction, { generator: input_generator }]`.',
        },
      },
    },
    report: { type: 'boolean', default: true, description: 'Write `report.html` beside the output.' },
  },
} as const;

export type RecipeSchema = typeof recipeSchema;
export const qualityItemSchema = qualityItem;
