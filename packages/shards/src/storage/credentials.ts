/**
 * Temporary AWS credentials, from the sources a data engineer on a cluster has (the AWS SDKs' chain,
 * after the static keys aws-config.ts reads): the profile's `credential_process`, its SSO settings (a
 * cached `aws sso login` token exchanged at the SSO portal), web identity (EKS service-account roles:
 * a token file exchanged at STS), container credentials (ECS, EKS Pod Identity) and EC2 instance
 * metadata (IMDSv2); and roles a profile assumes (`role_arn` + `source_profile`/`credential_source`:
 * STS AssumeRole signed with the source's keys, chains of roles followed). Each source gives keys with an expiry; `cachedProvider` refreshes them before
 * they expire and shares one fetch between concurrent requests.
 *
 * Endpoints can be pointed elsewhere as the AWS SDKs allow (the tests point them at 127.0.0.1):
 * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_SSO (else AWS_ENDPOINT_URL), AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * AWS_CONTAINER_CREDENTIALS_FULL_URI.
 */
import { exec } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@curate/core';
import { AwsV4Signer } from 'aws4fetch';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When the keys stop working (ms since the epoch); absent: they do not expire. */
  expiration?: number;
}

/** Gives valid credentials; `refresh` forces new ones (the store answered ExpiredToken). */
export type CredentialProvider = (options?: { refresh?: boolean }) => Promise<AwsCredentials>;

/** A source of temporary credentials: its name (for messages) and one fetch. */
export interface CredentialSource {
  name: string;
  fetch(): Promise<AwsCredentials>;
}

function credError(message: string): InputError {
  return new InputError(message, { code: 'E_S3_CREDENTIALS' });
}

/** Refresh this long before the expiry (the SDKs use 5 minutes). */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Cache a source's credentials until `REFRESH_BEFORE_MS` before they expire; one fetch at a time.
 * When a refresh fails while the old keys are still valid, the old keys are used (and the next call
 * tries again), as the SDKs do for instance metadata.
 */
export function cachedProvider(source: CredentialSource, now: () => number = Date.now): CredentialProvider {
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return async (options = {}) => {
    const fresh = current && !options.refresh && (current.expiration ?? Infinity) - REFRESH_BEFORE_MS > now();
    if (fresh && current) return current;
    pending ??= source
      .fetch()
      .then((c) => {
        current = c;
        return c;
      })
      .catch((e) => {
        if (current && !options.refresh && (current.expiration ?? Infinity) > now()) return current;
        throw e;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** What a source's HTTP call may take (instance metadata answers in milliseconds or not at all). */
interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  attempts: number;
}

/** One HTTP request with a timeout, retried on network errors and 5xx; the answer's status and text. */
async function request(url: string, what: string, o: HttpOptions): Promise<{ status: number; text: string }> {
  let last: unknown;
  for (let attempt = 0; attempt < o.attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt * Math.random()));
    try {
      const res = await fetch(url, {
        method: o.method ?? 'GET',
        headers: o.headers,
        body: o.body,
        signal: AbortSignal.timeout(o.timeoutMs),
        redirect: 'manual',
      });
      const text = await res.text();
      if (res.status >= 500 || res.status === 429) {
        last = new Error(`HTTP ${res.status}`);
        continue;
      }
      return { status: res.status, text };
    } catch (e) {
      last = e;
    }
  }
  const why = last instanceof Error ? (last.name === 'TimeoutError' ? 'no answer' : last.message) : String(last);
  throw credError(`${what}: ${url} failed after ${o.attempts} attempts: ${why}`);
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') return v as Record<string, unknown>;
  } catch {}
  throw credError(`${what}: the answer is not a JSON object: ${text.slice(0, 120)}`);
}

/** Keys from the JSON shape IMDS, container endpoints and credential_process share. */
function fromJson(
  j: Record<string, unknown>,
  what: string,
  names = { id: 'AccessKeyId', secret: 'SecretAccessKey', token: 'Token', expiration: 'Expiration' },
): AwsCredentials {
  const id = j[names.id];
  const secret = j[names.secret];
  if (typeof id !== 'string' || typeof secret !== 'string' || !id || !secret) {
    throw credError(`${what}: the answer has no ${names.id} and ${names.secret}`);
  }
  const out: AwsCredentials = { accessKeyId: id, secretAccessKey: secret };
  const token = j[names.token];
  if (typeof token === 'string' && token) out.sessionToken = token;
  const exp = j[names.expiration];
  if (exp !== undefined && exp !== null) {
    const ms = typeof exp === 'number' ? exp : Date.parse(String(exp));
    if (!Number.isFinite(ms)) throw credError(`${what}: unreadable ${names.expiration} ${JSON.stringify(exp)}`);
    out.expiration = ms;
  }
  return out;
}

