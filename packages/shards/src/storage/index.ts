/** Storage drivers: local files and s3:// behind one interface (see types.ts). */
import { localStorage } from './local.js';
import { isS3Url, s3Storage } from './s3.js';
import type { StorageDriver } from './types.js';

export { loadS3Config, parseIni, type S3Config } from './aws-config.js';
export type { AwsCredentials, CredentialProvider } from './credentials.js';
export { localStorage } from './local.js';
export {
  isS3Url,
  parseS3Url,
  resetS3Client,
  resetTransferCounts,
  S3Client,
  s3Client,
  s3Storage,
  type TransferCounts,
  transferCounts,
  transferCountsOf,
} from './s3.js';
export type { ObjectInfo, StorageDriver } from './types.js';

/** True for paths a remote driver serves (`s3://...`). */
export function isRemote(path: string): boolean {
  return isS3Url(path);
}

/** The driver of a path: S3 for `s3://`, else local files. */
export function storageFor(path: string): StorageDriver {
  return isS3Url(path) ? s3Storage : localStorage;
}

/** Join a URL or path prefix and a relative name with one `/`. */
export function joinRemote(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

/**
 * Size and modification time of a file or object, for "did the input change between passes" checks
 * (S3: LastModified, whole seconds; the row hashes of the second pass catch a same-second rewrite).
 */
export async function fileStamp(path: string): Promise<{ size: number; mtimeMs: number }> {
  const info = await storageFor(path).stat(path);
  if (!info) {
    const e = new Error(`${path}: not found`) as NodeJS.ErrnoException;
    e.code = 'ENOENT';
    throw e;
  }
  return { size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * The content digest recorded for an input file: the sha256 of a local file; for an `s3://` object
 * its ETag as `s3-etag:<etag>` (hashing would fetch every byte, where a Parquet read fetches only the
 * used columns; the ETag changes whenever the content does).
 */
export async function inputDigest(path: string): Promise<string> {
  if (!isRemote(path)) return (await import('../writer.js')).sha256File(path);
  const info = await storageFor(path).stat(path);
  return info?.etag ? `s3-etag:${info.etag}` : '';
}
