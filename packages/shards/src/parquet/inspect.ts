/** Footer metadata of a Parquet file for `curate inspect`. */
import { parquetSchema, type SchemaElement, type SchemaTree } from 'hyparquet';
import { openParquet } from './source.js';

export interface ParquetColumnInfo {
  name: string;
  /** Physical and logical type as text, e.g. `BYTE_ARRAY/STRING`, `INT64`, `LIST<INT32>`. */
  type: string;
}

export interface ParquetRowGroupInfo {
  rows: number;
  compressedBytes: number;
  uncompressedBytes: number;
  codecs: string[];
}

export interface ParquetInfo {
  rows: number;
  columns: ParquetColumnInfo[];
  rowGroups: ParquetRowGroupInfo[];
  codecs: string[];
  createdBy?: string;
  encodings?: string[];
}

function leafType(el: SchemaElement): string {
  const logical = el.logical_type?.type ?? el.converted_type;
  const physical = el.type === 'FIXED_LEN_BYTE_ARRAY' ? `FIXED_LEN_BYTE_ARRAY(${el.type_length})` : (el.type ?? '?');
  return logical && logical !== physical ? `${physical}/${logical}` : physical;
}

/** A readable type for a top-level column, nested ones as LIST<...>, MAP<k,v>, STRUCT<a: ..>. */
function typeText(node: SchemaTree): string {
  const el = node.element;
  const logical = el.logical_type?.type ?? el.converted_type;
  let text: string;
  if (!node.children.length) {
    text = leafType(el);
  } else if (logical === 'LIST') {
    const repeated = node.children[0];
    const elem = repeated.children.length === 1 ? repeated.children[0] : repeated;
    text = `LIST<${typeText(elem)}>`;
  } else if (logical === 'MAP' || logical === 'MAP_KEY_VALUE') {
    const kv = node.children[0];
    text = `MAP<${kv.children.map(typeText).join(', ')}>`;
  } else {
    text = `STRUCT<${node.children.map((c) => `${c.element.name}: ${typeText(c)}`).join(', ')}>`;
  }
  return el.repetition_type === 'REPEATED' ? `REPEATED ${text}` : text;
}

/** Rows, schema, row groups, codecs, encodings and writer of a Parquet file (footer only). */
export async function inspectParquet(path: string): Promise<ParquetInfo> {
  const pq = await openParquet(path);
  try {
    const md = pq.metadata;
    const schema = parquetSchema(md);
    const allCodecs = new Set<string>();
    const allEncodings = new Set<string>();
    const rowGroups = md.row_groups.map((rg) => {
      const codecs = new Set<string>();
      let compressed = 0;
      let uncompressed = 0;
      for (const col of rg.columns) {
        const m = col.meta_data;
        if (!m) continue;
        codecs.add(m.codec);
        allCodecs.add(m.codec);
        for (const e of m.encodings) allEncodings.add(e);
        compressed += Number(m.total_compressed_size);
        uncompressed += Number(m.total_uncompressed_size);
      }
      return {
        rows: Number(rg.num_rows),
        compressedBytes: compressed,
        uncompressedBytes: uncompressed,
        codecs: [...codecs],
      };
    });
    return {
      rows: Number(md.num_rows),
      columns: schema.children.map((c) => ({ name: c.element.name, type: typeText(c) })),
      rowGroups,
      codecs: [...allCodecs],
      ...(md.created_by ? { createdBy: md.created_by } : {}),
      encodings: [...allEncodings],
    };
  } finally {
    await pq.close();
  }
}
