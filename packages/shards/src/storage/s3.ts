/**
 * The S3 storage driver: `s3://bucket/key` over the S3 REST API (AWS, MinIO, R2, s3rver, ...),
 * requests signed with aws4fetch's SigV4 signer and sent with Node's fetch.
 *
 * Faults: every request is retried with full-jitter exponential backoff on 500/502/503/504/429,
 * SlowDown/InternalError/RequestTimeout, connection resets, timeouts and truncated bodies (a body
 * shorter than its Content-Length); streamed GETs resume at the byte they reached, pinned to the
 * object's ETag. After the last attempt: one line naming the URL (E_S3_UNAVAILABLE, a runtime error).
 * Client errors are not retried: a missing object is E_NOT_FOUND, others (AccessDenied, NoSuchBucket)
 * E_S3 with the service's code and message.
 */
import { open } from 'node:fs/promises';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { CurateError, InputError } from '@curate/core';
import { AwsV4Signer } from 'aws4fetch';
import { loadS3Config, type S3Config } from './aws-config.js';
import type { ObjectInfo, StorageDriver } from './types.js';

/** Tunables, read from the environment once per client (tests shorten them). */
interface Tuning {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Abort a request when no byte arrives for this long. */
  idleMs: number;
  partBytes: number;
  partConcurrency: number;
  /** Largest single CopyObject (S3's limit: 5 GiB); larger objects are copied in parts of this size. */
  copyPartBytes: number;
  listPageKeys: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}

function tuning(env: NodeJS.ProcessEnv): Tuning {
  return {
    attempts: envInt(env, 'CURATE_S3_ATTEMPTS', 6),
    baseDelayMs: envInt(env, 'CURATE_S3_RETRY_BASE_MS', 200),
    maxDelayMs: envInt(env, 'CURATE_S3_RETRY_MAX_MS', 10_000),
    idleMs: envInt(env, 'CURATE_S3_TIMEOUT_MS', 60_000),
    partBytes: Math.max(envInt(env, 'CURATE_S3_PART_BYTES', 16 << 20), 1024),
    partConcurrency: envInt(env, 'CURATE_S3_UPLOAD_CONCURRENCY', 4),
    copyPartBytes: Math.max(envInt(env, 'CURATE_S3_COPY_PART_BYTES', 5 * 1024 ** 3), 1024),
    listPageKeys: Math.min(envInt(env, 'CURATE_S3_LIST_PAGE', 1000), 1000),
  };
}

/** `s3://bucket/key` -> bucket and key (the key may be empty: the whole bucket). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new InputError('not a valid s3:// URL (expected s3://bucket/key)', { code: 'E_S3_URL', file: url });
  }
  return { bucket: m[1], key: m[2] ?? '' };
}

export function isS3Url(path: string): boolean {
  return path.startsWith('s3://');
}

/** Counters per object URL: bytes received, requests and retries (for the manifest and tests). */
export interface TransferCounts {
  bytesFetched: number;
  bytesSent: number;
  requests: number;
  retries: number;
}

const counts = new Map<string, TransferCounts>();
/** In a worker thread: the counts already sent to the main thread. */
const sent = new Map<string, TransferCounts>();

function countsIn(map: Map<string, TransferCounts>, url: string): TransferCounts {
  let c = map.get(url);
  if (!c) {
    c = { bytesFetched: 0, bytesSent: 0, requests: 0, retries: 0 };
    map.set(url, c);
  }
  return c;
}

function addCounts(to: TransferCounts, d: TransferCounts): void {
  to.bytesFetched += d.bytesFetched;
  to.bytesSent += d.bytesSent;
  to.requests += d.requests;
  to.retries += d.retries;
}

/**
 * Worker threads (the pipeline reads inputs in them) send their counts to the main thread, so
 * `transferCounts` there covers the whole process: after each request and each finished stream.
 */
