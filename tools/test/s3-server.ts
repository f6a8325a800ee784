/**
 * A local S3-protocol server for tests: s3rver on 127.0.0.1 (random port, files in a temp dir) behind
 * a small proxy that
 * - injects faults when asked: 503 SlowDown answers, connections dropped in the middle of a GET body,
 *   slow answers. Each decision is a seeded hash of the request (method, key, range, part number)
 *   and how many times that request was seen, never of the order requests arrive in: a client whose
 *   requests interleave differently from run to run (threads, timers) still gets the same faults;
 * - counts the body bytes it sends per object key (what a client really fetched);
 * - answers AbortMultipartUpload and ListMultipartUploads, which s3rver lacks, from s3rver's own
 *   upload directory (so tests can see orphaned multipart uploads);
 * - refuses a PutObject with `If-None-Match: *` on an existing key (412), which s3rver ignores;
 * - answers UploadPartCopy (a ranged GET of the source and an UploadPart), which s3rver also lacks;
 * - pages ListObjectsV2 itself (max-keys, continuation tokens): s3rver's own tokens use DES, which
 *   OpenSSL 3 no longer has (every truncated listing is a 500 on Node 20+).
 * Also usable from a child process: `node --import tsx s3-server.ts` is not needed; the CLI tests
 * start it in the test process and hand the endpoint to the child through AWS_ENDPOINT_URL.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface Faults {
  /** Share of requests answered 503 SlowDown (before reaching the server). */
  error503?: number;
  /** Share of GET answers whose connection is dropped after half the body. */
  drop?: number;
  /** Share of UploadPart requests (a part of a multipart upload) answered 503 SlowDown. */
  uploadPart503?: number;
  /** Share of answers delayed by `slowMs`. */
  slow?: number;
  slowMs?: number;
  seed?: number;
}

