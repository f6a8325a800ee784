import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as shards from '../src/index.js';
import { useTmp } from './helpers.js';

const tmp = useTmp();

describe('public API', () => {
  it('exports exactly the reviewed runtime names', () => {
    expect(Object.keys(shards).sort()).toEqual([
      'BARE_ARRAY_COLUMN',
      'DEFAULT_MAX_LINE_BYTES',
      'DEFAULT_ROLE_NAMES',
      'JSON_ARRAY_MAX_BYTES',
      'MEGATRON_DTYPE',
      'MEGATRON_MAGIC',
      'OUTPUT_MARKER',
      'ROLES',
      'Utf8Text',
      'abortOpenOutputs',
      'chatmlRanges',
      'checkTextSpec',
      'columnShape',
      'columnsToRead',
      'compileConversation',
      'compileTemplate',
      'compileTextSpec',
      'conversationView',
      'createFileWriter',
      'createShardWriter',
      'createSplitWriter',
      'createTokenShardWriter',
      'detectFormat',
      'expandInputs',
      'extensionFor',
      'fileStamp',
      'inferColumns',
      'inputDigest',
      'inputReadingOutput',
      'inspectShard',
      'isConversation',
      'isRemote',
      'joinRemote',
      'jsonCell',
      'loadS3Config',
      'mergeColumnSpec',
      'mergeColumnSpecs',
      'outputCommitting',
      'parseTextOption',
      'prepareOutputDir',
      'readParquetColumns',
      'readShard',
      'readShards',
      'readTokenDataset',
      'recoverOutputDir',
      'renderChat',
      'resetS3Client',
      'resetTransferCounts',
      'roleText',
      'sha256File',
      'shapeName',
      'shardColumns',
      'storageFor',
      'textRuleFor',
      'tokenFileExtensions',
      'transferCounts',
      'transferCountsOf',
      'utf8Text',
      'warmCompressor',
      'widenColumns',
      'writeParquetColumns',
    ]);
  });

  it('extensionFor names every output format and codec', () => {
    expect(shards.extensionFor('parquet', 'zstd')).toBe('.parquet');
    expect(shards.extensionFor('arrow')).toBe('.arrow');
    expect(shards.extensionFor('jsonl')).toBe('.jsonl');
    expect(shards.extensionFor('jsonl', 'gzip')).toBe('.jsonl.gz');
    expect(shards.extensionFor('jsonl', 'zstd')).toBe('.jsonl.zst');
  });

  it('readShards stops with the signal reason between batches', async () => {
    const p = join(await tmp(), 'a.jsonl');
    await writeFile(p, Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })).join('\n'));
    const ctl = new AbortController();
    const reason = new Error('stop here');
    const seen: number[] = [];
    const run = async () => {
      for await (const b of shards.readShards([p], { batchSize: 10, signal: ctl.signal })) {
        seen.push(b.offset!);
        if (seen.length === 2) ctl.abort(reason);
      }
    };
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(reason);
    expect(seen).toEqual([0, 10]);
  });
});
