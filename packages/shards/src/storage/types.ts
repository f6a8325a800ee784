/**
 * The storage contract of @curate/shards: local files and S3 (and S3-compatible stores) are drivers
 * behind this one interface, each proven by one conformance suite (test/storage.conformance.test.ts).
 * Paths are local paths or `s3://bucket/key` URLs; a driver only sees paths it owns.
 */

/** One stored object (file). */
export interface ObjectInfo {
  /** Absolute local path or `s3://bucket/key`. */
  path: string;
  size: number;
  /** Modification time in ms (S3: LastModified). */
  mtimeMs: number;
  /** S3 ETag (quotes removed); changes with the content. Absent for local files. */
  etag?: string;
}

export interface StorageDriver {
  readonly kind: 'local' | 's3';
  /** The object at `path`, or undefined when there is none. */
  stat(path: string): Promise<ObjectInfo | undefined>;
  /** Every object below the prefix `dir` (recursive), in byte order of path; S3 lists page by page. */
  list(dir: string): AsyncIterable<ObjectInfo>;
  /** Bytes [start, end) of `path` (end clipped to the size), verified to be complete. */
  read(path: string, start: number, end: number): Promise<Uint8Array>;
  /**
   * The bytes of `path` in [start, end) (default: to the end), in chunks (S3: one streamed GET,
   * resumed at the offset it reached after a fault).
   */
  stream(path: string, start?: number, end?: number): AsyncIterable<Uint8Array>;
  /** Write a whole small object (replacing it). */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /**
   * Write a whole small object only if there is none at `path` (S3: PutObject with
   * `If-None-Match: *`); false when one exists. For lock objects.
   */
  writeFileIfAbsent(path: string, data: Uint8Array | string): Promise<boolean>;
  /** Copy a local file to `path` (S3: multipart upload above the part size, aborted on failure). */
  upload(path: string, localFile: string): Promise<void>;
  /**
   * Copy the object `from` to `to` in the same store (S3: server-side CopyObject, or UploadPartCopy
   * parts above 5 GiB; no bytes pass through this process).
   */
  copy(from: string, to: string): Promise<void>;
  /** Remove the object (no error when missing). */
  remove(path: string): Promise<void>;
}