export interface TestS3 {
  /** The proxy's URL (what clients use as AWS_ENDPOINT_URL). */
  endpoint: string;
  bucket: string;
  /** Environment for the AWS chain: credentials, region, endpoint. */
  env: Record<string, string>;
  /** Bytes of GET bodies sent per key (`bucket/key`), and in total. */
  sent: Map<string, number>;
  sentTotal(prefix?: string): number;
  faultsInjected: { error503: number; drop: number; slow: number };
  /** Faults injected per key (`bucket/key`) since the last setFaults: each costs the client one retry. */
  faultsByKey: Map<string, number>;
  setFaults(f: Faults): void;
  /** Multipart uploads in progress (not completed or aborted): their keys. */
  openUploads(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A number in [0, 1) from a seed and a string (FNV-1a, then a murmur3 finaliser). */
function roll(seed: number, what: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < what.length; i++) h = Math.imul(h ^ what.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 2 ** 32;
}

export async function startTestS3(options: { bucket?: string } = {}): Promise<TestS3> {
  const bucket = options.bucket ?? 'test';
  const dir = await mkdtemp(join(tmpdir(), 'curate-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port: backPort } = (await server.run()) as unknown as AddressInfo;
  const uploadsDir = join(dir, bucket, '._S3rver_uploads');
  let faults: Faults = {};
  // how many times each request (method, key, range, part) was seen since the last setFaults
  const seen = new Map<string, number>();
  const injected = { error503: 0, drop: 0, slow: 0 };
  const sent = new Map<string, number>();
  const faultsByKey = new Map<string, number>();
  const fault = (key: string) => faultsByKey.set(key, (faultsByKey.get(key) ?? 0) + 1);

  const openUploads = async (): Promise<{ id: string; key: string }[]> => {
    const ids = await readdir(uploadsDir).catch(() => [] as string[]);
    const out: { id: string; key: string }[] = [];
    for (const id of ids) {
      const key = await readFile(join(uploadsDir, id, 'key'), 'utf8').catch(() => undefined);
      if (key !== undefined) out.push({ id, key });
    }
    return out;
  };

  /** One page of ListObjectsV2: the whole listing from s3rver (no max-keys: never truncated), cut here. */
  const listPage = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const max = Math.min(Number(url.searchParams.get('max-keys') ?? 1000), 1000);
    const token = url.searchParams.get('continuation-token');
    const q = new URLSearchParams(url.searchParams);
    q.delete('max-keys');
    q.delete('continuation-token');
    if (token) q.set('start-after', Buffer.from(token, 'base64url').toString('utf8'));
    // s3rver checks the signature against the query: re-sign is not possible here, so it is asked unsigned
    const headers = { ...req.headers };
    delete headers.authorization;
    const xml = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: backPort, path: `${url.pathname}?${q}`, headers }, (up) => {
          let t = '';
          up.setEncoding('utf8');
          up.on('data', (c: string) => {
            t += c;
          });
          up.on('end', () => resolve(t));
        })
        .on('error', reject);
    });
    const contents = [...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)].map((m) => m[0]);
    const page = contents.slice(0, max);
    const truncated = contents.length > max;
    const lastKey = page.length ? (/<Key>([\s\S]*?)<\/Key>/.exec(page[page.length - 1])?.[1] ?? '') : '';
    const next = truncated
      ? `<NextContinuationToken>${Buffer.from(lastKey.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'), 'utf8').toString('base64url')}</NextContinuationToken>`
      : '';
    const body = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${page.join('')}</ListBucketResult>`;
    const b = Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': b.length });
    res.end(b);
  };

  /** One unsigned request to s3rver (it serves anonymous requests): status, headers, body. */
  const backend = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port: backPort, method, path, headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => resolve({ status: up.statusCode ?? 500, headers: up.headers, body: Buffer.concat(chunks) }));
      });
      r.on('error', reject);
      r.end(body);
    });

  /** UploadPartCopy, which s3rver lacks: a ranged GET of the source, then UploadPart with those bytes. */
  const uploadPartCopy = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const source = decodeURIComponent(String(req.headers['x-amz-copy-source'])).replace(/^\/?/, '/');
    const range = String(req.headers['x-amz-copy-source-range'] ?? '');
    const got = await backend('GET', source, range ? { range } : {});
    if (got.status >= 300) {
      res.writeHead(got.status, { 'content-type': 'application/xml' }).end(got.body);
      return;
    }
    const put = await backend(
      'PUT',
      `${url.pathname}${url.search}`,
      { 'content-length': String(got.body.length) },
      got.body,
    );
    if (put.status >= 300) {
      res.writeHead(put.status, { 'content-type': 'application/xml' }).end(put.body);
      return;
    }
    const b = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><CopyPartResult><ETag>${String(put.headers.etag ?? '').replace(/"/g, '&quot;')}</ETag></CopyPartResult>`,
    );
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': b.length }).end(b);
  };

  const proxy = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname.slice(1));
    const bucketOnly = !path.replace(/\/$/, '').includes('/');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const id = `${req.method} ${path} ${req.headers.range ?? ''} ${url.searchParams.get('partNumber') ?? ''}`;
    const attempt = (seen.get(id) ?? 0) + 1;
    seen.set(id, attempt);
    const seed = faults.seed ?? 1;
    const rnd = (what: string) => roll(seed, `${what} ${attempt} ${id}`);
    if (faults.error503 && rnd('503') < faults.error503) {
      injected.error503++;
      fault(path);
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
      return;
    }
    if (
      faults.uploadPart503 &&
      req.method === 'PUT' &&
      url.searchParams.has('uploadId') &&
      url.searchParams.has('partNumber') &&
      rnd('part503') < faults.uploadPart503
    ) {
      injected.error503++;
      fault(path);
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
      return;
    }
    if (faults.slow && rnd('slow') < faults.slow) {
      injected.slow++;
      await new Promise((r) => setTimeout(r, faults.slowMs ?? 200));
    }
    // the two multipart operations s3rver does not implement
    if (req.method === 'DELETE' && url.searchParams.has('uploadId')) {
      await rm(join(uploadsDir, url.searchParams.get('uploadId') ?? 'x'), { recursive: true, force: true });
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.searchParams.has('uploads') && bucketOnly) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const ups = (await openUploads()).filter((u) => u.key.startsWith(prefix));
      const xml = ups
        .map(
          (u) =>
            `<Upload><Key>${u.key.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Key><UploadId>${u.id}</UploadId></Upload>`,
        )
        .join('');
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0"?><ListMultipartUploadsResult><Bucket>${bucket}</Bucket>${xml}</ListMultipartUploadsResult>`,
      );
      return;
    }
    // conditional PutObject (If-None-Match: *), which s3rver ignores: refused when the object exists
    if (req.method === 'PUT' && req.headers['if-none-match'] === '*' && !url.search) {
      const head = await backend('HEAD', url.pathname, {});
      if (head.status === 200) {
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        );
        return;
      }
    }
    if (req.method === 'PUT' && url.searchParams.has('uploadId') && req.headers['x-amz-copy-source']) {
      await uploadPartCopy(req, res, url);
      return;
    }
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2' && bucketOnly) {
      await listPage(req, res, url);
      return;
    }
    const dropThis = req.method === 'GET' && faults.drop !== undefined && rnd('drop') < faults.drop;
    const back = http.request(
      { host: '127.0.0.1', port: backPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        const length = Number(up.headers['content-length'] ?? 0);
        let n = 0;
        up.on('data', (c: Buffer) => {
          if (dropThis && length > 1 && n + c.length >= length / 2) {
            const cut = Math.max(0, Math.floor(length / 2) - n);
            if (cut) res.write(c.subarray(0, cut));
            n += cut;
            sent.set(path, (sent.get(path) ?? 0) + cut);
            injected.drop++;
            fault(path);
            up.destroy();
            res.socket?.destroy();
            return;
          }
          n += c.length;
          if (req.method === 'GET') sent.set(path, (sent.get(path) ?? 0) + c.length);
          res.write(c);
        });
        up.on('end', () => res.end());
      },
    );
    back.on('error', () => res.socket?.destroy());
    back.end(body);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    endpoint,
    bucket,
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    },
    sent,
    sentTotal(prefix = '') {
      let t = 0;
      for (const [k, v] of sent) if (k.startsWith(prefix)) t += v;
      return t;
    },
    faultsInjected: injected,
    faultsByKey,
    setFaults(f) {
      faults = f;
      faultsByKey.clear();
      seen.clear();
    },
    async openUploads() {
      return (await openUploads()).map((u) => u.key);
    },
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