function xmlTag(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m?.[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** `credential_process` of a profile: a command printing `{"Version": 1, "AccessKeyId": ...}`. */
export function processSource(command: string, profile: string): CredentialSource {
  const what = `credential_process of profile "${profile}"`;
  return {
    name: what,
    fetch: () =>
      new Promise((resolve, reject) => {
        exec(command, { timeout: 5 * 60_000, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout, stderr) => {
          if (err) {
            const line = String(stderr).trim().split('\n').pop() || err.message.split('\n')[0];
            reject(credError(`${what} failed (${command}): ${line}`));
            return;
          }
          try {
            const j = parseJson(String(stdout), what);
            if (j.Version !== 1) throw credError(`${what}: Version must be 1, got ${JSON.stringify(j.Version)}`);
            resolve(
              fromJson(j, what, {
                id: 'AccessKeyId',
                secret: 'SecretAccessKey',
                token: 'SessionToken',
                expiration: 'Expiration',
              }),
            );
          } catch (e) {
            reject(e);
          }
        });
      }),
  };
}

/** STS AssumeRoleWithWebIdentity with the token in `tokenFile` (read again at every refresh: EKS rotates it). */
export function webIdentitySource(
  tokenFile: string,
  roleArn: string,
  sessionName: string,
  stsEndpoint: string,
): CredentialSource {
  const what = `web identity (${tokenFile}, role ${roleArn})`;
  return {
    name: what,
    async fetch() {
      let token: string;
      try {
        token = readFileSync(tokenFile, 'utf8').trim();
      } catch (e) {
        throw credError(`${what}: cannot read the token file: ${(e as Error).message}`);
      }
      const body = new URLSearchParams({
        Action: 'AssumeRoleWithWebIdentity',
        Version: '2011-06-15',
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        WebIdentityToken: token,
      }).toString();
      const { status, text } = await request(`${stsEndpoint}/`, `${what}: STS`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' },
        body,
        timeoutMs: 10_000,
        attempts: 3,
      });
      if (status !== 200) {
        const code = xmlTag(text, 'Code');
        const msg = xmlTag(text, 'Message');
        throw credError(`${what}: STS refused: HTTP ${status}${code ? ` ${code}` : ''}${msg ? `: ${msg}` : ''}`);
      }
      const c = xmlTag(text, 'Credentials') ?? '';
      return fromJson(
        {
          AccessKeyId: xmlTag(c, 'AccessKeyId'),
          SecretAccessKey: xmlTag(c, 'SecretAccessKey'),
          Token: xmlTag(c, 'SessionToken'),
          Expiration: xmlTag(c, 'Expiration'),
        },
        `${what}: STS`,
      );
    },
  };
}

/** Hosts an http:// AWS_CONTAINER_CREDENTIALS_FULL_URI may name (the SDKs' rule: loopback, ECS and EKS agents). */
function allowedContainerHost(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const h = url.hostname;
  return (
    h === 'localhost' ||
    /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === '[::1]' ||
    h === '169.254.170.2' ||
    h === '169.254.170.23' ||
    h === '[fd00:ec2::23]'
  );
}

/** The container credentials endpoint (ECS task role, EKS Pod Identity) with its authorization token. */
export function containerSource(env: NodeJS.ProcessEnv): CredentialSource | undefined {
  const rel = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (!rel && !full) return undefined;
  const url = rel ? `http://169.254.170.2${rel.startsWith('/') ? '' : '/'}${rel}` : (full as string);
  const what = `container credentials (${url})`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw credError(`${what}: not a URL`);
  }
  if (!rel && !allowedContainerHost(parsed)) {
    throw credError(
      `${what}: an http:// AWS_CONTAINER_CREDENTIALS_FULL_URI must be a loopback or ECS/EKS agent address`,
    );
  }
  return {
    name: what,
    async fetch() {
      const headers: Record<string, string> = {};
      let auth = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
        try {
          auth = readFileSync(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8').trim();
        } catch (e) {
          throw credError(`${what}: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ${(e as Error).message}`);
        }
      }
      if (auth) headers.authorization = auth;
      const { status, text } = await request(url, what, { headers, timeoutMs: 2000, attempts: 3 });
      if (status !== 200) throw credError(`${what}: HTTP ${status}: ${text.slice(0, 120)}`);
      return fromJson(parseJson(text, what), what);
    },
  };
}

