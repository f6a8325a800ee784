/** DuckDB as an independent reader in tests. */
import { DuckDBInstance } from '@duckdb/node-api';

export interface Duck {
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Column names and rows as arrays (row objects would lose a column named "__proto__"). */
  table(sql: string): Promise<{ names: string[]; rows: unknown[][] }>;
  close(): void;
}

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  return {
    async rows(sql: string) {
      return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    },
    async table(sql: string) {
      const r = await con.runAndReadAll(sql);
      return { names: r.columnNames(), rows: r.getRowsJS() as unknown[][] };
    },
    close() {
      con.closeSync();
      instance.closeSync();
    },
  };
}

export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * First difference between our value and DuckDB's, or undefined. Numbers compare
 * across number/bigint; an object key missing on one side equals null (DuckDB
 * structs carry every key of the column's type).
 */
export function diff(ours: unknown, duck: unknown, path = ''): string | undefined {
  if (ours === undefined) ours = null;
  if (duck === undefined) duck = null;
  if (ours === null || duck === null)
    return ours === duck ? undefined : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
  if (
    (typeof ours === 'number' || typeof ours === 'bigint') &&
    (typeof duck === 'number' || typeof duck === 'bigint')
  ) {
    if (typeof ours === 'number' && !Number.isInteger(ours))
      return ours === Number(duck) ? undefined : `${path}: ${ours} vs ${duck}`;
    if (typeof duck === 'number' && !Number.isInteger(duck))
      return Number(ours) === duck ? undefined : `${path}: ${ours} vs ${duck}`;
    return BigInt(ours) === BigInt(duck) ? undefined : `${path}: ${ours} vs ${duck}`;
  }
  if (Array.isArray(ours) && Array.isArray(duck)) {
    if (ours.length !== duck.length) return `${path}: length ${ours.length} vs ${duck.length}`;
    for (let i = 0; i < ours.length; i++) {
      const d = diff(ours[i], duck[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof ours === 'object' && typeof duck === 'object' && !Array.isArray(ours) && !Array.isArray(duck)) {
    const o = ours as Record<string, unknown>;
    const k = duck as Record<string, unknown>;
    for (const key of new Set([...Object.keys(o), ...Object.keys(k)])) {
      const d = diff(o[key], k[key], `${path}.${key}`);
      if (d) return d;
    }
    return undefined;
  }
  return ours === duck ? undefined : `${path}: ours ${show(ours)} duckdb ${show(duck)}`;
}

function show(v: unknown): string {
  const s = typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
