/**
 * Temporary AWS credentials, from the sources a data engineer on a cluster has (the AWS SDKs' chain,
 * after the static keys aws-config.ts reads): the profile's `credential_process`, its SSO settings (a
 * cached `aws sso login` token exchanged at the SSO portal), web identity (EKS service-account roles:
 * a token file exchanged at STS), container credentials (ECS, EKS Pod Identity) and EC2 instance
 * metadata (IMDSv2). Each source gives keys with an expiry; `cachedProvider` refreshes them before
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

/**
 * The first configured temporary-credentials source for `env` and the profile's settings, in the
 * order of the AWS SDKs: the profile's SSO, `credential_process`, web identity (profile, then
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container credentials, then instance metadata
 * (unless AWS_EC2_METADATA_DISABLED=true). Undefined when none applies.
 */
export function temporarySource(
  env: NodeJS.ProcessEnv,
  profile: string,
  pick: (key: string) => string | undefined,
  ssoSession: (name: string) => Map<string, string> | undefined,
  region: string,
): CredentialSource | undefined {
  const home = env.HOME || homedir();
  const session = pick('sso_session');
  const startUrl = session ? ssoSession(session)?.get('sso_start_url') : pick('sso_start_url');
  if (session || startUrl) {
    const ssoRegion = (session ? ssoSession(session)?.get('sso_region') : undefined) ?? pick('sso_region');
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
  const sts = (env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || `https://sts.${region}.amazonaws.com`).replace(
    /\/+$/,
    '',
  );
  const sessionName = env.AWS_ROLE_SESSION_NAME || pick('role_session_name') || `curate-${Date.now()}`;
  const profFile = pick('web_identity_token_file');
  const profRole = pick('role_arn');
  if (profFile && profRole) return webIdentitySource(profFile, profRole, sessionName, sts);
  if (profRole && (pick('source_profile') || pick('credential_source'))) {
    throw credError(
      `profile "${profile}" assumes role ${profRole} from another profile (source_profile/credential_source), which curate does not do: export that role's keys (aws configure export-credentials --profile ${profile} --format env)`,
    );
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    return webIdentitySource(env.AWS_WEB_IDENTITY_TOKEN_FILE, env.AWS_ROLE_ARN, sessionName, sts);
  }
  const container = containerSource(env);
  if (container) return container;
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') return undefined;
  const imds =
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT || pick('ec2_metadata_service_endpoint') || 'http://169.254.169.254';
  return imdsSource(imds);
}