const channel = new BroadcastChannel('curate:s3-transfer-counts');
channel.unref();
if (isMainThread) {
  channel.onmessage = (e) => {
    for (const [url, d] of (e as { data: [string, TransferCounts][] }).data) addCounts(countsIn(counts, url), d);
  };
}

function countsOf(url: string): TransferCounts {
  return countsIn(counts, url);
}

/** In a worker thread: send what changed since the last call to the main thread. */
function flushCounts(): void {
  if (isMainThread) return;
  const data: [string, TransferCounts][] = [];
  for (const [url, c] of counts) {
    const was = countsIn(sent, url);
    const d = {
      bytesFetched: c.bytesFetched - was.bytesFetched,
      bytesSent: c.bytesSent - was.bytesSent,
      requests: c.requests - was.requests,
      retries: c.retries - was.retries,
    };
    if (d.bytesFetched || d.bytesSent || d.requests || d.retries) {
      data.push([url, d]);
      addCounts(was, d);
    }
  }
  if (data.length) channel.postMessage(data);
}

/** Transfer counts of exactly one object URL, or undefined when it was never touched. */
export function transferCountsOf(url: string): TransferCounts | undefined {
  const c = counts.get(url);
  return c && { ...c };
}

/** Transfer counts summed over every URL starting with `prefix` (all URLs without one); worker threads' included. */
export function transferCounts(prefix?: string): TransferCounts {
  const sum: TransferCounts = { bytesFetched: 0, bytesSent: 0, requests: 0, retries: 0 };
  for (const [url, c] of counts) {
    if (prefix !== undefined && !url.startsWith(prefix)) continue;
    sum.bytesFetched += c.bytesFetched;
    sum.bytesSent += c.bytesSent;
    sum.requests += c.requests;
    sum.retries += c.retries;
  }
  return sum;
}

export function resetTransferCounts(): void {
  counts.clear();
  sent.clear();
}

/** A failure worth another attempt (5xx, throttling, a reset or truncated body). */
class Retryable extends Error {}

const RETRY_CODES = new Set([
  'SlowDown',
  'InternalError',
  'RequestTimeout',
  'ServiceUnavailable',
  'RequestTimeTooSkewed',
]);

/** Answers that mean the temporary keys are no longer valid. */
const EXPIRED_CODES = new Set(['ExpiredToken', 'TokenRefreshRequired']);

function xmlTag(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? decodeXml(m[1]) : undefined;
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      case 'amp':
        return '&';
      default:
        return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    }
  });
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

function isNetworkError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof TypeError) return true; // fetch failed / terminated
  const code = (e as NodeJS.ErrnoException).code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
  return Boolean(code && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_)/.test(code)) || e.name === 'AbortError';
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause as NodeJS.ErrnoException | undefined;
    return cause?.code ? `${e.message} (${cause.code})` : e.message;
  }
  return String(e);
}

interface SendOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export class S3Client {
  readonly config: S3Config;
  readonly tune: Tuning;

  constructor(config: S3Config, env: NodeJS.ProcessEnv = process.env) {
    this.config = config;
    this.tune = tuning(env);
  }

  /** The HTTP URL of an object (path-style with an endpoint, virtual-hosted on AWS). */
  httpUrl(bucket: string, key: string, query?: Record<string, string>): string {
    const path = key
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    const base = this.config.endpoint
      ? `${this.config.endpoint}/${bucket}/${path}`
      : `https://${bucket}.s3.${this.config.region}.amazonaws.com/${path}`;
    if (!query) return base;
    const qs = Object.entries(query)
      .map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
      .join('&');
    return `${base}?${qs}`;
  }

  private delay(attempt: number): Promise<void> {
    const cap = Math.min(this.tune.maxDelayMs, this.tune.baseDelayMs * 2 ** attempt);
    return new Promise((r) => setTimeout(r, Math.random() * cap));
  }