/** EC2 instance metadata, IMDSv2: a session token (PUT), the role's name, then its credentials. */
export function imdsSource(endpoint: string): CredentialSource {
  const base = endpoint.replace(/\/+$/, '');
  const what = `EC2 instance metadata (${base})`;
  const o = { timeoutMs: 1000, attempts: 2 };
  return {
    name: what,
    async fetch() {
      const tok = await request(`${base}/latest/api/token`, what, {
        ...o,
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
      });
      if (tok.status !== 200) throw credError(`${what}: IMDSv2 token refused: HTTP ${tok.status}`);
      const headers = { 'x-aws-ec2-metadata-token': tok.text.trim() };
      const dir = `${base}/latest/meta-data/iam/security-credentials/`;
      const roles = await request(dir, what, { ...o, headers });
      const role = roles.text.split('\n')[0]?.trim();
      if (roles.status !== 200 || !role) {
        throw credError(`${what}: no instance role (HTTP ${roles.status}): attach an IAM role to the instance`);
      }
      const cred = await request(dir + encodeURIComponent(role), what, { ...o, headers });
      if (cred.status !== 200) throw credError(`${what}: credentials of role ${role}: HTTP ${cred.status}`);
      const j = parseJson(cred.text, what);
      if (j.Code !== undefined && j.Code !== 'Success') throw credError(`${what}: role ${role}: ${String(j.Code)}`);
      return fromJson(j, what);
    },
  };
}

/**
 * SSO: the token `aws sso login` cached in ~/.aws/sso/cache (named by the sha1 of the sso-session
 * name, or of the start URL for legacy profiles), exchanged at the SSO portal's GetRoleCredentials.
 * An expired token is not refreshed here: the message says to run `aws sso login` again.
 */
export function ssoSource(
  settings: { startUrl: string; region: string; accountId: string; roleName: string; session?: string },
  profile: string,
  home: string,
  endpoint?: string,
): CredentialSource {
  const what = `SSO of profile "${profile}"`;
  const login = `run: aws sso login --profile ${profile}`;
  const file = join(
    home,
    '.aws',
    'sso',
    'cache',
    `${createHash('sha1')
      .update(settings.session ?? settings.startUrl)
      .digest('hex')}.json`,
  );
  const portal = (endpoint ?? `https://portal.sso.${settings.region}.amazonaws.com`).replace(/\/+$/, '');
  return {
    name: what,
    async fetch() {
      let cached: Record<string, unknown>;
      try {
        cached = parseJson(readFileSync(file, 'utf8'), what);
      } catch {
        throw credError(`${what}: no cached SSO token in ${file} (${login})`);
      }
      const token = cached.accessToken;
      const expiresAt = Date.parse(String(cached.expiresAt));
      if (typeof token !== 'string' || !token || !(expiresAt > Date.now())) {
        throw credError(`${what}: the cached SSO token has expired (${login})`);
      }
      const q = new URLSearchParams({ role_name: settings.roleName, account_id: settings.accountId });
      const url = `${portal}/federation/credentials?${q}`;
      const { status, text } = await request(url, what, {
        headers: { 'x-amz-sso_bearer_token': token },
        timeoutMs: 10_000,
        attempts: 3,
      });
      if (status === 401 || status === 403) throw credError(`${what}: the SSO portal refused the token (${login})`);
      if (status !== 200) throw credError(`${what}: SSO portal: HTTP ${status}: ${text.slice(0, 120)}`);
      const rc = parseJson(text, what).roleCredentials;
      if (!rc || typeof rc !== 'object') throw credError(`${what}: SSO portal: no roleCredentials in the answer`);
      return fromJson(rc as Record<string, unknown>, what, {
        id: 'accessKeyId',
        secret: 'secretAccessKey',
        token: 'sessionToken',
        expiration: 'expiration',
      });
    },
  };
}

/** A profile's settings (credentials file first, then config file); undefined when neither file has it. */
export type ProfileLookup = (name: string) => ((key: string) => string | undefined) | undefined;

