/**
 * Credentials in Docker's client config: `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`), `auths` keyed by registry with base64 `user:password` in
 * `auth`, or a credential helper (`credHelpers[registry]`, else `credsStore`) reached as
 * the executable `docker-credential-NAME get|store|erase`. Docker Hub's key is
 * `https://index.docker.io/v1/`. The file is written atomically, mode 0600, in a 0700 dir.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../sys/exec.js';
import { readJsonIfExists, writeFileAtomic } from '../../sys/fs.js';
import { TsdError } from '../../sys/errors.js';
import { DEFAULT_DOMAIN } from '../reference.js';
import type { Credentials } from './auth.js';

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; [k: string]: unknown }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export const configDir = (): string => process.env.DOCKER_CONFIG || join(homedir(), '.docker');
const configFile = (): string => join(configDir(), 'config.json');

/** The key Docker files a registry's credentials under. */
export const serverKey = (domain: string): string => (domain === DEFAULT_DOMAIN ? 'https://index.docker.io/v1/' : domain);

async function readConfig(): Promise<ConfigFile> {
  try {
    return (await readJsonIfExists<ConfigFile>(configFile())) ?? {};
  } catch (err) {
    throw new TsdError('BAD_ARGS', `${configFile()}: not valid JSON (${(err as Error).message})`, { hint: 'fix the file or move it away' });
  }
}

async function writeConfig(c: ConfigFile): Promise<void> {
  mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(configFile(), JSON.stringify(c, null, '\t') + '\n', 0o600);
}

function helperOf(c: ConfigFile, key: string): string | undefined {
  return c.credHelpers?.[key] ?? c.credsStore ?? undefined;
}

async function helper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<string | undefined> {
  const r = await exec([`docker-credential-${name}`, action], { input, okCodes: [0, 1] });
  if (r.code === 0) return r.stdout;
  const msg = (r.stdout + r.stderr).trim();
  if (action !== 'store' && /credentials not found/i.test(msg)) return undefined;
  throw new TsdError('CMD_FAILED', `docker-credential-${name} ${action}: ${msg || 'failed'}`, { hint: 'check the credential helper named in config.json' });
}

export async function getCredentials(domain: string): Promise<Credentials | undefined> {
  const c = await readConfig();
  const key = serverKey(domain);
  const h = helperOf(c, key);
  if (h) {
    const outp = await helper(h, 'get', key);
    if (!outp) return undefined;
    const j = JSON.parse(outp) as { Username?: string; Secret?: string };
    return j.Secret ? { username: j.Username ?? '', password: j.Secret } : undefined;
  }
  const e = c.auths?.[key] ?? (domain === DEFAULT_DOMAIN ? undefined : c.auths?.[`https://${domain}`]);
  if (!e) return undefined;
  if (e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i < 0) throw new TsdError('BAD_ARGS', `${configFile()}: the auth for ${key} is not base64 of user:password`, { hint: `tsdocker login ${domain}` });
    return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  if (e.username && e.password) return { username: e.username, password: e.password };
  return undefined;
}

export async function saveCredentials(domain: string, creds: Credentials): Promise<void> {
  const c = await readConfig();
  const key = serverKey(domain);
  const h = helperOf(c, key);
  c.auths ??= {};
  if (h) {
    await helper(h, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }));
    c.auths[key] = {};
  } else {
    c.auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  }
  await writeConfig(c);
}

/** Forget a registry's credentials; false when there were none. */
export async function eraseCredentials(domain: string): Promise<boolean> {
  const c = await readConfig();
  const key = serverKey(domain);
  const h = helperOf(c, key);
  let had = false;
  if (h) had = (await helper(h, 'erase', key)) !== undefined;
  if (c.auths?.[key]) {
    delete c.auths[key];
    had = true;
    await writeConfig(c);
  }
  return had;
}