  /**
   * Run `fn` (one attempt: request and body) with retries; `url` is the s3:// URL errors name.
   * `what` is the operation (`GET`, `PUT part 3`, ...).
   */
  async retry<T>(url: string, what: string, fn: (signal: AbortSignal, touch: () => void) => Promise<T>): Promise<T> {
    const c = countsOf(url);
    let last: unknown;
    for (let attempt = 0; attempt < this.tune.attempts; attempt++) {
      if (attempt > 0) {
        c.retries++;
        await this.delay(attempt);
      }
      const ac = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => ac.abort(new Retryable(`no data for ${this.tune.idleMs} ms`)), this.tune.idleMs);
      };
      touch();
      try {
        c.requests++;
        return await fn(ac.signal, touch);
      } catch (e) {
        const err = ac.signal.aborted && ac.signal.reason instanceof Retryable ? ac.signal.reason : e;
        if (!(err instanceof Retryable) && !isNetworkError(err)) throw err;
        last = err;
      } finally {
        clearTimeout(timer);
        flushCounts();
      }
    }
    throw new CurateError(
      `S3 ${what} failed after ${this.tune.attempts} attempts: ${describe(last)} (check the endpoint, network and credentials; CURATE_S3_ATTEMPTS sets the attempts)`,
      { code: 'E_S3_UNAVAILABLE', file: url, cause: last },
    );
  }

  /** The keys to sign with: static ones, or the provider's (refreshed before they expire). */
  private async keys(): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
    const c = this.config;
    if (c.credentials) return c.credentials();
    if (!c.accessKeyId || !c.secretAccessKey) {
      throw new InputError('no S3 credentials', { code: 'E_S3_CREDENTIALS' });
    }
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
  }

  /** One signed request; throws Retryable on 5xx/429/throttling, an E_S3 error on other failures. */
  async send(
    method: string,
    url: string,
    bucket: string,
    key: string,
    options: SendOptions,
    signal: AbortSignal,
  ): Promise<Response> {
    const { region } = this.config;
    const { accessKeyId, secretAccessKey, sessionToken } = await this.keys();
    const signer = new AwsV4Signer({
      method,
      url: this.httpUrl(bucket, key, options.query),
      headers: options.headers,
      body: options.body,
      accessKeyId,
      secretAccessKey,
      sessionToken,
      region,
      service: 's3',
    });
    const req = await signer.sign();
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: options.body,
      signal,
      redirect: 'manual',
    });
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    const code = xmlTag(text, 'Code');
    if (this.config.credentials && code && EXPIRED_CODES.has(code)) {
      // temporary keys that expired before their stated expiry (clock skew, revoked session): new ones
      await this.config.credentials({ refresh: true });
      throw new Retryable(`HTTP ${res.status} ${code}`);
    }
    if (
      res.status >= 500 ||
      res.status === 429 ||
      (code && RETRY_CODES.has(code)) ||
      code === 'ConditionalRequestConflict'
    ) {
      throw new Retryable(`HTTP ${res.status}${code ? ` ${code}` : ''}`);
    }
    if (res.status === 404 && (code === 'NoSuchKey' || code === undefined || method === 'HEAD')) {
      throw new InputError('file not found', { code: 'E_NOT_FOUND', file: url });
    }
    if (res.status === 416) throw new RangeError(`range not satisfiable for ${url}`);
    const msg = xmlTag(text, 'Message');
    throw new InputError(`S3 ${method} refused: HTTP ${res.status}${code ? ` ${code}` : ''}${msg ? `: ${msg}` : ''}`, {
      code: 'E_S3',
      file: url,
    });
  }

  /** The body of `res`, checked against its Content-Length (a short body is Retryable). */
  async body(res: Response, url: string, touch: () => void): Promise<Uint8Array> {
    const expected = Number(res.headers.get('content-length') ?? Number.NaN);
    const chunks: Uint8Array[] = [];
    let n = 0;
    const c = countsOf(url);
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        chunks.push(chunk);
        n += chunk.length;
        c.bytesFetched += chunk.length;
      }
    }
    if (Number.isFinite(expected) && n !== expected) {
      throw new Retryable(`truncated body: ${n} of ${expected} bytes`);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(n);
    let at = 0;
    for (const ch of chunks) {
      out.set(ch, at);
      at += ch.length;
    }
    return out;
  }

  async head(url: string): Promise<ObjectInfo | undefined> {
    const { bucket, key } = parseS3Url(url);
    if (!key || key.endsWith('/')) return undefined;
    try {
      return await this.retry(url, 'HEAD', async (signal) => {
        const res = await this.send('HEAD', url, bucket, key, {}, signal);
        return infoFrom(url, res.headers);
      });
    } catch (e) {
      if (e instanceof InputError && e.code === 'E_NOT_FOUND') return undefined;
      throw e;
    }
  }

  /** Objects under the prefix `prefix` of `url`'s bucket, page after page (ListObjectsV2). */
  async *list(url: string): AsyncGenerator<ObjectInfo> {
    const { bucket, key: prefix } = parseS3Url(url);
    let token: string | undefined;
    const root = `s3://${bucket}/`;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': String(this.tune.listPageKeys) };
      if (token) query['continuation-token'] = token;
      const xml = await this.retry(url, 'LIST', async (signal, touch) => {
        const res = await this.send('GET', url, bucket, '', { query }, signal);
        return new TextDecoder().decode(await this.body(res, url, touch));
      });
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const k = xmlTag(m[1], 'Key') ?? '';
        if (k.endsWith('/')) continue; // "directory" placeholder objects
        const etag = xmlTag(m[1], 'ETag')?.replace(/"/g, '');
        const info: ObjectInfo = {
          path: root + k,
          size: Number(xmlTag(m[1], 'Size') ?? 0),
          mtimeMs: Date.parse(xmlTag(m[1], 'LastModified') ?? '') || 0,
        };
        if (etag) info.etag = etag;
        yield info;
      }
      token = xmlTag(xml, 'IsTruncated') === 'true' ? xmlTag(xml, 'NextContinuationToken') : undefined;
    } while (token);
  }

  async read(url: string, start: number, end: number): Promise<Uint8Array> {
    const { bucket, key } = parseS3Url(url);
    if (end <= start) return new Uint8Array(0);
    try {
      return await this.retry(url, `GET bytes ${start}-${end - 1}`, async (signal, touch) => {
        const res = await this.send(
          'GET',
          url,
          bucket,
          key,
          { headers: { range: `bytes=${start}-${end - 1}` } },
          signal,
        );
        const body = await this.body(res, url, touch);
        // a server that ignores Range answers 200 with the whole object
        if (res.status === 200 && (start > 0 || body.length > end - start)) return body.subarray(start, end);
        return body;
      });
    } catch (e) {
      if (e instanceof RangeError) return new Uint8Array(0);
      throw e;
    }
  }

  async *stream(url: string, start = 0, end?: number): AsyncGenerator<Uint8Array> {
    const { bucket, key } = parseS3Url(url);
    const c = countsOf(url);
    let pos = start;
    if (end !== undefined && end <= start) return;
    let total: number | undefined;
    let etag: string | undefined;
    let faults = 0; // consecutive faults without progress
    for (;;) {
      if (total !== undefined && pos >= total) return;
      // one attempt = open at `pos`; the body is consumed below, and a fault there reopens at the new `pos`
      let res: Response;
      let ac = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => ac.abort(new Retryable(`no data for ${this.tune.idleMs} ms`)), this.tune.idleMs);
      };
      try {
        res = await this.retry(url, `GET from byte ${pos}`, async (signal) => {
          const headers: Record<string, string> = { range: `bytes=${pos}-${end !== undefined ? end - 1 : ''}` };
          if (etag) headers['if-match'] = `"${etag}"`;
          ac = new AbortController();
          const onAbort = () => ac.abort(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          try {
            return await this.send('GET', url, bucket, key, { headers }, ac.signal);
          } finally {
            signal.removeEventListener('abort', onAbort);
          }
        });
      } catch (e) {
        if (e instanceof RangeError) return; // start at or past the end
        throw e;
      }
      if (total === undefined) {
        const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
        total = range ? Number(range[1]) : pos + Number(res.headers.get('content-length') ?? 0);
        if (end !== undefined) total = Math.min(total, end);
        etag = res.headers.get('etag')?.replace(/"/g, '') || undefined;
      }
      touch();
      const atStart = pos;
      let failure: unknown;
      try {
        let skip = res.status === 200 ? pos : 0; // Range ignored: skip what we have
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          touch();
          c.bytesFetched += chunk.length;
          let ch = chunk;
          if (skip) {
            const s = Math.min(skip, ch.length);
            skip -= s;
            ch = ch.subarray(s);
            if (!ch.length) continue;
          }
          if (pos + ch.length > total) ch = ch.subarray(0, total - pos);
          pos += ch.length;
          yield ch;
          if (pos >= total) break;
        }
        if (pos < total) failure = new Retryable(`truncated body: ended at byte ${pos} of ${total}`);
      } catch (e) {
        const err = ac.signal.aborted && ac.signal.reason instanceof Retryable ? ac.signal.reason : e;
        if (!(err instanceof Retryable) && !isNetworkError(err)) throw err;
        failure = err;
      } finally {
        clearTimeout(timer);
        ac.abort();
        flushCounts();
      }
      if (failure === undefined) return;
      // resume at `pos`: counted as a retry; give up after `attempts` faults in a row without progress
      c.retries++;
      faults = pos > atStart ? 1 : faults + 1;
      if (faults >= this.tune.attempts) {
        throw new CurateError(`S3 GET failed after ${faults} attempts: ${describe(failure)}`, {
          code: 'E_S3_UNAVAILABLE',
          file: url,
          cause: failure,
        });
      }
      await this.delay(faults);
    }
  }

  async put(url: string, data: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Url(url);
    await this.retry(url, 'PUT', async (signal, touch) => {
      const res = await this.send('PUT', url, bucket, key, { body: data }, signal);
      await this.body(res, url, touch);
      countsOf(url).bytesSent += data.length;
    });
  }

  /** PutObject with `If-None-Match: *`: false when the object exists (412; 409 is a concurrent write, retried). */
  async putIfAbsent(url: string, data: Uint8Array): Promise<boolean> {
    const { bucket, key } = parseS3Url(url);
    try {
      await this.retry(url, 'PUT if absent', async (signal, touch) => {
        const res = await this.send('PUT', url, bucket, key, { body: data, headers: { 'if-none-match': '*' } }, signal);
        await this.body(res, url, touch);
        countsOf(url).bytesSent += data.length;
      });
      return true;
    } catch (e) {
      if (e instanceof InputError && e.code === 'E_S3' && /HTTP 412\b/.test(e.message)) return false;
      throw e;
    }
  }

  async remove(url: string): Promise<void> {
    const { bucket, key } = parseS3Url(url);
    try {
      await this.retry(url, 'DELETE', async (signal, touch) => {
        const res = await this.send('DELETE', url, bucket, key, {}, signal);
        await this.body(res, url, touch);
      });
    } catch (e) {
      if (e instanceof InputError && e.code === 'E_NOT_FOUND') return;
      throw e;
    }
  }

  /** Upload a local file: one PUT up to the part size, else a multipart upload that is aborted on any failure. */
  async upload(url: string, localFile: string): Promise<void> {
    const fh = await open(localFile, 'r');
    try {
      const size = (await fh.stat()).size;
      const partBytes = this.tune.partBytes;
      const readPart = async (i: number) => {
        const len = Math.min(partBytes, size - i * partBytes);
        const buf = Buffer.allocUnsafe(len);
        let done = 0;
        while (done < len) {
          const { bytesRead } = await fh.read(buf, done, len - done, i * partBytes + done);
          if (bytesRead === 0) throw new Error(`${localFile} shrank while uploading`);
          done += bytesRead;
        }
        return buf;
      };
      if (size <= partBytes) {
        await this.put(url, await readPart(0));
        return;
      }
      const { bucket, key } = parseS3Url(url);
      const uploadId = await this.retry(url, 'CreateMultipartUpload', async (signal, touch) => {
        const res = await this.send('POST', url, bucket, key, { query: { uploads: '' } }, signal);
        const id = xmlTag(new TextDecoder().decode(await this.body(res, url, touch)), 'UploadId');
        if (!id) throw new Retryable('no UploadId in the answer');
        return id;
      });
      try {
        const parts = Math.ceil(size / partBytes);
        const etags: string[] = new Array(parts);
        let next = 0;
        const worker = async () => {
          while (next < parts) {
            const i = next++;
            const body = await readPart(i);
            etags[i] = await this.retry(url, `UploadPart ${i + 1}`, async (signal, touch) => {
              const query = { partNumber: String(i + 1), uploadId };
              const res = await this.send('PUT', url, bucket, key, { query, body }, signal);
              await this.body(res, url, touch);
              const etag = res.headers.get('etag');
              if (!etag) throw new Retryable('no ETag for the part');
              countsOf(url).bytesSent += body.length;
              return etag;
            });
          }
        };
        await Promise.all(Array.from({ length: Math.min(parts, this.tune.partConcurrency) }, worker));
        await this.completeUpload(url, uploadId, etags);
      } catch (e) {
        await this.abortUpload(url, uploadId).catch(() => {});
        throw e;
      }
    } finally {
      await fh.close();
    }
  }

  /** A POST/PUT whose 200 answer may carry an `<Error>` (CopyObject, UploadPartCopy, CompleteMultipartUpload). */
  private async checked(
    url: string,
    what: string,
    method: string,
    options: SendOptions,
  ): Promise<{ text: string; res: Response }> {
    const { bucket, key } = parseS3Url(url);
    return this.retry(url, what, async (signal, touch) => {
      const res = await this.send(method, url, bucket, key, options, signal);
      const text = new TextDecoder().decode(await this.body(res, url, touch));
      if (text.includes('<Error>')) {
        const code = xmlTag(text, 'Code');
        if (code && (RETRY_CODES.has(code) || code === 'NoSuchUpload')) throw new Retryable(code);
        throw new InputError(`S3 ${what} refused: ${code}: ${xmlTag(text, 'Message') ?? ''}`, {
          code: 'E_S3',
          file: url,
        });
      }
      return { text, res };
    });
  }

  /** Server-side copy in the same store: CopyObject, or a multipart upload of UploadPartCopy parts above the copy part size. */
  async copy(from: string, to: string): Promise<void> {
    const src = parseS3Url(from);
    const source = `/${src.bucket}/${src.key
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/')}`;
    const info = await this.head(from);
    if (!info) throw new InputError('file not found', { code: 'E_NOT_FOUND', file: from });
    const partBytes = this.tune.copyPartBytes;
    if (info.size <= partBytes) {
      await this.checked(to, 'CopyObject', 'PUT', { headers: { 'x-amz-copy-source': source } });
      return;
    }
    const { text } = await this.checked(to, 'CreateMultipartUpload', 'POST', { query: { uploads: '' } });
    const uploadId = xmlTag(text, 'UploadId');
    if (!uploadId)
      throw new InputError('S3 CreateMultipartUpload: no UploadId in the answer', { code: 'E_S3', file: to });
    try {
      const parts = Math.ceil(info.size / partBytes);
      const etags: string[] = new Array(parts);
      let next = 0;
      const worker = async () => {
        while (next < parts) {
          const i = next++;
          const start = i * partBytes;
          const end = Math.min(info.size, start + partBytes) - 1;
          const headers: Record<string, string> = {
            'x-amz-copy-source': source,
            'x-amz-copy-source-range': `bytes=${start}-${end}`,
          };
          if (info.etag) headers['x-amz-copy-source-if-match'] = `"${info.etag}"`;
          const r = await this.checked(to, `UploadPartCopy ${i + 1}`, 'PUT', {
            query: { partNumber: String(i + 1), uploadId },
            headers,
          });
          const etag = xmlTag(r.text, 'ETag');
          if (!etag)
            throw new InputError(`S3 UploadPartCopy ${i + 1}: no ETag in the answer`, { code: 'E_S3', file: to });
          etags[i] = etag;
        }
      };
      await Promise.all(Array.from({ length: Math.min(parts, this.tune.partConcurrency) }, worker));
      await this.completeUpload(to, uploadId, etags);
    } catch (e) {
      await this.abortUpload(to, uploadId).catch(() => {});
      throw e;
    }
  }

  private async completeUpload(url: string, uploadId: string, etags: string[]): Promise<void> {
    const xml = `<CompleteMultipartUpload>${etags
      .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(e)}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    await this.checked(url, 'CompleteMultipartUpload', 'POST', {
      query: { uploadId },
      body: new TextEncoder().encode(xml),
    });
  }

  async abortUpload(url: string, uploadId: string): Promise<void> {
    const { bucket, key } = parseS3Url(url);
    await this.retry(url, 'AbortMultipartUpload', async (signal, touch) => {
      const res = await this.send('DELETE', url, bucket, key, { query: { uploadId } }, signal);
      await this.body(res, url, touch);
    });
  }

  /** Multipart uploads in progress under the prefix of `url` (ListMultipartUploads, first 1000). */
  async listUploads(url: string): Promise<{ key: string; uploadId: string }[]> {
    const { bucket, key: prefix } = parseS3Url(url);
    const xml = await this.retry(url, 'ListMultipartUploads', async (signal, touch) => {
      const res = await this.send('GET', url, bucket, '', { query: { uploads: '', prefix } }, signal);
      return new TextDecoder().decode(await this.body(res, url, touch));
    });
    const out: { key: string; uploadId: string }[] = [];
    for (const m of xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
      const key = xmlTag(m[1], 'Key');
      const uploadId = xmlTag(m[1], 'UploadId');
      if (key !== undefined && uploadId) out.push({ key, uploadId });
    }
    return out;
  }
}

function infoFrom(url: string, h: Headers): ObjectInfo {
  const info: ObjectInfo = {
    path: url,
    size: Number(h.get('content-length') ?? 0),
    mtimeMs: Date.parse(h.get('last-modified') ?? '') || 0,
  };
  const etag = h.get('etag')?.replace(/"/g, '');
  if (etag) info.etag = etag;
  return info;
}

let client: S3Client | undefined;

/** The process's S3 client, configured from the AWS environment on first use. */
export function s3Client(): S3Client {
  client ??= new S3Client(loadS3Config());
  return client;
}

/** Forget the client (the next use reads the environment again): for tests and long-lived hosts. */
export function resetS3Client(): void {
  client = undefined;
}

export const s3Storage: StorageDriver = {
  kind: 's3',
  stat: (path) => s3Client().head(path),
  list: (dir) => s3Client().list(dir),
  read: (path, start, end) => s3Client().read(path, start, end),
  stream: (path, start, end) => s3Client().stream(path, start, end),
  writeFile: (path, data) => s3Client().put(path, typeof data === 'string' ? new TextEncoder().encode(data) : data),
  writeFileIfAbsent: (path, data) =>
    s3Client().putIfAbsent(path, typeof data === 'string' ? new TextEncoder().encode(data) : data),
  upload: (path, localFile) => s3Client().upload(path, localFile),
  copy: (from, to) => s3Client().copy(from, to),
  remove: (path) => s3Client().remove(path),
};