/** Regions whose STS endpoint is the global one when `sts_regional_endpoints = legacy`. */
const LEGACY_GLOBAL_STS = new Set([
  'ap-northeast-1',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'aws-global',
  'ca-central-1',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
]);

/**
 * The STS endpoint and its signing region: AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL when set, else the
 * regional endpoint (the SDKs' default), or the global one for `sts_regional_endpoints = legacy`
 * (AWS_STS_REGIONAL_ENDPOINTS) in the regions that used it.
 */
export function stsEndpoint(
  env: NodeJS.ProcessEnv,
  region: string,
  pick: (key: string) => string | undefined = () => undefined,
): { url: string; region: string } {
  const set = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  if (set) return { url: set.replace(/\/+$/, ''), region };
  const mode = (env.AWS_STS_REGIONAL_ENDPOINTS || pick('sts_regional_endpoints') || 'regional').toLowerCase();
  if (mode === 'legacy' && LEGACY_GLOBAL_STS.has(region))
    return { url: 'https://sts.amazonaws.com', region: 'us-east-1' };
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { url: `https://sts.${region}.${domain}`, region };
}

/** One line: STS messages and nested errors may carry newlines. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** STS error codes meaning the signing keys (temporary source keys) have expired: refresh them, try again. */
const STS_EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

export interface AssumeRoleSettings {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  durationSeconds?: number;
  /** The profile that names the role (for messages). */
  profile: string;
  sts: { url: string; region: string };
}

/**
 * STS AssumeRole, signed (SigV4, service `sts`) with the keys `source` gives: the role profile's
 * `source_profile` (static keys or its own temporary source, possibly another role) or
 * `credential_source`. When STS says the source keys expired, they are refreshed and the call retried once.
 */
export function assumeRoleSource(settings: AssumeRoleSettings, source: CredentialProvider): CredentialSource {
  const what = `role ${settings.roleArn} of profile "${settings.profile}"`;
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: settings.roleArn,
    RoleSessionName: settings.sessionName,
  };
  if (settings.externalId) form.ExternalId = settings.externalId;
  if (settings.durationSeconds !== undefined) form.DurationSeconds = String(settings.durationSeconds);
  const body = new URLSearchParams(form).toString();
  const call = async (refresh: boolean) => {
    let keys: AwsCredentials;
    try {
      keys = await source(refresh ? { refresh } : undefined);
    } catch (e) {
      throw credError(`${what}: source credentials: ${oneLine((e as Error).message)}`);
    }
    const signed = await new AwsV4Signer({
      method: 'POST',
      url: `${settings.sts.url}/`,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' },
      body,
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
      sessionToken: keys.sessionToken,
      service: 'sts',
      region: settings.sts.region,
    }).sign();
    const headers: Record<string, string> = {};
    signed.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return request(signed.url.toString(), `${what}: STS AssumeRole`, {
      method: 'POST',
      headers,
      body,
      timeoutMs: 10_000,
      attempts: 3,
    });
  };
  return {
    name: what,
    async fetch() {
      let { status, text } = await call(false);
      if (status !== 200 && STS_EXPIRED.has(xmlTag(text, 'Code') ?? '')) ({ status, text } = await call(true));
      if (status !== 200) {
        const code = xmlTag(text, 'Code');
        const msg = xmlTag(text, 'Message');
        throw credError(
          oneLine(`${what}: STS AssumeRole refused: HTTP ${status}${code ? ` ${code}` : ''}${msg ? `: ${msg}` : ''}`),
        );
      }
      const c = xmlTag(text, 'Credentials') ?? '';
      return fromJson(
        {
          AccessKeyId: xmlTag(c, 'AccessKeyId'),
          SecretAccessKey: xmlTag(c, 'SecretAccessKey'),
          Token: xmlTag(c, 'SessionToken'),
          Expiration: xmlTag(c, 'Expiration'),
        },
        `${what}: STS AssumeRole`,
      );
    },
  };
}

/** What resolving a profile needs beyond its own settings. */
interface ProfileContext {
  env: NodeJS.ProcessEnv;
  /** Other profiles' settings (for `source_profile`). */
  lookup: ProfileLookup;
  ssoSession: (name: string) => Map<string, string> | undefined;
  /** The region in effect (AWS_REGION, AWS_DEFAULT_REGION, the active profile's, else us-east-1). */
  region: string;
}

