import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll } from 'vitest';

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'curate-pipeline-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

export function writeRecipe(dir: string, name: string, yaml: string): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

/** sha256 of every output shard, by file name. */
export function shardBytes(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of readdirSync(dir).sort()) if (f.startsWith('shard-')) out[f] = readFileSync(join(dir, f));
  return out;
}

/** The rows of JSONL output shards (`shardBytes`), in shard order. */
export function jsonlRows(shards: Record<string, Buffer>): Record<string, unknown>[] {
  return Object.values(shards)
    .map((x) => x.toString('utf8'))
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

/** One hash over every shard and rejected shard of a manifest (name and sha256, in manifest order). */
export function outputHash(m: {
  output: { shards: { path: string; sha256: string }[]; rejected: { path: string; sha256: string }[] };
}): string {
  const h = createHash('sha256');
  for (const s of [...m.output.shards, ...m.output.rejected]) h.update(`${s.path} ${s.sha256}\n`);
  return h.digest('hex');
}
