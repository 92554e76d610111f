/**
 * The registry room's face for the CLI, loaded only by commands that talk to a registry
 * (`pull`, `push`, `login`, `logout`, and `run`/`create` when they must pull), so a `run`
 * of a local image never loads any of it.
 */
import { emit } from '../../state/events.js';
import { TsdError } from '../../sys/errors.js';
import { parseRemoteRef, type RemoteRef } from '../reference.js';
import { basicHeader, fetchToken, wrongCredentials, type Credentials } from './auth.js';
import { connect, openSession, registryErrors } from './client.js';
import { eraseCredentials, saveCredentials } from './creds.js';
import { closeAgents, readBody, request, unreachable } from './http.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { pullImage, type ProgressEvents } from './pull.js';
import { pushImage } from './push.js';

export interface PullOptions {
  platform?: string;
  all?: boolean;
  quiet?: boolean;
  progress: ProgressEvents;
  /** where the final reference goes (stdout for `pull`) */
  out(line: string): void;
}

async function listTags(ref: RemoteRef): Promise<string[]> {
  const s = await openSession(ref.domain, ref.repository);
  const tags: string[] = [];
  let path: string | undefined = `/v2/${ref.repository}/tags/list`;
  for (let page = 0; path && page < 100; page++) {
    const r = await s.call('GET', path);
    const body = await readBody(r, 16 << 20);
    if (r.status === 404) throw new TsdError('IMAGE_NOT_FOUND', `repository ${ref.name} not found: ${registryErrors(body)}`, { hint: 'check the name' });
    if (r.status !== 200) throw new TsdError('REGISTRY', `${s.host}: tags of ${ref.repository}: ${r.status} ${registryErrors(body)}`, { hint: 'retry later' });
    tags.push(...(((JSON.parse(body.toString('utf8')) as { tags?: string[] }).tags ?? []) as string[]));
    const link = /<([^>]+)>;\s*rel="next"/.exec(String(r.headers.link ?? ''));
    path = link?.[1];
  }
  return [...new Set(tags)].sort();
}

async function pullOne(ref: RemoteRef, typed: string, o: PullOptions): Promise<void> {
  const platformGiven = o.platform !== undefined;
  const platform = platformGiven ? parsePlatform(o.platform!) : hostPlatform();
  if (!ref.digest && !/:[^/]+$/.test(typed.split('@')[0]!) && !o.all) o.progress.line(`Using default tag: ${ref.tag}`);
  const res = await pullImage(ref, { platform, platformGiven, events: o.progress, heading: `${ref.digest ?? ref.tag}: Pulling from ${ref.repository}` });
  const shown = ref.full ?? `${ref.name}@${ref.digest}`;
  emit('image', 'pull', shown, { name: shown });
  o.progress.line(`Digest: ${res.digest}`);
  o.progress.line(res.changed ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}`);
}

/** `tsdocker pull`. */
export async function pullCommand(typed: string, o: PullOptions): Promise<void> {
  const ref = parseRemoteRef(typed);
  try {
    if (!o.all) {
      await pullOne(ref, typed, o);
      o.out(ref.canonical);
      return;
    }
    if (ref.digest || /:[^/]+$/.test(typed)) throw new TsdError('BAD_ARGS', 'tag can\'t be used with --all-tags/-a', { hint: 'give the repository name alone' });
    for (const tag of await listTags(ref)) await pullOne(parseRemoteRef(`${ref.name}:${tag}`), `${ref.name}:${tag}`, o);
    o.out(`${ref.domain}/${ref.repository}`);
  } finally {
    closeAgents();
  }
}

/** For `run`/`create`: pull what they need; progress goes where the caller says (stderr). */
export async function pullForRun(typed: string, progress: ProgressEvents, platform?: string): Promise<void> {
  await pullCommand(typed, { progress, out: () => undefined, platform });
}

export async function pushCommand(typed: string, progress: ProgressEvents): Promise<void> {
  try {
    const ref = parseRemoteRef(typed);
    await pushImage(ref, progress);
    const shown = ref.full ?? `${ref.name}@${ref.digest}`;
    emit('image', 'push', shown, { name: shown });
  } finally {
    closeAgents();
  }
}

/** Check credentials against the registry (Docker's login), then save them. */
export async function loginCommand(server: string | undefined, creds: Credentials): Promise<string> {
  const domain = normalizeServer(server);
  try {
    const ep = await connect(domain);
    const ch = ep.challenge;
    if (ch?.scheme === 'bearer') await fetchToken(ep.host, ch, [], creds, ep.tls);
    else if (ch?.scheme === 'basic') {
      let r;
      try {
        r = await request(new URL('/v2/', ep.origin), { tls: ep.tls, headers: { authorization: basicHeader(creds) } });
      } catch (err) {
        throw unreachable(ep.host, err);
      }
      await readBody(r, 1 << 20);
      if (r.status === 401) throw wrongCredentials(ep.host);
      if (r.status !== 200) throw new TsdError('REGISTRY', `${ep.host}: /v2/ answered ${r.status} to the login`, { hint: 'retry later' });
    }
  } finally {
    closeAgents();
  }
  await saveCredentials(domain, creds);
  return 'Login Succeeded';
}

export async function logoutCommand(server: string | undefined): Promise<string> {
  const domain = normalizeServer(server);
  return (await eraseCredentials(domain)) ? `Removing login credentials for ${domain}` : `Not logged in to ${domain}`;
}

/** `login REGISTRY` takes `host[:port]`, a URL, or nothing (Docker Hub). */
function normalizeServer(server: string | undefined): string {
  if (!server) return 'docker.io';
  const s = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') return 'docker.io';
  if (!/^[a-zA-Z0-9.-]+(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(s)) {
    throw new TsdError('BAD_ARGS', `invalid registry '${server}'`, { hint: 'give host[:port], e.g. 127.0.0.1:5000' });
  }
  return s;
}
