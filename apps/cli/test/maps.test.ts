/**
 * Every command keeps a map the input declares a map (issue 15, point 3), in its kept and its rejected
 * rows: DuckDB writes MAP columns beside real Dolly text and reads each command's Parquet output back.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, shared } from '../../../tools/test/shared-data.js';
import { curate, tempDir } from './helpers.js';

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

const typesOf = async (glob: string) =>
  Object.fromEntries(
    (await duck(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${glob}'))`)).map((r) => [
      r.column_name,
      r.column_type,
    ]),
  );

describe.skipIf(!HAS_SHARED)('maps in every command', () => {
  it('convert, filter, dedup and decontam write MAP columns as MAP, kept and rejected rows alike', async () => {
    const dir = tempDir();
    const input = join(dir, 'dolly.parquet');
    await duck(
      `COPY (SELECT instruction || chr(10) || chr(10) || response AS text,
              MAP {'category': category} AS meta, {'tags': MAP {'n': length(response)}} AS info
            FROM read_json('${shared('instruct_pair', 'human_dolly15k.jsonl')}', format='newline_delimited') LIMIT 2000)
       TO '${input}' (FORMAT parquet)`,
    );
    const evals = join(dir, 'evals.parquet');
    await duck(`COPY (SELECT text FROM read_parquet('${input}') LIMIT 50) TO '${evals}' (FORMAT parquet)`);
    const cases: [string, string[]][] = [
      ['convert', ['--format', 'parquet']],
      ['filter', ['--filters', 'gopher_quality']],
      ['dedup', ['--threshold', '0.8']],
      ['decontam', ['--against', evals]],
    ];
    for (const [cmd, flags] of cases) {
      const out = join(dir, cmd);
      const r = await curate([cmd, input, '--out', out, ...flags, '--no-progress']);
      expect(r.stderr, cmd).toBe('');
      expect(r.code, cmd).toBe(0);
      const kept = await typesOf(join(out, '*.parquet'));
      expect(kept.meta, cmd).toBe('MAP(VARCHAR, VARCHAR)');
      expect(kept.info, cmd).toBe('STRUCT(tags MAP(VARCHAR, BIGINT))');
      if (cmd !== 'convert') {
        const rejected = await typesOf(join(out, 'rejected', '*.parquet'));
        expect(rejected.meta, `${cmd} rejected`).toBe('MAP(VARCHAR, VARCHAR)');
        expect(rejected.info, `${cmd} rejected`).toBe('STRUCT(tags MAP(VARCHAR, BIGINT))');
      }
    }
  });
});
