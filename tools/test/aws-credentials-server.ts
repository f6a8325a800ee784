/**
 * A fake of the AWS credential endpoints for tests, on 127.0.0.1 (random port), one server for all:
 * - STS AssumeRoleWithWebIdentity (POST /, form body) -> XML credentials;
 * - STS AssumeRole (POST /, form body), which checks the request's SigV4 signature (service `sts`)
 *   against the secret of a known principal (`principals`: keys the test registers, and every role
 *   session handed out), so an unsigned or wrongly signed request is refused as STS refuses it;
 *   the role's keys are new each time (`ASIA<n>` / `role-secret-<n>` / `TOKEN-<n>`);
 * - a fake S3 that answers any other signed GET/PUT `ok` after checking its signature (service `s3`)
 *   the same way, recording which principal signed it in `s3Requests`;
 * - the SSO portal's GetRoleCredentials (GET /federation/credentials, x-amz-sso_bearer_token);
 * - a container credentials endpoint (GET /container, checks the Authorization header);
 * - EC2 instance metadata, IMDSv2 only (PUT /latest/api/token, then GETs with the token).
 * Each answer carries the keys in `keys` and an expiry `ttlMs` from now; `requests` records what came in.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeAwsCredentials {
  endpoint: string;
  requests: FakeRequest[];
  /** Keys handed out (the session token gets a serial number: `TOKEN-1`, `TOKEN-2`, ...). */
  keys: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** Expiry of handed-out keys, from now. */
  ttlMs: number;
  /** What the container endpoint requires in Authorization; the SSO token it accepts. */
  containerAuth: string;
  ssoToken: string;
  role: string;
  /** Answer every request with this status (e.g. 500), when set. */
  failWith?: number;
  /** Keys handed out so far. */
  issued: number;
  /** Keys the SigV4 checks accept: access key id -> secret, session token, the role it is a session of. */
  principals: Map<string, Principal>;
  /** AssumeRole calls that passed the signature check: the role, the caller and the form. */
  assumed: { roleArn: string; caller: Principal & { accessKeyId: string }; form: URLSearchParams }[];
  /** Access key ids STS answers ExpiredToken for (temporary source keys that expired early). */
  expiredKeys: Set<string>;
  /** Roles STS refuses, with the error code and message it answers (403). */
  roleErrors: Map<string, { code: string; message: string }>;
  /** Signed requests the fake S3 accepted, with the principal that signed them. */
  s3Requests: { method: string; path: string; accessKeyId: string; role?: string }[];
  stop(): Promise<void>;
}

