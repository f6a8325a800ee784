/** Storage drivers: local files and s3:// behind one interface (see types.ts). */
import { localStorage } from './local.js';
import { isS3Url, s3Storage } from './s3.js';
import type { StorageDriver } from './types.js';

export { type S3Config, loadS3Config, parseIni } from './aws-config.js';
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
