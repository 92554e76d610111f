/**
 * The one HTTP seam of the registry client, on Node's own http/https (no dependency): a
 * keep-alive agent per registry and scheme (several layers download at once over it),
 * redirects followed (Authorization dropped when the host changes, as blob redirects to
 * storage need), HTTPS_PROXY/HTTP_PROXY/NO_PROXY honoured (loopback never proxied), and
 * network failures turned into one clear line: "cannot reach HOST: ...".
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { TsdError } from '../../sys/errors.js';
import { proxyFor } from './proxy.js';
import type { TlsOptions } from './tls.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  url: URL;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  tls?: TlsOptions;
}

const agents = new Map<string, http.Agent>();

const idleTimeout = (): number => {
  const v = Number(process.env.TSDOCKER_REGISTRY_TIMEOUT);
  return (Number.isFinite(v) && v > 0 ? v : 120) * 1000;
};

function agentFor(url: URL, t: TlsOptions | undefined): http.Agent {
  const key = `${url.protocol}//${url.host}`;
  let a = agents.get(key);
  if (a) return a;
  const proxy = proxyFor(url);
  if (url.protocol === 'https:') {
    const opts: https.AgentOptions = { keepAlive: true, maxSockets: 8, ...t, ...(t && t.ca.length === 0 ? { ca: undefined } : {}) };
    a = new https.Agent(opts);
    if (proxy) {
      // CONNECT through the proxy, then TLS to the registry over that tunnel
      (a as unknown as { createConnection: unknown }).createConnection = (o: tls.ConnectionOptions, cb: (e: Error | null, s?: tls.TLSSocket) => void) => {
        const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: url.host, headers: { host: url.host } });
        req.once('connect', (res, socket) => {
          if (res.statusCode !== 200) {
            socket.destroy();
            cb(new Error(`proxy ${proxy.host} answered CONNECT with ${res.statusCode}`));
            return;
          }
          cb(null, tls.connect({ ...o, socket, ...(isIP(url.hostname) ? {} : { servername: url.hostname }) }));
        });
        req.once('error', (e) => cb(e));
        req.end();
        return undefined;
      };
    }
  } else {
    a = new http.Agent({ keepAlive: true, maxSockets: 8 });
  }
  agents.set(key, a);
  return a;
}

/** Close idle keep-alive sockets so the process can end. */
export function closeAgents(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

const CERT_CODES = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'];

export function unreachable(host: string, err: unknown): TsdError {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  let hint = 'check the registry address, that it runs, and your network or proxy settings';
  let why: string;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') why = `DNS lookup of ${host.replace(/:\d+$/, '')} failed (${e.code})`;
  else if (e.code === 'ECONNREFUSED') why = `connection refused (${e.message.replace(/^connect ECONNREFUSED /, '')})`;
  else if (e.code?.startsWith('ERR_SSL_') && e.reason) {
    why = `TLS handshake failed: ${e.reason}`;
    if (/bad certificate|certificate required|unknown ca/.test(e.reason)) hint = `the registry may want a client certificate: certs.d/${host}/client.cert and client.key`;
  } else {
    why = e.message.trim();
    if (e.code && CERT_CODES.includes(e.code)) hint = `trust the registry's CA: put it in certs.d/${host}/ca.crt (default /etc/docker/certs.d)`;
  }
  return new TsdError('REGISTRY', `cannot reach ${host}: ${why}`, { hint, cause: err });
}

function once(url: URL, o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const proxy = url.protocol === 'http:' ? proxyFor(url) : undefined;
    const target = proxy
      ? { host: proxy.hostname, port: proxy.port || 80, path: url.href }
      : { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || undefined, path: `${url.pathname}${url.search}` };
    const req = mod.request(
      { ...target, method: o.method ?? 'GET', headers: { 'user-agent': 'tsdocker/0.1', ...o.headers }, agent: agentFor(url, o.tls), ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: url.hostname }) },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url }),
    );
    req.on('error', reject);
    // a connection that sends nothing for this long is dead (a stalled network never errors)
    req.setTimeout(idleTimeout(), () => req.destroy(new Error(`no data for ${idleTimeout() / 1000} s`)));
    const b = o.body;
    if (b === undefined || Buffer.isBuffer(b)) req.end(b);
    else {
      b.on('error', (e) => req.destroy(e));
      b.pipe(req);
    }
  });
}

/** One request, following up to 5 redirects. Network errors reject with the raw error. */
export async function request(url: URL, o: RequestOptions = {}): Promise<Reply> {
  let u = url;
  let opts = o;
  for (let hop = 0; ; hop++) {
    const r = await once(u, opts);
    const loc = r.headers.location;
    if (![301, 302, 303, 307, 308].includes(r.status) || !loc || hop >= 5 || (opts.body && !Buffer.isBuffer(opts.body))) return r;
    r.body.resume();
    const next = new URL(loc, u);
    const headers = { ...opts.headers };
    if (next.host !== u.host) delete headers.authorization;
    const method = r.status === 303 ? 'GET' : opts.method;
    opts = { ...opts, method, headers, body: method === 'GET' ? undefined : opts.body };
    u = next;
  }
}

/** A reply body as a Buffer, at most `max` bytes. */
export async function readBody(r: Reply, max = 16 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of r.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      r.body.destroy();
      throw new TsdError('REGISTRY', `${r.url.host}: reply to ${r.url.pathname} is larger than ${max} bytes`, { hint: 'the registry is misbehaving' });
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}
