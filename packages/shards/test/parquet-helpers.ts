/** Test helpers for the Parquet driver: DuckDB as the independent reader/writer, value comparison. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface Duck {
  con: DuckDBConnection;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): void;
}

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  return {
    con,
    async rows(sql: string) {
      const reader = await con.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    },
    close() {
      con.closeSync();
      instance.closeSync();
    },
  };
}

/** SQL string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Compare a value we read with DuckDB's JS value. Returns a description of the
 * first difference, or undefined when equal. Numbers compare across
 * number/bigint; bytes across Buffer/Uint8Array; dates by time.
 */
export function diffValue(ours: unknown, duck: unknown, path = ''): string | undefined {
  if (ours === null || ours === undefined || duck === null || duck === undefined) {
    return (ours ?? null) === (duck ?? null) ? undefined : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
  }
  if (
    (typeof ours === 'number' || typeof ours === 'bigint') &&
    (typeof duck === 'number' || typeof duck === 'bigint')
  ) {
    if (typeof ours === typeof duck)
      return ours === duck || (Number.isNaN(ours) && Number.isNaN(duck))
        ? undefined
        : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
    return BigInt(ours) === BigInt(duck) ? undefined : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
  }
  if (ours instanceof Uint8Array && duck instanceof Uint8Array) {
    return Buffer.from(ours).equals(Buffer.from(duck)) ? undefined : `${path}: bytes differ`;
  }
  if (ours instanceof Date && duck instanceof Date) {
    return ours.getTime() === duck.getTime()
      ? undefined
      : `${path}: ours ${ours.toISOString()} duckdb ${duck.toISOString()}`;
  }
  if (Array.isArray(ours) && Array.isArray(duck)) {
    if (ours.length !== duck.length) return `${path}: length ${ours.length} vs ${duck.length}`;
    for (let i = 0; i < ours.length; i++) {
      const d = diffValue(ours[i], duck[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof ours === 'object' && typeof duck === 'object') {
    const o = ours as Record<string, unknown>;
    const k = duck as Record<string, unknown>;
    const keys = new Set([...Object.keys(o), ...Object.keys(k)]);
    for (const key of keys) {
      const d = diffValue(o[key], k[key], `${path}.${key}`);
      if (d) return d;
    }
    return undefined;
  }
  return ours === duck ? undefined : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  try {
    return JSON.stringify(v)?.slice(0, 80) ?? String(v);
  } catch {
    return String(v);
  }
}
