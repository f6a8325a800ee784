export {
  CurateError,
  type CurateErrorOptions,
  type ErrorCategory,
  exitCodeFor,
  InputError,
  RecipeError,
  UsageError,
  withFile,
} from './errors.js';
export { buildHfTokenizer, loadHfTokenizer, type TokenEncoder, translatePattern } from './hf-tokenizer.js';
export { mapLimit } from './limit.js';
export { peakRssBytes } from './memory.js';
export { fnv1a32, Rng } from './rng.js';
export {
  hasUnspaced,
  isUnspaced,
  MAX_PIECE,
  SCRIPT_OF,
  type ScriptLanguage,
  scriptLanguage,
  segmentWords,
  WordSegmenter,
  wordSegmenter,
} from './segment.js';
export { type DropStage, dropReason, reasonKey, type SourceCounters, Stats } from './stats.js';
export {
  type Logger,
  type ProgressEvent,
  type ProgressListener,
  pipe,
  type RejectHandler,
  type Step,
  type StepContext,
  silentLogger,
} from './step.js';
export { closest, didYouMean, editDistance } from './suggest.js';
export {
  isTokenizerFile,
  loadTokenizer,
  loadTokenizerFile,
  TOKENIZER_NAMES,
  type Tokenizer,
  type TokenizerName,
} from './tokenizers.js';
export {
  type Batch,
  batchRows,
  collect,
  type DocumentColumns,
  dict,
  KINDS,
  type Kind,
  makeBatch,
  type Row,
  rowsToBatch,
  selectRows,
  type ValueType,
} from './types.js';
