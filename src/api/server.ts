/**
 * `tsdocker serve`: the Docker Engine API on a unix socket (mode 0660, group docker where
 * it exists) or a loopback TCP port, with Node's http server. Each request is logged at
 * info. With an idle timeout the server ends once no request has been open for that long
 * (podman system service --time); containers keep running with their monitors either way.
 * TCP as dockerd: TLS with --tls/--tlscert/--tlskey, client certificates checked against
 * --tlscacert with --tlsverify; anything but loopback only with --tlsverify (whoever reaches
 * the port is root on the host).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { chmodSync, chownSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { runDir } from '../state/paths.js';
import { dispatch } from './router.js';
import { handleUpgrade } from './attach.js';
import { socketChannels } from '../runtime/monitor-channel.js';

const lg = log.child({ mod: 'api' });

export type Listen = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function defaultSocket(): string {
  return join(runDir(), 'docker.sock');
}

/** TLS for a TCP listener: our certificate and key, and with `verify` the CA client certificates must chain to. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
  verify: boolean;
}

/** dockerd's flags as TlsFiles: --tlsverify implies --tls; --tls needs --tlscert and --tlskey, --tlsverify also --tlscacert. */
export function tlsFromFlags(f: { tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }): TlsFiles | undefined {
  if (!f.tls && !f.tlsverify) {
    if (f.tlscert || f.tlskey || f.tlscacert) throw new TsdError('BAD_ARGS', '--tlscert, --tlskey and --tlscacert take effect with --tls or --tlsverify', { hint: 'add --tlsverify (clients must show a certificate signed by --tlscacert)' });
    return undefined;
  }
  if (!f.tlscert || !f.tlskey) throw new TsdError('BAD_ARGS', `${f.tlsverify ? '--tlsverify' : '--tls'} needs --tlscert and --tlskey`, { hint: 'give the server certificate and key as PEM files' });
  if (f.tlsverify && !f.tlscacert) throw new TsdError('BAD_ARGS', '--tlsverify needs --tlscacert: the CA that signs client certificates', { hint: 'give the CA certificate as a PEM file' });
  return { cert: f.tlscert, key: f.tlskey, ...(f.tlscacert ? { ca: f.tlscacert } : {}), verify: Boolean(f.tlsverify) };
}

/** -H unix:///PATH or tcp://HOST:PORT; TCP beyond loopback only with client certificates (--tlsverify). */
export function parseHost(spec: string | undefined, tls?: TlsFiles): Listen {
  if (spec === undefined) return { kind: 'unix', path: defaultSocket() };
  if (spec.startsWith('unix://')) {
    const path = spec.slice('unix://'.length);
    if (!path.startsWith('/')) throw new TsdError('BAD_ARGS', `invalid -H ${spec}: the socket path must be absolute`, { hint: 'write -H unix:///PATH/TO/docker.sock' });
    return { kind: 'unix', path };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(spec);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new TsdError('BAD_ARGS', `invalid -H ${spec}`, { hint: 'write -H unix:///PATH or -H tcp://127.0.0.1:PORT' });
  }
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) && !tls?.verify) {
    throw new TsdError('BAD_ARGS', `refusing to serve the API on ${spec} without --tlsverify: only loopback addresses are allowed without client certificates`, {
      hint: 'add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or listen on tcp://127.0.0.1:PORT or a unix socket; anyone who reaches this port is root on the host',
    });
  }
  return { kind: 'tcp', host, port: Number(m[2]) };
}

/** The docker group's gid from /etc/group, if there is one. */
function dockerGid(): number | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === 'docker' && gid && /^\d+$/.test(gid)) return Number(gid);
    }
  } catch {
    /* no /etc/group: root only */
  }
  return undefined;
}

/** A socket file left by a server that is gone: remove it; anything else at that path is refused. */
function clearStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new TsdError('BAD_ARGS', `${path} exists and is not a socket`, { hint: 'choose another path with -H unix:///PATH' });
  unlinkSync(path);
}

