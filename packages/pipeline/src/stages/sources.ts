import type { Kind } from '@curate/core';
import type { ColumnSpec, InputFile } from '@curate/shards';
import type { RowReasons } from '../reasons.js';
import type { FileScan } from '../scan.js';

/** Per-source state assembled after pass 1. */
export interface SourceState {
  index: number;
  name: string;
  kind: Kind;
  generator: string | null;
  /** Generation depth (the `generation` column, lineage.ts). */
  generation: number;
  /** The source's lineage columns, when its rows carry their own depth or generator. */
  generationColumn?: string;
  generatorColumn?: string;
  files: InputFile[];
  scans: FileScan[];
  /** First source row of each file. */
  fileBase: number[];
  rowsRead: number;
  /** First global document index of this source. */
  docBase: number;
  /** source row -> drop reason (a code per row into a table of distinct reasons). */
  reasons: RowReasons;
  /** Available source rows, ascending, and their tokens. */
  avail: Uint32Array;
  availTokens: Uint32Array;
  availChars: Uint32Array;
  columns: ColumnSpec[];
}
