/**
 * S3 settings from the standard AWS chain users already have, read once per process:
 * - credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the keys of the
 *   profile (AWS_PROFILE, default `default`) in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
 *   default ~/.aws/credentials), else in the shared config file (AWS_CONFIG_FILE, default ~/.aws/config,
 *   sections `[profile NAME]` and `[default]`); else temporary credentials, refreshed before they
 *   expire (credentials.ts): the profile's SSO or `credential_process`, web identity, container
 *   credentials, EC2 instance metadata. A profile that assumes a role (`role_arn` + `source_profile` or
 *   `credential_source`) comes first: before its own static keys, and before the environment's keys
 *   when AWS_PROFILE names it (as in the AWS SDK for JavaScript v3);
 * - region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, else us-east-1;
 * - endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's `endpoint_url` (MinIO, R2 and other
 *   S3-compatible stores); with an endpoint, requests use path-style addressing (`ENDPOINT/BUCKET/KEY`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@curate/core';
import {
  assumesRole,
  type CredentialProvider,
  cachedProvider,
  type ProfileLookup,
  temporarySource,
} from './credentials.js';

export interface S3Config {
  /** Static keys (environment or profile); absent when `credentials` gives them. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Temporary credentials, fetched on first use and refreshed before they expire. */
  credentials?: CredentialProvider;
  region: string;
  /** Base URL of an S3-compatible endpoint (no trailing slash); absent: AWS virtual-hosted addressing. */
  endpoint?: string;
}

/** Sections of an INI file (`[name]` -> key -> value), comments and blank lines skipped. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      const name = sec[1].trim();
      cur = out.get(name) ?? new Map();
      out.set(name, cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && cur) cur.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return out;
}

function readIni(path: string): Map<string, Map<string, string>> {
  try {
    return parseIni(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}

/**
 * The settings for `env` (default process.env). Without static keys, `credentials` is the first
 * configured temporary source; with none (instance metadata disabled) the result is E_S3_CREDENTIALS
 * naming what was tried, as is an instance-metadata service that does not answer.
 */
export function loadS3Config(env: NodeJS.ProcessEnv = process.env): S3Config {
  const home = env.HOME || homedir();
  const profile = env.AWS_PROFILE || 'default';
  const credFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const confFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const credIni = readIni(credFile);
  const conf = readIni(confFile);
  const lookup: ProfileLookup = (name) => {
    const c = credIni.get(name);
    const p = conf.get(name === 'default' ? 'default' : `profile ${name}`) ?? conf.get(name);
    if (!c && !p) return undefined;
    return (key: string) => c?.get(key) ?? p?.get(key);
  };
  const pick = lookup(profile) ?? (() => undefined);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || pick('region') || 'us-east-1';
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || pick('endpoint_url');
  const config: S3Config = { region };
  if (endpoint) config.endpoint = endpoint.replace(/\/+$/, '');
  // a role profile wins over its own keys, and over the environment's when AWS_PROFILE names it
  const role = assumesRole(pick);
  const useEnv = !(role && env.AWS_PROFILE);
  let accessKeyId = useEnv ? env.AWS_ACCESS_KEY_ID : undefined;
  let secretAccessKey = useEnv ? env.AWS_SECRET_ACCESS_KEY : undefined;
  let sessionToken = useEnv ? env.AWS_SESSION_TOKEN : undefined;
  if ((!accessKeyId || !secretAccessKey) && !role) {
    accessKeyId = pick('aws_access_key_id');
    secretAccessKey = pick('aws_secret_access_key');
    sessionToken = pick('aws_session_token');
  }
  const tried = `set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ${credFile} or ${confFile} (profile "${profile}")`;
  if (accessKeyId && secretAccessKey) {
    const out: S3Config = { accessKeyId, secretAccessKey, ...config };
    if (sessionToken) out.sessionToken = sessionToken;
    return out;
  }
  const source = temporarySource(env, profile, pick, (name) => conf.get(`sso-session ${name}`), region, lookup);
  if (!source) {
    throw new InputError(`no S3 credentials: ${tried}, or a role (web identity, container, instance)`, {
      code: 'E_S3_CREDENTIALS',
    });
  }
  if (source.name.startsWith('EC2 instance metadata')) {
    // the last resort: when it does not answer, say everything that was tried
    const fetch = source.fetch;
    source.fetch = () =>
      fetch().catch((e: Error) => {
        throw new InputError(`no S3 credentials: ${tried}, or run with a role (${e.message})`, {
          code: 'E_S3_CREDENTIALS',
        });
      });
  }
  config.credentials = cachedProvider(source);
  return config;
}
