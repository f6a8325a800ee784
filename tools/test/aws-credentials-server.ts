/**
 * A fake of the AWS credential endpoints for tests, on 127.0.0.1 (random port), one server for all:
 * - STS AssumeRoleWithWebIdentity (POST /, form body) -> XML credentials;
 * - the SSO portal's GetRoleCredentials (GET /federation/credentials, x-amz-sso_bearer_token);
 * - a container credentials endpoint (GET /container, checks the Authorization header);
 * - EC2 instance metadata, IMDSv2 only (PUT /latest/api/token, then GETs with the token).
 * Each answer carries the keys in `keys` and an expiry `ttlMs` from now; `requests` records what came in.
 */
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
  stop(): Promise<void>;
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
  };
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
