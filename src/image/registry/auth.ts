/**
 * Registry authentication: the challenge in `WWW-Authenticate` decides the scheme.
 * `Bearer realm=...,service=...,scope=...` is the token flow (GET realm with service and
 * scope, with basic credentials when we have some, anonymous otherwise; the reply's
 * `token` or `access_token` goes in `Authorization: Bearer`). `Basic realm=...` sends the
 * credentials on every request.
 */
import { TsdError } from '../../sys/errors.js';
import { readBody, request, unreachable } from './http.js';
import type { TlsOptions } from './tls.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="x",service="y"` (quoted or bare values, any case for the scheme). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export const basicHeader = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

export function wrongCredentials(host: string): TsdError {
  return new TsdError('UNAUTHORIZED', `${host}: unauthorized: incorrect username or password`, {
    hint: `log in again: tsdocker login ${host}`,
  });
}

/** Fetch a bearer token for `scopes` from the challenge's realm. */
export async function fetchToken(host: string, ch: Challenge, scopes: string[], creds: Credentials | undefined, t: TlsOptions | undefined): Promise<string> {
  const realm = ch.params.realm;
  if (!realm) throw new TsdError('REGISTRY', `${host}: bearer challenge without a realm`, { hint: 'the registry is misconfigured' });
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new TsdError('REGISTRY', `${host}: bearer realm '${realm}' is not a URL`, { hint: 'the registry is misconfigured' });
  }
  if (ch.params.service) url.searchParams.set('service', ch.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  if (creds) url.searchParams.set('account', creds.username);
  const headers: Record<string, string> = creds ? { authorization: basicHeader(creds) } : {};
  let r;
  try {
    // the registry's own TLS settings (certs.d) only for its own host; elsewhere Node's defaults
    r = await request(url, { headers, tls: url.protocol === 'https:' && url.host === host ? t : undefined });
  } catch (err) {
    throw unreachable(url.host, err);
  }
  const body = await readBody(r, 1 << 20);
  if (r.status === 401 || r.status === 403) {
    if (creds) throw wrongCredentials(host);
    throw new TsdError('UNAUTHORIZED', `${host}: the token server refused anonymous access (${r.status})`, {
      hint: `log in first: tsdocker login ${host}`,
    });
  }
  if (r.status !== 200) throw new TsdError('REGISTRY', `${host}: token server ${url.host} answered ${r.status}`, { hint: 'retry later; the registry may be down' });
  let j: { token?: unknown; access_token?: unknown };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    throw new TsdError('REGISTRY', `${host}: token server ${url.host} sent no JSON`, { hint: 'the registry is misconfigured' });
  }
  const token = typeof j.token === 'string' && j.token ? j.token : typeof j.access_token === 'string' ? j.access_token : '';
  if (!token) throw new TsdError('REGISTRY', `${host}: token server ${url.host} sent no token`, { hint: 'the registry is misconfigured' });
  return token;
}
