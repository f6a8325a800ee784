/**
 * Temporary credentials from the AWS chain (credential_process, web identity, container, IMDSv2,
 * SSO cached token, roles assumed from a source_profile or credential_source with SigV4-signed
 * AssumeRole), each against a fake endpoint on 127.0.0.1 (tools/test/aws-credentials-server.ts,
 * whose STS and S3 check signatures) or a local command, with refresh before expiry; then the S3 client signing with them against s3rver.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAwsCredentials, startFakeAwsCredentials } from '../../../tools/test/aws-credentials-server.js';
import { startTestS3, type TestS3 } from '../../../tools/test/s3-server.js';
import { loadS3Config } from '../src/index.js';
import { cachedProvider, stsEndpoint } from '../src/storage/credentials.js';
import { S3Client } from '../src/storage/s3.js';
import { rejection, useTmp } from './helpers.js';

const tmp = useTmp();
let fake: FakeAwsCredentials;

beforeAll(async () => {
  fake = await startFakeAwsCredentials();
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
  fake.assumed.length = 0;
  fake.s3Requests.length = 0;
  fake.roleErrors.clear();
  fake.expiredKeys.clear();
  fake.ttlMs = 3600_000;
  fake.failWith = undefined;
});

/** An environment with no static keys and no real home, instance metadata pointed at the fake. */
async function baseEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const home = await tmp();
  return {
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.endpoint,
    ...extra,
  };
}

describe('credential_process', () => {
  it('runs the profile command, reads its JSON, and runs it again when the keys near their expiry', async () => {
    const dir = await tmp();
    const script = join(dir, 'creds.mjs');
    const count = join(dir, 'count');
    // each run counts itself and prints keys expiring in 2 minutes (inside the 5-minute refresh window)
    await writeFile(
      script,
      `import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(count)}, 'x');
const n = readFileSync(${JSON.stringify(count)}, 'utf8').length;
console.log(JSON.stringify({ Version: 1, AccessKeyId: 'PK' + n, SecretAccessKey: 'PS', SessionToken: 'PT', Expiration: new Date(Date.now() + 120000).toISOString() }));
`,
    );
    const env = await baseEnv({ AWS_PROFILE: 'proc' });
    await writeFile(
      env.AWS_CONFIG_FILE,
      `[profile proc]\nregion = eu-west-1\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(script)}\n`,
    );
    const c = loadS3Config(env);
    expect(c.region).toBe('eu-west-1');
    expect(c.accessKeyId).toBeUndefined();
    const a = await c.credentials!();
    expect(a).toMatchObject({ accessKeyId: 'PK1', secretAccessKey: 'PS', sessionToken: 'PT' });
    expect(a.expiration).toBeGreaterThan(Date.now());
    expect((await c.credentials!()).accessKeyId).toBe('PK2');
  });

  it('a failing command is one line naming the profile and what it printed', async () => {
    const env = await baseEnv({ AWS_PROFILE: 'bad' });
    await writeFile(
      env.AWS_CONFIG_FILE,
      `[profile bad]\ncredential_process = ${JSON.stringify(process.execPath)} -e "console.error('login required'); process.exit(3)"\n`,
    );
    const e = await rejection(loadS3Config(env).credentials!());
    expect(e.code).toBe('E_S3_CREDENTIALS');
    expect(e.message).toMatch(/credential_process of profile "bad" failed .*: login required$/);
    expect(e.message).not.toContain('\n');
  });
});