/** True when the profile assumes a role from another profile or a credential source. */
export function assumesRole(pick: (key: string) => string | undefined): boolean {
  return !!pick('role_arn') && !!(pick('source_profile') || pick('credential_source'));
}

const constant =
  (c: AwsCredentials): CredentialProvider =>
  async () =>
    c;

/** The `credential_source` of a role profile: environment keys, instance metadata, or the container endpoint. */
function credentialSource(
  kind: string,
  profile: string,
  ctx: ProfileContext,
  pick: (key: string) => string | undefined,
) {
  const env = ctx.env;
  const what = `credential_source ${kind} of profile "${profile}"`;
  if (kind === 'Environment') {
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      throw credError(`${what}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set`);
    }
    const c: AwsCredentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    if (env.AWS_SESSION_TOKEN) c.sessionToken = env.AWS_SESSION_TOKEN;
    return constant(c);
  }
  if (kind === 'Ec2InstanceMetadata') {
    const imds =
      env.AWS_EC2_METADATA_SERVICE_ENDPOINT || pick('ec2_metadata_service_endpoint') || 'http://169.254.169.254';
    return cachedProvider(imdsSource(imds));
  }
  if (kind === 'EcsContainer') {
    const container = containerSource(env);
    if (!container) {
      throw credError(
        `${what}: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set`,
      );
    }
    return cachedProvider(container);
  }
  throw credError(
    `${what}: unknown credential_source (curate knows Environment, Ec2InstanceMetadata and EcsContainer)`,
  );
}

/**
 * A role profile (`role_arn` + `source_profile` or `credential_source`) as the AWS SDKs and CLI resolve
 * it: the source's keys (chains of roles followed, cycles refused naming the profiles), then STS
 * AssumeRole signed with them. `chain` is the profiles already being resolved, outermost first.
 */
function roleSource(
  profile: string,
  pick: (key: string) => string | undefined,
  ctx: ProfileContext,
  chain: string[],
): CredentialSource {
  const roleArn = pick('role_arn') as string;
  const sourceProfile = pick('source_profile');
  const credSource = pick('credential_source');
  const what = `profile "${profile}" (role ${roleArn})`;
  if (sourceProfile && credSource) {
    throw credError(`${what} sets both source_profile and credential_source: keep one`);
  }
  const mfa = pick('mfa_serial');
  if (mfa) {
    throw credError(
      `${what} needs an MFA code (mfa_serial ${mfa}), which curate cannot prompt for: export the role's keys first (aws configure export-credentials --profile ${profile} --format env)`,
    );
  }
  let duration: number | undefined;
  const d = pick('duration_seconds');
  if (d !== undefined) {
    duration = Number(d);
    if (!/^\d+$/.test(d) || duration < 900 || duration > 43_200) {
      throw credError(`${what}: duration_seconds must be a whole number from 900 to 43200, got ${JSON.stringify(d)}`);
    }
  }
  let source: CredentialProvider;
  if (sourceProfile) {
    if (sourceProfile === profile) {
      // a profile may name itself: its own static keys assume its role (as the SDKs allow)
      const keys = staticKeys(pick);
      if (!keys)
        throw credError(`${what} is its own source_profile but has no aws_access_key_id/aws_secret_access_key`);
      source = constant(keys);
    } else {
      const seen = [...chain, profile];
      if (seen.includes(sourceProfile)) {
        throw credError(
          `source_profile cycle: ${[...seen.slice(seen.indexOf(sourceProfile)), sourceProfile].map((p) => `"${p}"`).join(' -> ')}`,
        );
      }
      const srcPick = ctx.lookup(sourceProfile);
      if (!srcPick) {
        throw credError(
          `${what}: its source_profile "${sourceProfile}" is in neither the credentials nor the config file`,
        );
      }
      source = sourceProvider(sourceProfile, srcPick, ctx, seen);
    }
  } else {
    source = credentialSource(credSource as string, profile, ctx, pick);
  }
  const region = ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION || pick('region') || ctx.region;
  return assumeRoleSource(
    {
      roleArn,
      sessionName: pick('role_session_name') || `curate-${Date.now()}`,
      externalId: pick('external_id'),
      durationSeconds: duration,
      profile,
      sts: stsEndpoint(ctx.env, region, pick),
    },
    source,
  );
}

