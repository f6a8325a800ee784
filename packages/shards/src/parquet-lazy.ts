/**
 * `readParquetColumns` and `writeParquetColumns` behind a dynamic import: the Parquet code and the
 * hyparquet packages (~60 modules) load on the first call, not with the package. A worker thread
 * that only reads JSONL starts ~0.1 s sooner (the re-mix's threads spent ~0.45 s loading modules).
 */
import type * as columns from './parquet/columns.js';

export type { ParquetColumn } from './parquet/columns.js';

let mod: Promise<typeof columns> | undefined;
const load = () => {
  mod ??= import('./parquet/columns.js');
  return mod;
};

/** See `parquet/columns.ts`. */
export async function writeParquetColumns(
  ...args: Parameters<typeof columns.writeParquetColumns>
): ReturnType<typeof columns.writeParquetColumns> {
  return (await load()).writeParquetColumns(...args);
}

/** See `parquet/columns.ts`. */
export async function readParquetColumns(
  ...args: Parameters<typeof columns.readParquetColumns>
): ReturnType<typeof columns.readParquetColumns> {
  return (await load()).readParquetColumns(...args);
}
