/**
 * A session with one repository on one registry: the `/v2/` version check picks the
 * scheme (HTTPS, or for an insecure registry HTTPS without verification then plain HTTP,
 * Docker's order), the challenge it returns picks the auth (bearer token or basic), and
 * `call` sends requests with it, fetching a fresh token when a 401 names a new scope.
 */
import { TsdError } from '../../sys/errors.js';
import { log } from '../../sys/log.js';
import { registryHost } from '../reference.js';
import { basicHeader, fetchToken, parseChallenge, wrongCredentials, type Challenge, type Credentials } from './auth.js';
import { getCredentials } from './creds.js';
import { readBody, request, unreachable, type Reply, type RequestOptions } from './http.js';
import { isInsecure, loadSettings } from './settings.js';
import { tlsFor, type TlsOptions } from './tls.js';

const mlog = log.child({ mod: 'image.registry' });

export interface Session {
  /** the registry as typed (`docker.io`, `127.0.0.1:5000`) */
  domain: string;
  /** the host spoken to */
  host: string;
  repository: string;
  /** `https://host` or `http://host` */
  origin: string;
  call(method: string, path: string, opts?: Omit<RequestOptions, 'tls'>): Promise<Reply>;
  /** add a scope (e.g. pull of another repository, for a cross-repository mount) */
  addScope(scope: string): void;
}

export interface OpenOptions {
  push?: boolean;
  /** credentials to use instead of the saved ones (login verifies these) */
  creds?: Credentials;
}

/** Parse a registry error reply: `{"errors":[{"code":"X","message":"y"}]}`. */
export function registryErrors(body: Buffer): string {
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const list = (j.errors ?? []).map((e) => [e.code?.toLowerCase().replace(/_/g, ' '), e.message].filter(Boolean).join(': '));
    if (list.length) return list.join('; ');
  } catch {
    /* not JSON */
  }
  return body.toString('utf8').trim().slice(0, 200);
}

async function ping(host: string, insecure: boolean, certsDir: string): Promise<{ origin: string; tls?: TlsOptions; reply: Reply }> {
  const tries: { origin: string; tls?: TlsOptions }[] = [{ origin: `https://${host}`, tls: tlsFor(host, certsDir, !insecure) }];
  if (insecure) tries.push({ origin: `http://${host}` });
  let last: unknown;
  for (const t of tries) {
    try {
      const reply = await request(new URL('/v2/', t.origin), { tls: t.tls });
      await readBody(reply, 1 << 20);
      // an HTTPS port answers plain HTTP with 400: the HTTPS failure is the one to report
      if (reply.status === 400 && t.origin.startsWith('http:') && last) break;
      return { ...t, reply };
    } catch (err) {
      mlog.debug({ origin: t.origin, err: (err as Error).message }, 'ping failed');
      last = err;
    }
  }
  throw unreachable(host, last);
}

export interface Endpoint {
  host: string;
  origin: string;
  tls?: TlsOptions;
  /** what /v2/ asked for, when it answered 401 */
  challenge?: Challenge;
}

/** The version check: which scheme answers, and what auth it wants. */
export async function connect(domain: string): Promise<Endpoint> {
  const host = registryHost(domain);
  const settings = loadSettings();
  const { origin, tls, reply } = await ping(host, isInsecure(host, settings.insecure), settings.certsDir);
  if (reply.status !== 200 && reply.status !== 401) {
    throw new TsdError('REGISTRY', `${host}: /v2/ answered ${reply.status}; is this a registry (distribution API v2)?`, {
      hint: 'check the registry address',
    });
  }
  const challenge = reply.status === 401 ? parseChallenge(reply.headers['www-authenticate'] as string | undefined) : undefined;
  return { host, origin, tls, challenge };
}

export async function openSession(domain: string, repository: string, opts: OpenOptions = {}): Promise<Session> {
  const { host, origin, tls, challenge: first } = await connect(domain);
  const creds = opts.creds ?? (await getCredentials(domain));
  const scopes = new Set([`repository:${repository}:${opts.push ? 'pull,push' : 'pull'}`]);
  let challenge = first;
  let authz: string | undefined;
  const authorize = async (ch: Challenge): Promise<void> => {
    if (ch.scheme === 'bearer') {
      if (ch.params.scope) for (const s of ch.params.scope.split(' ')) scopes.add(s);
      authz = `Bearer ${await fetchToken(host, ch, [...scopes], creds, tls)}`;
    } else if (ch.scheme === 'basic') {
      if (!creds) throw new TsdError('UNAUTHORIZED', `${host}: authentication required`, { hint: `log in first: tsdocker login ${host}` });
      authz = basicHeader(creds);
    } else {
      throw new TsdError('REGISTRY', `${host}: unsupported authentication scheme '${ch.scheme}'`, { hint: 'tsdocker speaks Bearer and Basic' });
    }
  };
  if (challenge) await authorize(challenge);
  const send = async (method: string, path: string, o: Omit<RequestOptions, 'tls'>): Promise<Reply> => {
    const url = new URL(path, origin);
    try {
      return await request(url, { ...o, method, tls, headers: { ...o.headers, ...(authz ? { authorization: authz } : {}) } });
    } catch (err) {
      throw unreachable(host, err);
    }
  };
  return {
    domain,
    host,
    repository,
    origin,
    addScope(scope) {
      if (!scopes.has(scope)) {
        scopes.add(scope);
        if (challenge?.scheme === 'bearer') authz = undefined; // the next call fetches a token for all scopes
      }
    },
    async call(method, path, o = {}) {
      if (!authz && challenge) await authorize(challenge);
      let r = await send(method, path, o);
      if (r.status !== 401) return r;
      // a new scope, an expired token, or auth first asked for here: authorize again, once
      const again = parseChallenge(r.headers['www-authenticate'] as string | undefined);
      if (again && (again.scheme === 'bearer' || !challenge) && (o.body === undefined || Buffer.isBuffer(o.body))) {
        r.body.resume();
        challenge = again;
        await authorize(again);
        r = await send(method, path, o);
        if (r.status !== 401) return r;
      }
      const body = await readBody(r, 1 << 20);
      if (creds && challenge?.scheme === 'basic') throw wrongCredentials(host);
      throw new TsdError('UNAUTHORIZED', `${host}: access to ${repository} denied: ${registryErrors(body) || 'unauthorized'}`, {
        hint: creds ? 'the account may lack access to this repository' : `the repository may not exist or may require 'tsdocker login ${domain}'`,
      });
    },
  };
}
