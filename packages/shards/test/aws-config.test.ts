/** The AWS settings chain: environment first, then the profile in the shared credentials and config files. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadS3Config } from '../src/index.js';
import { useTmp } from './helpers.js';

const tmp = useTmp();

describe('loadS3Config', () => {
  it('takes keys, token, region and endpoint from the environment', () => {
    const c = loadS3Config({
      HOME: '/nonexistent',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_SESSION_TOKEN: 'TOK',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://minio:9000/',
      AWS_ENDPOINT_URL_S3: 'http://s3only:9000',
    });
    expect(c).toEqual({
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: 'TOK',
      region: 'eu-west-1',
      endpoint: 'http://s3only:9000',
    });
  });

  it('reads AWS_PROFILE from the shared credentials and config files', async () => {
    const dir = await tmp();
    await writeFile(
      join(dir, 'credentials'),
      '[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n[work]\naws_access_key_id = W\naws_secret_access_key = WS\naws_session_token = WT\n',
    );
    await writeFile(
      join(dir, 'config'),
      '[default]\nregion = us-west-2\n[profile work]\nregion = ap-south-1\nendpoint_url = https://r2.example\n',
    );
    const env = {
      HOME: dir,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'config'),
    };
    expect(loadS3Config(env)).toEqual({ accessKeyId: 'D', secretAccessKey: 'DS', region: 'us-west-2' });
    expect(loadS3Config({ ...env, AWS_PROFILE: 'work' })).toEqual({
      accessKeyId: 'W',
      secretAccessKey: 'WS',
      sessionToken: 'WT',
      region: 'ap-south-1',
      endpoint: 'https://r2.example',
    });
  });

  it('no credentials anywhere: one line saying what was tried', () => {
    expect(() => loadS3Config({ HOME: '/nonexistent', AWS_PROFILE: 'x', AWS_EC2_METADATA_DISABLED: 'true' })).toThrow(
      /no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE .*profile "x"/,
    );
  });
});