export interface Serving {
  server: Server;
  address: string;
  /** resolves when the server has closed (idle timeout or close()) */
  closed: Promise<void>;
  close(): void;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TsdError('BAD_ARGS', `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { hint: 'give a readable PEM file' });
  }
}

/** Node's http server, or its https one with our certificate (and client certificates required with verify). */
function makeServer(tls: TlsFiles | undefined, handler: Parameters<typeof createServer>[1]): Server {
  if (!tls) return createServer(handler!);
  try {
    return createTlsServer(
      {
        cert: readPem(tls.cert, 'certificate (--tlscert)'),
        key: readPem(tls.key, 'key (--tlskey)'),
        ...(tls.ca ? { ca: readPem(tls.ca, 'CA (--tlscacert)') } : {}),
        requestCert: tls.verify,
        rejectUnauthorized: tls.verify,
        minVersion: 'TLSv1.2',
      },
      handler,
    ) as unknown as Server;
  } catch (err) {
    if (err instanceof TsdError) throw err;
    throw new TsdError('BAD_ARGS', `invalid TLS files: ${(err as Error).message}`, { hint: 'check that --tlscert and --tlskey are a matching PEM certificate and key' });
  }
}

export async function serve(where: Listen, opts: { idleTimeoutSec?: number; tls?: TlsFiles } = {}): Promise<Serving> {
  // one monitor channel per exec it runs: on the event loop, not each on a thread of the pool
  socketChannels();
  let open = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  if (opts.tls && where.kind !== 'tcp') throw new TsdError('BAD_ARGS', 'TLS is for TCP listeners: give -H tcp://HOST:PORT');
  const server = makeServer(opts.tls, (req, res) => {
    open++;
    if (idleTimer) clearTimeout(idleTimer);
    const t0 = Date.now();
    res.on('close', () => {
      open--;
      lg.info({ method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - t0 }, 'request');
      armIdle();
    });
    void dispatch(req, res);
  });
  // a hijacked connection (attach): open until the stream ends
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    open++;
    hijacked.add(socket);
    if (idleTimer) clearTimeout(idleTimer);
    const t0 = Date.now();
    let status = 0;
    socket.on('close', () => {
      open--;
      hijacked.delete(socket);
      lg.info({ method: req.method, url: req.url, status, ms: Date.now() - t0 }, 'request (upgraded)');
      armIdle();
    });
    void handleUpgrade(req, socket, head).then((s) => (status = s));
  });
  server.keepAliveTimeout = 5_000;
  const armIdle = () => {
    if (!opts.idleTimeoutSec || open > 0) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      lg.info(`no request for ${opts.idleTimeoutSec}s, stopping`);
      close();
    }, opts.idleTimeoutSec * 1000);
  };
  const closed = new Promise<void>((resolve) => server.on('close', () => resolve()));
  const close = () => {
    if (idleTimer) clearTimeout(idleTimer);
    server.close();
    server.closeAllConnections();
    for (const s of hijacked) s.destroy();
    if (where.kind === 'unix') {
      try {
        unlinkSync(where.path);
      } catch {
        /* already gone */
      }
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new TsdError('BAD_ARGS', `cannot listen on ${where.kind === 'unix' ? where.path : `${where.host}:${where.port}`}: ${err.code ?? err.message}`, {
        hint: err.code === 'EADDRINUSE' ? 'another server listens there; stop it or choose another -H' : 'check the -H address',
      })),
    );
    if (where.kind === 'unix') {
      mkdirSync(dirname(where.path), { recursive: true, mode: 0o711 });
      clearStaleSocket(where.path);
      server.listen(where.path, () => resolve());
    } else server.listen(where.port, where.host, () => resolve());
  });
  if (where.kind === 'unix') {
    chmodSync(where.path, 0o660);
    const gid = dockerGid();
    if (gid !== undefined) chownSync(where.path, 0, gid);
  }
  armIdle();
  const address = where.kind === 'unix' ? `unix://${where.path}` : `tcp://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}`;
  return { server, address, closed, close };
}