function staticKeys(pick: (key: string) => string | undefined): AwsCredentials | undefined {
  const accessKeyId = pick('aws_access_key_id');
  const secretAccessKey = pick('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) return undefined;
  const c: AwsCredentials = { accessKeyId, secretAccessKey };
  const token = pick('aws_session_token');
  if (token) c.sessionToken = token;
  return c;
}

/** The keys of a `source_profile`: another role, else its static keys, else its own SSO / process / web identity. */
function sourceProvider(
  profile: string,
  pick: (key: string) => string | undefined,
  ctx: ProfileContext,
  chain: string[],
): CredentialProvider {
  if (assumesRole(pick)) return cachedProvider(roleSource(profile, pick, ctx, chain));
  const keys = staticKeys(pick);
  if (keys) return constant(keys);
  const own = profileSource(profile, pick, ctx, chain);
  if (!own) {
    throw credError(
      `profile "${profile}" (source_profile of "${chain[chain.length - 1]}") has no credentials: no keys, role, SSO, credential_process or web identity`,
    );
  }
  return cachedProvider(own);
}

/** The temporary source a profile itself configures: a role it assumes, SSO, credential_process, web identity. */
function profileSource(
  profile: string,
  pick: (key: string) => string | undefined,
  ctx: ProfileContext,
  chain: string[],
): CredentialSource | undefined {
  if (assumesRole(pick)) return roleSource(profile, pick, ctx, chain);
  const { env } = ctx;
  const home = env.HOME || homedir();
  const session = pick('sso_session');
  const startUrl = session ? ctx.ssoSession(session)?.get('sso_start_url') : pick('sso_start_url');
  if (session || startUrl) {
    const ssoRegion = (session ? ctx.ssoSession(session)?.get('sso_region') : undefined) ?? pick('sso_region');
    const accountId = pick('sso_account_id');
    const roleName = pick('sso_role_name');
    if (!startUrl || !ssoRegion || !accountId || !roleName) {
      throw credError(
        `SSO profile "${profile}" is incomplete: it needs sso_start_url and sso_region${session ? ` (in [sso-session ${session}])` : ''}, sso_account_id and sso_role_name`,
      );
    }
    const endpoint = env.AWS_ENDPOINT_URL_SSO || env.AWS_ENDPOINT_URL;
    return ssoSource({ startUrl, region: ssoRegion, accountId, roleName, session }, profile, home, endpoint);
  }
  const proc = pick('credential_process');
  if (proc) return processSource(proc, profile);
  const profFile = pick('web_identity_token_file');
  const profRole = pick('role_arn');
  if (profFile && profRole) {
    const sessionName = env.AWS_ROLE_SESSION_NAME || pick('role_session_name') || `curate-${Date.now()}`;
    return webIdentitySource(profFile, profRole, sessionName, stsEndpoint(env, ctx.region, pick).url);
  }
  return undefined;
}

/**
 * The first configured temporary-credentials source for `env` and the profile's settings, in the
 * order of the AWS SDKs: a role the profile assumes (`role_arn` + `source_profile`/`credential_source`),
 * the profile's SSO, `credential_process`, web identity (profile, then AWS_WEB_IDENTITY_TOKEN_FILE +
 * AWS_ROLE_ARN), container credentials, then instance metadata (unless AWS_EC2_METADATA_DISABLED=true).
 * Undefined when none applies. `lookup` gives other profiles (source_profile); without it only the
 * profile itself is known.
 */
export function temporarySource(
  env: NodeJS.ProcessEnv,
  profile: string,
  pick: (key: string) => string | undefined,
  ssoSession: (name: string) => Map<string, string> | undefined,
  region: string,
  lookup: ProfileLookup = (name) => (name === profile ? pick : undefined),
): CredentialSource | undefined {
  const own = profileSource(profile, pick, { env, lookup, ssoSession, region }, []);
  if (own) return own;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    const sessionName = env.AWS_ROLE_SESSION_NAME || pick('role_session_name') || `curate-${Date.now()}`;
    return webIdentitySource(
      env.AWS_WEB_IDENTITY_TOKEN_FILE,
      env.AWS_ROLE_ARN,
      sessionName,
      stsEndpoint(env, region, pick).url,
    );
  }
  const container = containerSource(env);
  if (container) return container;
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') return undefined;
  const imds =
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT || pick('ec2_metadata_service_endpoint') || 'http://169.254.169.254';
  return imdsSource(imds);
}