export interface Principal {
  secret: string;
  sessionToken?: string;
  /** The role this is a session of; absent for long-term keys. */
  role?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Checks a request's SigV4 Authorization header (written here from the AWS specification, not with
 * the client's signer): the principal it names, the scope's service, the session token, the signature.
 * `code` is empty when valid, else the error STS would answer.
 */
export function checkSigV4(
  method: string,
  rawUrl: string,
  headers: http.IncomingHttpHeaders,
  body: string,
  service: string,
  principals: Map<string, Principal>,
): { code: string; accessKeyId?: string } {
  const auth = String(headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { code: 'MissingAuthenticationToken' };
  const [, accessKeyId, date, region, scopeService, signedHeaders, signature] = m;
  const who = principals.get(accessKeyId);
  if (!who) return { code: 'InvalidClientTokenId', accessKeyId };
  if (scopeService !== service) return { code: 'SignatureDoesNotMatch', accessKeyId };
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { code: 'SignatureDoesNotMatch', accessKeyId };
  if (
    who.sessionToken &&
    (headers['x-amz-security-token'] !== who.sessionToken || !names.includes('x-amz-security-token'))
  ) {
    return { code: 'InvalidClientTokenId', accessKeyId };
  }
  const amzDate = String(headers['x-amz-date']);
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!(Math.abs(when - Date.now()) < 15 * 60_000) || !amzDate.startsWith(date)) {
    return { code: 'RequestExpired', accessKeyId };
  }
  const url = new URL(rawUrl, 'http://x');
  const query = [...url.searchParams]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names
    .map(
      (n) =>
        `${n}:${String(headers[n] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payload = String(headers['x-amz-content-sha256'] ?? sha256(body));
  const canonical = [method, url.pathname, query, canonicalHeaders, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${who.secret}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return { code: expected === signature ? '' : 'SignatureDoesNotMatch', accessKeyId };
}

export async function startFakeAwsCredentials(): Promise<FakeAwsCredentials> {
  const imdsTokens = new Set<string>();
  const state: Omit<FakeAwsCredentials, 'endpoint' | 'stop'> = {
    requests: [],
    keys: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', sessionToken: 'TOKEN' },
    ttlMs: 3600_000,
    containerAuth: 'secret-auth',
    ssoToken: 'sso-access-token',
    role: 'curate-node-role',
    issued: 0,
    principals: new Map(),
    assumed: [],
    roleErrors: new Map(),
    expiredKeys: new Set(),
    s3Requests: [],
  };
  const stsError = (code: string, message: string) =>
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`;
  const issue = () => {
    state.issued++;
    return {
      ...state.keys,
      sessionToken: `${state.keys.sessionToken}-${state.issued}`,
      expiration: new Date(Date.now() + state.ttlMs),
    };
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    state.requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, body });
    const send = (status: number, text: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(text);
    };
    if (state.failWith) return send(state.failWith, 'failing on purpose');
    // STS
    if (req.method === 'POST' && url.pathname === '/') {
      const form = new URLSearchParams(body);
      if (form.get('Action') === 'AssumeRole') {
        const check = checkSigV4('POST', req.url ?? '/', req.headers, body, 'sts', state.principals);
        if (check.code) {
          const status = check.code === 'MissingAuthenticationToken' ? 400 : 403;
          return send(status, stsError(check.code, `signature check: ${check.code}`), 'text/xml');
        }
        if (state.expiredKeys.has(check.accessKeyId as string)) {
          return send(
            403,
            stsError('ExpiredToken', 'The security token included in the request is expired'),
            'text/xml',
          );
        }
        const roleArn = form.get('RoleArn') ?? '';
        const refused = state.roleErrors.get(roleArn);
        if (refused) return send(403, stsError(refused.code, refused.message), 'text/xml');
        if (!form.get('RoleSessionName') || form.get('Version') !== '2011-06-15') {
          return send(400, stsError('ValidationError', 'RoleSessionName and Version are required'), 'text/xml');
        }
        const caller = state.principals.get(check.accessKeyId as string) as Principal;
        state.assumed.push({ roleArn, caller: { ...caller, accessKeyId: check.accessKeyId as string }, form });
        state.issued++;
        const c = {
          accessKeyId: `ASIA${state.issued}`,
          secretAccessKey: `role-secret-${state.issued}`,
          sessionToken: `${state.keys.sessionToken}-${state.issued}`,
          expiration: new Date(Date.now() + state.ttlMs),
        };
        state.principals.set(c.accessKeyId, { secret: c.secretAccessKey, sessionToken: c.sessionToken, role: roleArn });
        return send(
          200,
          `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>${roleArn}/x</Arn></AssumedRoleUser><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${c.expiration.toISOString()}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
          'text/xml',
        );
      }
      if (form.get('Action') !== 'AssumeRoleWithWebIdentity' || !form.get('WebIdentityToken')) {
        return send(
          400,
          '<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>',
          'text/xml',
        );
      }
      const c = issue();
      return send(
        200,
        `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${c.secretAccessKey}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken><Expiration>${c.expiration.toISOString()}</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
        'text/xml',
      );
    }
    // SSO portal
    if (req.method === 'GET' && url.pathname === '/federation/credentials') {
      if (req.headers['x-amz-sso_bearer_token'] !== state.ssoToken) return send(401, '{"message":"no"}');
      const c = issue();
      return send(
        200,
        JSON.stringify({
          roleCredentials: {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            sessionToken: c.sessionToken,
            expiration: c.expiration.getTime(),
          },
        }),
      );
    }
    // container credentials
    if (req.method === 'GET' && url.pathname === '/container') {
      if (req.headers.authorization !== state.containerAuth) return send(403, '{"message":"denied"}');
      const c = issue();
      return send(
        200,
        JSON.stringify({
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.sessionToken,
          Expiration: c.expiration.toISOString(),
        }),
      );
    }
    // IMDSv2
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, 'bad');
      const t = `imds-${imdsTokens.size + 1}`;
      imdsTokens.add(t);
      return send(200, t, 'text/plain');
    }
    if (url.pathname.startsWith('/latest/meta-data/iam/security-credentials/')) {
      if (!imdsTokens.has(String(req.headers['x-aws-ec2-metadata-token']))) return send(401, '', 'text/plain');
      const role = decodeURIComponent(url.pathname.slice('/latest/meta-data/iam/security-credentials/'.length));
      if (!role) return send(200, `${state.role}\n`, 'text/plain');
      if (role !== state.role) return send(404, '', 'text/plain');
      const c = issue();
      return send(
        200,
        JSON.stringify({
          Code: 'Success',
          Type: 'AWS-HMAC',
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.sessionToken,
          Expiration: c.expiration.toISOString(),
        }),
      );
    }
    // a fake S3: any other signed GET/PUT
    if ((req.method === 'GET' || req.method === 'PUT') && String(req.headers.authorization ?? '').startsWith('AWS4')) {
      const check = checkSigV4(req.method, req.url ?? '/', req.headers, body, 's3', state.principals);
      if (check.code)
        return send(403, `<Error><Code>${check.code}</Code><Message>no</Message></Error>`, 'application/xml');
      const who = state.principals.get(check.accessKeyId as string) as Principal;
      state.s3Requests.push({
        method: req.method,
        path: url.pathname,
        accessKeyId: check.accessKeyId as string,
        role: who.role,
      });
      const out = req.method === 'GET' ? 'ok' : '';
      res.writeHead(200, {
        'content-length': String(out.length),
        'content-type': 'application/octet-stream',
        etag: '"e"',
      });
      res.end(out);
      return;
    }
    send(404, 'not found', 'text/plain');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake = state as FakeAwsCredentials;
  fake.endpoint = endpoint;
  fake.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}
