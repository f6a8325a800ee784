/**
 * @curate/shards: read and write Parquet, Arrow IPC and JSONL shards as
 * streams of columnar batches; globs; shard rotation; atomic output dirs.
 */

export {
  type ChatTemplateName,
  type ConversationFormat,
  type ConversationOptions,
  type ConversationTemplate,
  type ConversationView,
  chatmlRanges,
  compileConversation,
  conversationView,
  DEFAULT_ROLE_NAMES,
  isConversation,
  ROLES,
  type Role,
  renderChat,
  roleText,
  type Turn,
} from './conversation.js';
export { detectFormat } from './detect.js';
export { columnsToRead, createFileWriter, extensionFor } from './formats.js';
export { inferColumns, mergeColumnSpec, mergeColumnSpecs, widenColumns } from './infer.js';
export { expandInputs, type InputOptions } from './inputs.js';
export { JSON_ARRAY_MAX_BYTES, jsonCell } from './jsonl.js';
export { BARE_ARRAY_COLUMN, DEFAULT_MAX_LINE_BYTES } from './lines.js';
export { columnShape, type Nested, type NestedField, shapeName } from './nested.js';
export type { OutputDir, PrepareOutputOptions, ProtectedPath } from './outdir.js';
export {
  abortOpenOutputs,
  inputReadingOutput,
  OUTPUT_MARKER,
  outputCommitting,
  prepareOutputDir,
  recoverOutputDir,
} from './outdir.js';
export type { SplitWriter } from './output.js';
export { createSplitWriter } from './output.js';
export { type ParquetColumn, readParquetColumns, writeParquetColumns } from './parquet-lazy.js';
export { inspectShard, readShard, readShards, type ShardInfo, shardColumns } from './read.js';
export {
  type AwsCredentials,
  type CredentialProvider,
  fileStamp,
  inputDigest,
  isRemote,
  joinRemote,
  loadS3Config,
  type ObjectInfo,
  resetS3Client,
  resetTransferCounts,
  type S3Config,
  type StorageDriver,
  storageFor,
  type TransferCounts,
  transferCounts,
  transferCountsOf,
} from './storage/index.js';
export { compileTemplate, type TextTemplate } from './template.js';
export {
  checkTextSpec,
  compileTextSpec,
  type FileTextTemplate,
  parseTextOption,
  type TextRule,
  type TextSpec,
  textRuleFor,
} from './text-spec.js';
export { readTokenDataset, type TokenDatasetOptions, type TokenDocument } from './token-reader.js';
export {
  createTokenShardWriter,
  MEGATRON_DTYPE,
  MEGATRON_MAGIC,
  type TokenFormat,
  type TokenShardWriter,
  type TokenShardWriterOptions,
  tokenFileExtensions,
  type WrittenTokenShard,
} from './tokens.js';
export * from './types.js';
export { Utf8Text, utf8Text } from './utf8-text.js';
export { warmCompressor } from './warm.js';
export { createShardWriter, sha256File } from './writer.js';