describe('web identity (EKS service-account roles)', () => {
  it('exchanges the token file at STS, rereading the file at each refresh', async () => {
    const dir = await tmp();
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'jwt-one\n');
    const env = await baseEnv({
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: 'arn:aws:iam::123:role/reader',
      AWS_ROLE_SESSION_NAME: 'job-7',
      AWS_ENDPOINT_URL_STS: fake.endpoint,
    });
    fake.ttlMs = 60_000; // inside the refresh window: every call fetches
    const c = loadS3Config(env);
    const a = await c.credentials!();
    expect(a.accessKeyId).toBe('S3RVER');
    expect(a.sessionToken).toMatch(/^TOKEN-\d+$/);
    await writeFile(tokenFile, 'jwt-two\n');
    const b = await c.credentials!();
    expect(b.sessionToken).not.toBe(a.sessionToken);
    const forms = fake.requests.filter((r) => r.method === 'POST').map((r) => new URLSearchParams(r.body));
    expect(forms.map((f) => f.get('WebIdentityToken'))).toEqual(['jwt-one', 'jwt-two']);
    expect(forms[0].get('RoleArn')).toBe('arn:aws:iam::123:role/reader');
    expect(forms[0].get('RoleSessionName')).toBe('job-7');
    expect(fake.requests.some((r) => r.path.startsWith('/latest'))).toBe(false); // not IMDS
  });

  it('keys far from their expiry are reused, not fetched again', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'token'), 'jwt');
    const env = await baseEnv({
      AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      AWS_ROLE_ARN: 'arn:aws:iam::123:role/reader',
      AWS_ENDPOINT_URL_STS: fake.endpoint,
    });
    const c = loadS3Config(env);
    const [a, b] = await Promise.all([c.credentials!(), c.credentials!()]);
    expect(await c.credentials!()).toBe(a);
    expect(b).toBe(a);
    expect(fake.requests.length).toBe(1);
  });

  it('an STS refusal is one line with its code', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'token'), '');
    const env = await baseEnv({
      AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      AWS_ROLE_ARN: 'arn:aws:iam::123:role/reader',
      AWS_ENDPOINT_URL_STS: fake.endpoint,
    });
    const e = await rejection(loadS3Config(env).credentials!());
    expect(e.message).toMatch(/web identity .*STS refused: HTTP 400 InvalidIdentityToken: bad token/);
  });
});

describe('container credentials (ECS, EKS Pod Identity)', () => {
  it('GETs the full URI with the authorization token from its file', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'auth'), `${fake.containerAuth}\n`);
    const env = await baseEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fake.endpoint}/container`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'auth'),
    });
    const a = await loadS3Config(env).credentials!();
    expect(a).toMatchObject({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    expect(fake.requests.map((r) => r.path)).toEqual(['/container']);
    expect(fake.requests[0].headers.authorization).toBe(fake.containerAuth);
  });

  it('a refused token is one line; the relative URI means the ECS agent; remote http is refused', async () => {
    const env = await baseEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fake.endpoint}/container`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong',
    });
    expect((await rejection(loadS3Config(env).credentials!())).message).toMatch(
      /container credentials \(http:\/\/127\.0\.0\.1:\d+\/container\): HTTP 403/,
    );
    const { containerSource } = await import('../src/storage/credentials.js');
    expect(containerSource({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' })?.name).toBe(
      'container credentials (http://169.254.170.2/v2/credentials/abc)',
    );
    expect(() => containerSource({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://evil.example/creds' })).toThrow(
      /must be a loopback or ECS\/EKS agent address/,
    );
  });
});

describe('EC2 instance metadata (IMDSv2)', () => {
  it('takes a session token first, then the role name, then its credentials', async () => {
    const env = await baseEnv();
    const a = await loadS3Config(env).credentials!();
    expect(a.sessionToken).toMatch(/^TOKEN-/);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      `GET /latest/meta-data/iam/security-credentials/${fake.role}`,
    ]);
    expect(fake.requests[1].headers['x-aws-ec2-metadata-token']).toMatch(/^imds-\d+$/);
  });

  it('a refresh that fails while the old keys are valid keeps the old keys', async () => {
    fake.ttlMs = 4 * 60_000; // inside the refresh window, still valid
    const c = loadS3Config(await baseEnv());
    const a = await c.credentials!();
    fake.failWith = 500;
    expect(await c.credentials!()).toEqual(a);
  });

  it('no instance metadata service: one line saying everything that was tried', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const env = await baseEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}` });
    const e = await rejection(loadS3Config(env).credentials!());
    expect(e.code).toBe('E_S3_CREDENTIALS');
    expect(e.message).toMatch(
      /^no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE .*, or run with a role \(EC2 instance metadata/,
    );
  });
});

describe('SSO (aws sso login)', () => {
  async function ssoEnv(token: { accessToken: string; expiresAt: string }) {
    const env = await baseEnv({ AWS_PROFILE: 'dev', AWS_ENDPOINT_URL_SSO: fake.endpoint });
    await writeFile(
      env.AWS_CONFIG_FILE,
      '[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = DataEngineer\nregion = us-west-2\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n',
    );
    const cache = join(env.HOME, '.aws', 'sso', 'cache');
    await mkdir(cache, { recursive: true });
    const name = createHash('sha1').update('corp').digest('hex');
    await writeFile(join(cache, `${name}.json`), JSON.stringify(token));
    return env;
  }

  it('exchanges the cached token for the role credentials', async () => {
    const env = await ssoEnv({ accessToken: fake.ssoToken, expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    const a = await loadS3Config(env).credentials!();
    expect(a.accessKeyId).toBe('S3RVER');
    expect(a.expiration).toBeGreaterThan(Date.now());
    expect(fake.requests[0].path).toBe('/federation/credentials?role_name=DataEngineer&account_id=111122223333');
  });

  it('an expired cached token says to log in again', async () => {
    const env = await ssoEnv({ accessToken: fake.ssoToken, expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect((await rejection(loadS3Config(env).credentials!())).message).toBe(
      'SSO of profile "dev": the cached SSO token has expired (run: aws sso login --profile dev)',
    );
    expect(fake.requests.length).toBe(0);
  });
});

describe('assume role (role_arn + source_profile / credential_source)', () => {
  const READER = 'arn:aws:iam::111122223333:role/reader';
  const WRITER = 'arn:aws:iam::111122223333:role/writer';

  /** Static keys of profile `base` in the credentials file (known to the fake STS), `config` as the config file. */
  async function roleEnv(config: string, extra: Record<string, string> = {}) {
    const env = await baseEnv({ AWS_ENDPOINT_URL: fake.endpoint, ...extra });
    env.AWS_SHARED_CREDENTIALS_FILE = join(env.HOME, 'credentials');
    await writeFile(
      env.AWS_SHARED_CREDENTIALS_FILE,
      '[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n',
    );
    await writeFile(env.AWS_CONFIG_FILE, config);
    fake.principals.set('AKIDBASE', { secret: 'base-secret' });
    return env;
  }

  it('source_profile with static keys: AssumeRole signed with them, then S3 requests signed with the role session', async () => {
    const env = await roleEnv(
      `[profile reader]\nrole_arn = ${READER}\nsource_profile = base\nrole_session_name = nightly\nregion = eu-west-1\n`,
      { AWS_PROFILE: 'reader' },
    );
    const config = loadS3Config(env);
    expect(config.region).toBe('eu-west-1');
    expect(config.accessKeyId).toBeUndefined();
    const client = new S3Client(config, env);
    expect(new TextDecoder().decode(await client.read('s3://bkt/data/a.bin', 0, 2))).toBe('ok');
    expect(fake.assumed.length).toBe(1);
    const [call] = fake.assumed;
    expect(call.roleArn).toBe(READER);
    expect(call.caller.accessKeyId).toBe('AKIDBASE');
    expect(call.caller.role).toBeUndefined();
    expect(call.form.get('RoleSessionName')).toBe('nightly');
    expect(call.form.has('ExternalId')).toBe(false);
    expect(call.form.has('SerialNumber')).toBe(false);
    const sts = fake.requests.find((r) => r.method === 'POST');
    expect(String(sts?.headers.authorization)).toMatch(/Credential=AKIDBASE\/\d{8}\/eu-west-1\/sts\/aws4_request/);
    // the store saw the role's session, not the source keys
    expect(fake.s3Requests).toEqual([
      { method: 'GET', path: '/bkt/data/a.bin', accessKeyId: expect.stringMatching(/^ASIA\d+$/), role: READER },
    ]);
    const s3 = fake.requests.find((r) => r.path === '/bkt/data/a.bin');
    expect(s3?.headers['x-amz-security-token']).toMatch(/^TOKEN-\d+$/);
  });

  it('a wrong source secret or an unsigned call is refused by STS: one line naming the role and the code', async () => {
    const env = await roleEnv(`[profile reader]\nrole_arn = ${READER}\nsource_profile = base\n`, {
      AWS_PROFILE: 'reader',
    });
    fake.principals.set('AKIDBASE', { secret: 'not-the-file-secret' });
    const e = await rejection(loadS3Config(env).credentials!());
    expect(e.code).toBe('E_S3_CREDENTIALS');
    expect(e.message).toMatch(
      /^role arn:aws:iam::111122223333:role\/reader of profile "reader": STS AssumeRole refused: HTTP 403 SignatureDoesNotMatch/,
    );
    expect(fake.assumed.length).toBe(0);
    const unsigned = await fetch(`${fake.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `Action=AssumeRole&Version=2011-06-15&RoleArn=${READER}&RoleSessionName=x`,
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });

  it('chains roles: A from B from static keys, each AssumeRole signed by the previous session', async () => {
    const env = await roleEnv(
      `[profile a]\nrole_arn = ${WRITER}\nsource_profile = b\n\n[profile b]\nrole_arn = ${READER}\nsource_profile = base\n`,
      { AWS_PROFILE: 'a' },
    );
    const client = new S3Client(loadS3Config(env), env);
    expect(new TextDecoder().decode(await client.read('s3://bkt/k', 0, 2))).toBe('ok');
    expect(fake.assumed.map((c) => [c.roleArn, c.caller.role ?? c.caller.accessKeyId])).toEqual([
      [READER, 'AKIDBASE'],
      [WRITER, READER],
    ]);
    expect(fake.s3Requests.map((r) => r.role)).toEqual([WRITER]);
  });

  it('a source_profile cycle is one line naming the profiles in it', async () => {
    const env = await roleEnv(
      `[profile a]\nrole_arn = ${WRITER}\nsource_profile = b\n\n[profile b]\nrole_arn = ${READER}\nsource_profile = c\n\n[profile c]\nrole_arn = ${READER}\nsource_profile = b\n`,
      { AWS_PROFILE: 'a' },
    );
    let err: Error | undefined;
    try {
      loadS3Config(env);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toBe('source_profile cycle: "b" -> "c" -> "b"');
    expect((err as Error & { code?: string }).code).toBe('E_S3_CREDENTIALS');
    expect(fake.requests.length).toBe(0);
  });

  it('credential_source = Environment: the environment keys assume the role named by AWS_PROFILE', async () => {
    fake.principals.set('AKIDENV', { secret: 'env-secret', sessionToken: 'env-token' });
    const env = await roleEnv(`[profile ci]\nrole_arn = ${READER}\ncredential_source = Environment\n`, {
      AWS_PROFILE: 'ci',
      AWS_ACCESS_KEY_ID: 'AKIDENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_SESSION_TOKEN: 'env-token',
    });
    const c = await loadS3Config(env).credentials!();
    expect(c.accessKeyId).toMatch(/^ASIA\d+$/);
    expect(fake.assumed.map((a) => [a.roleArn, a.caller.accessKeyId])).toEqual([[READER, 'AKIDENV']]);
  });

  it('credential_source = Ec2InstanceMetadata: the instance role keys assume the role', async () => {
    fake.principals.set('S3RVER', { secret: 'S3RVER' });
    const env = await roleEnv(`[profile node]\nrole_arn = ${READER}\ncredential_source = Ec2InstanceMetadata\n`, {
      AWS_PROFILE: 'node',
    });
    await loadS3Config(env).credentials!();
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      `GET /latest/meta-data/iam/security-credentials/${fake.role}`,
      'POST /',
    ]);
    expect(fake.assumed[0].caller.accessKeyId).toBe('S3RVER');
  });

  it('sends external_id and duration_seconds', async () => {
    const env = await roleEnv(
      `[profile partner]\nrole_arn = ${READER}\nsource_profile = base\nexternal_id = acme-42\nduration_seconds = 7200\n`,
      { AWS_PROFILE: 'partner' },
    );
    await loadS3Config(env).credentials!();
    expect(fake.assumed[0].form.get('ExternalId')).toBe('acme-42');
    expect(fake.assumed[0].form.get('DurationSeconds')).toBe('7200');
  });

  it('role keys near their expiry are fetched again; far from it, reused', async () => {
    const env = await roleEnv(`[profile reader]\nrole_arn = ${READER}\nsource_profile = base\n`, {
      AWS_PROFILE: 'reader',
    });
    fake.ttlMs = 60_000; // inside the 5-minute refresh window
    const c = loadS3Config(env);
    const a = await c.credentials!();
    const b = await c.credentials!();
    expect(b.sessionToken).not.toBe(a.sessionToken);
    expect(fake.assumed.length).toBe(2);
    fake.ttlMs = 3600_000;
    const d = await c.credentials!();
    expect(await c.credentials!()).toBe(d);
    expect(fake.assumed.length).toBe(3);
  });

  it('an STS error is one line naming the role and the code', async () => {
    fake.roleErrors.set(READER, {
      code: 'AccessDenied',
      message: 'User: arn:aws:iam::111122223333:user/base is not authorized\nto perform: sts:AssumeRole',
    });
    const env = await roleEnv(`[profile reader]\nrole_arn = ${READER}\nsource_profile = base\n`, {
      AWS_PROFILE: 'reader',
    });
    const e = await rejection(loadS3Config(env).credentials!());
    expect(e.message).toBe(
      `role ${READER} of profile "reader": STS AssumeRole refused: HTTP 403 AccessDenied: User: arn:aws:iam::111122223333:user/base is not authorized to perform: sts:AssumeRole`,
    );
  });

  it('a source_profile with credential_process: its keys sign AssumeRole, and run again when STS says they expired', async () => {
    const dir = await tmp();
    const script = join(dir, 'creds.mjs');
    const count = join(dir, 'count');
    await writeFile(
      script,
      `import { appendFileSync, readFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(count)}, 'x');
const n = readFileSync(${JSON.stringify(count)}, 'utf8').length;
console.log(JSON.stringify({ Version: 1, AccessKeyId: 'PK' + n, SecretAccessKey: 'PS', SessionToken: 'PT' + n, Expiration: new Date(Date.now() + 3600000).toISOString() }));
`,
    );
    fake.principals.set('PK1', { secret: 'PS', sessionToken: 'PT1' });
    fake.principals.set('PK2', { secret: 'PS', sessionToken: 'PT2' });
    fake.expiredKeys.add('PK1');
    const env = await roleEnv(
      `[profile reader]\nrole_arn = ${READER}\nsource_profile = sso\n\n[profile sso]\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(script)}\n`,
      { AWS_PROFILE: 'reader' },
    );
    const c = await loadS3Config(env).credentials!();
    expect(c.accessKeyId).toMatch(/^ASIA\d+$/);
    expect(fake.assumed.map((a) => a.caller.accessKeyId)).toEqual(['PK2']);
    expect(fake.requests.filter((r) => r.method === 'POST').length).toBe(2);
  });

  it('credential_source = EcsContainer: the container endpoint keys assume the role', async () => {
    fake.principals.set('S3RVER', { secret: 'S3RVER' });
    const env = await roleEnv(`[profile task]\nrole_arn = ${READER}\ncredential_source = EcsContainer\n`, {
      AWS_PROFILE: 'task',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fake.endpoint}/container`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: fake.containerAuth,
    });
    await loadS3Config(env).credentials!();
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /container', 'POST /']);
    expect(fake.assumed[0].caller.accessKeyId).toBe('S3RVER');
  });

  it('a role profile naming itself as source uses its own keys; its role wins over those keys', async () => {
    const env = await roleEnv('', { AWS_PROFILE: 'self' });
    await writeFile(
      env.AWS_SHARED_CREDENTIALS_FILE,
      `[self]\naws_access_key_id = AKIDSELF\naws_secret_access_key = self-secret\nrole_arn = ${READER}\nsource_profile = self\n`,
    );
    fake.principals.set('AKIDSELF', { secret: 'self-secret' });
    const config = loadS3Config(env);
    expect(config.accessKeyId).toBeUndefined();
    expect((await config.credentials!()).accessKeyId).toMatch(/^ASIA\d+$/);
    expect(fake.assumed.map((a) => [a.roleArn, a.caller.accessKeyId])).toEqual([[READER, 'AKIDSELF']]);
  });

  it('configuration mistakes are one line: a missing source profile, an unknown credential_source, both', async () => {
    const load = async (config: string) => {
      const env = await roleEnv(config, { AWS_PROFILE: 'r' });
      try {
        loadS3Config(env);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(await load(`[profile r]\nrole_arn = ${READER}\nsource_profile = gone\n`)).toBe(
      `profile "r" (role ${READER}): its source_profile "gone" is in neither the credentials nor the config file`,
    );
    expect(await load(`[profile r]\nrole_arn = ${READER}\ncredential_source = Laptop\n`)).toBe(
      'credential_source Laptop of profile "r": unknown credential_source (curate knows Environment, Ec2InstanceMetadata and EcsContainer)',
    );
    expect(
      await load(`[profile r]\nrole_arn = ${READER}\nsource_profile = base\ncredential_source = Environment\n`),
    ).toBe(`profile "r" (role ${READER}) sets both source_profile and credential_source: keep one`);
    expect(await load(`[profile r]\nrole_arn = ${READER}\nsource_profile = base\nduration_seconds = 60\n`)).toMatch(
      /duration_seconds must be a whole number from 900 to 43200, got "60"$/,
    );
  });

  it('without AWS_PROFILE, environment keys still come before a default profile that assumes a role', async () => {
    const env = await roleEnv(`[default]\nrole_arn = ${READER}\nsource_profile = base\n`, {
      AWS_ACCESS_KEY_ID: 'AKIDENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
    });
    expect(loadS3Config(env).accessKeyId).toBe('AKIDENV');
  });

  it('the STS endpoint: the override, else regional, global for legacy, .com.cn in China', () => {
    expect(stsEndpoint({ AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9/' }, 'eu-west-1')).toEqual({
      url: 'http://127.0.0.1:9',
      region: 'eu-west-1',
    });
    expect(stsEndpoint({}, 'eu-west-1')).toEqual({ url: 'https://sts.eu-west-1.amazonaws.com', region: 'eu-west-1' });
    expect(stsEndpoint({}, 'eu-west-1', (k) => (k === 'sts_regional_endpoints' ? 'legacy' : undefined))).toEqual({
      url: 'https://sts.amazonaws.com',
      region: 'us-east-1',
    });
    expect(stsEndpoint({ AWS_STS_REGIONAL_ENDPOINTS: 'legacy' }, 'ap-east-1').url).toBe(
      'https://sts.ap-east-1.amazonaws.com',
    );
    expect(stsEndpoint({}, 'cn-north-1').url).toBe('https://sts.cn-north-1.amazonaws.com.cn');
  });

  it('mfa_serial is refused in one line (curate cannot prompt for a code)', async () => {
    const env = await roleEnv(
      `[profile admin]\nrole_arn = ${READER}\nsource_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/me\n`,
      { AWS_PROFILE: 'admin' },
    );
    expect(() => loadS3Config(env)).toThrow(
      /^profile "admin" \(role .*\) needs an MFA code \(mfa_serial arn:aws:iam::111122223333:mfa\/me\), which curate cannot prompt for: /,
    );
    expect(fake.requests.length).toBe(0);
  });
});

describe('cachedProvider', () => {
  it('refreshes 5 minutes before the expiry, not earlier', async () => {
    let clock = 0;
    let n = 0;
    const p = cachedProvider(
      { name: 't', fetch: async () => ({ accessKeyId: `K${++n}`, secretAccessKey: 'S', expiration: 10 * 60_000 }) },
      () => clock,
    );
    expect((await p()).accessKeyId).toBe('K1');
    clock = 4 * 60_000;
    expect((await p()).accessKeyId).toBe('K1');
    clock = 5 * 60_000 + 1;
    expect((await p()).accessKeyId).toBe('K2');
    expect((await p({ refresh: true })).accessKeyId).toBe('K3');
  });
});

describe('the S3 client with temporary credentials', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(() => s3.stop());

  it('signs with instance-role keys and fetches new ones as they near their expiry', async () => {
    fake.ttlMs = 60_000;
    const env = await baseEnv({ AWS_ENDPOINT_URL: s3.endpoint });
    const client = new S3Client(loadS3Config(env), env);
    const url = `s3://${s3.bucket}/cred/a.txt`;
    await client.put(url, new TextEncoder().encode('hello'));
    expect(new TextDecoder().decode(await client.read(url, 0, 5))).toBe('hello');
    const fetched = fake.requests.filter((r) => r.path === `/latest/meta-data/iam/security-credentials/${fake.role}`);
    expect(fetched.length).toBe(2);
  });

  it('an ExpiredToken answer fetches new keys and retries', async () => {
    let calls = 0;
    const tokens: string[] = [];
    const store = http.createServer((req, res) => {
      calls++;
      tokens.push(String(req.headers['x-amz-security-token']));
      if (calls === 1) {
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end('<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>');
        return;
      }
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    await new Promise<void>((r) => store.listen(0, '127.0.0.1', r));
    try {
      const env = await baseEnv({
        AWS_ENDPOINT_URL: `http://127.0.0.1:${(store.address() as AddressInfo).port}`,
        CURATE_S3_RETRY_BASE_MS: '1',
      });
      const client = new S3Client(loadS3Config(env), env);
      expect(new TextDecoder().decode(await client.read('s3://bkt/k', 0, 2))).toBe('ok');
      expect(calls).toBe(2);
      expect(tokens[0]).not.toBe(tokens[1]);
    } finally {
      store.closeAllConnections();
      await new Promise<void>((r) => store.close(() => r()));
    }
  });
});
