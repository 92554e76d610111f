/**
 * /exec: dockerd's exec instances. POST /containers/{id}/exec records one (in this
 * server's memory, as dockerd keeps them in its own); POST /exec/{id}/start runs it
 * through the runtime's exec, detached (Detach) or on the hijacked connection: the
 * process's stdio are socketpairs whose other ends the server relays, raw with a tty
 * (the monitor relays the pty onto one of them), else Docker's multiplexed frames.
 * /exec/{id}/resize reaches its pty; GET /exec/{id}/json reports Running, ExitCode, Pid.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, intParam, readJson, sendEmpty, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { findContainer } from '../state/containers.js';
import { frame } from '../runtime/attach.js';

interface ExecRecord {
  id: string;
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  env: string[];
  workdir?: string;
  user?: string;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  resize?: (rows: number, cols: number) => void;
  /** resolves once the process runs */
  onRunning?: () => void;
}

const execs = new Map<string, ExecRecord>();

export function lookup(id: string): ExecRecord {
  const e = execs.get(id);
  if (!e) throw new ApiError(404, `No such exec instance: ${id}`);
  return e;
}

async function create(req: Request, res: ServerResponse): Promise<void> {
  const v = await findContainer(req.params[0]!);
  if (v.status !== 'running') throw new ApiError(409, `Container ${v.config.id} is not running`);
  const b = await readJson(req.raw);
  const cmd = Array.isArray(b.Cmd) ? b.Cmd.map(String) : [];
  if (!cmd.length) throw new ApiError(400, 'No exec command specified');
  if (b.Privileged === true) throw new ApiError(400, 'Privileged exec is not supported by tsdocker yet; leave out --privileged');
  const id = randomBytes(32).toString('hex');
  execs.set(id, {
    id,
    containerId: v.config.id,
    cmd,
    tty: b.Tty === true,
    stdin: b.AttachStdin === true,
    stdout: b.AttachStdout === true,
    stderr: b.AttachStderr === true,
    env: Array.isArray(b.Env) ? b.Env.map(String) : [],
    ...(typeof b.WorkingDir === 'string' && b.WorkingDir ? { workdir: b.WorkingDir } : {}),
    ...(typeof b.User === 'string' && b.User ? { user: b.User } : {}),
    running: false,
    started: false,
    exitCode: null,
    pid: 0,
  });
  sendJson(res, 201, { Id: id });
}

/** Run it: `stdio` are the socketpairs' ends the process gets (-1 = /dev/null); resolves with its status. */
async function runExec(e: ExecRecord, stdio: [number, number, number]): Promise<number> {
  if (e.started) throw new ApiError(409, `Exec ${e.id} has already been started`);
  e.started = true;
  e.running = true;
  const { execInContainer } = await import('../runtime/exec.js');
  const run = execInContainer(e.containerId, {
    command: e.cmd,
    interactive: e.stdin,
    tty: e.tty,
    detach: false,
    env: e.env,
    ...(e.workdir ? { workdir: e.workdir } : {}),
    ...(e.user ? { user: e.user } : {}),
    io: { stdio, onStart: (pid, resize) => ((e.pid = pid), (e.resize = resize), e.onRunning?.()) },
  });
  const done = run.then(
    (code) => ((e.exitCode = code), (e.running = false), code),
    (err: unknown) => ((e.running = false), (e.exitCode = 126), Promise.reject(err)),
  );
  return done;
}

async function start(req: Request, res: ServerResponse): Promise<void> {
  const e = lookup(req.params[0]!);
  const b = await readJson(req.raw);
  if (b.Detach !== true) throw new ApiError(400, 'an attached exec start needs a hijacked connection (Upgrade: tcp)');
  // docker exec -d: nothing attached, but the server keeps the monitor's line, so the exit code is known
  const running = new Promise<void>((resolve) => (e.onRunning = resolve));
  const done = runExec(e, [-1, -1, -1]);
  done.catch(() => {});
  await Promise.race([running, done]);
  sendEmpty(res, 200);
}

async function resize(req: Request, res: ServerResponse): Promise<void> {
  const e = lookup(req.params[0]!);
  if (!e.running || !e.resize) throw new ApiError(409, `Exec ${e.id} is not running`);
  e.resize(intParam(req.query, 'h') ?? 0, intParam(req.query, 'w') ?? 0);
  sendEmpty(res, 200);
}

async function inspect(req: Request, res: ServerResponse): Promise<void> {
  const e = lookup(req.params[0]!);
  const [entrypoint, ...args] = e.cmd;
  sendJson(res, 200, {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.tty, entrypoint, arguments: args, privileged: false, ...(e.user ? { user: e.user } : {}) },
    OpenStdin: e.stdin,
    OpenStderr: e.stderr,
    OpenStdout: e.stdout,
    CanRemove: false,
    ContainerID: e.containerId,
    DetachKeys: '',
    Pid: e.pid,
  });
}

/** The body of an upgraded request: what the parser left in `head`, then the socket. */
function upgradeBody(socket: Duplex, head: Buffer, length: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let got = head;
    const done = () => {
      socket.off('data', more);
      const rest = got.subarray(length);
      if (rest.length) socket.unshift(rest);
      try {
        resolve(JSON.parse(got.subarray(0, length).toString() || '{}') as Record<string, unknown>);
      } catch {
        resolve({});
      }
    };
    const more = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= length) done();
    };
    if (got.length >= length) return done();
    socket.on('data', more);
  });
}

/** POST /exec/{id}/start, hijacked: our ends of the process's stdio on the client's socket. */
export async function execUpgrade(id: string, socket: Duplex, head: Buffer, contentLength: number): Promise<void> {
  const e = lookup(id);
  const body = await upgradeBody(socket, head, contentLength);
  const { stdioPair: socketpair, closeFd } = await import('../runtime/exec.js');
  const pairs: [number, number][] = [];
  const pair = () => {
    const p = socketpair();
    pairs.push(p);
    return p;
  };
  const tty = e.tty || body.Tty === true;
  const io = tty ? pair() : undefined;
  const pin = !tty && e.stdin ? pair() : undefined;
  const pout = !tty && e.stdout ? pair() : undefined;
  const perr = !tty && e.stderr ? pair() : undefined;
  const stdio: [number, number, number] = io ? [io[1], io[1], io[1]] : [pin?.[1] ?? -1, pout?.[1] ?? -1, perr?.[1] ?? -1];
  const wrap = (fd: number) => new net.Socket({ fd, readable: true, writable: true });
  const ours = pairs.map(([a]) => wrap(a));
  socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  const input = io ? ours[0] : pin ? ours[0] : undefined;
  const outputs: [net.Socket, number][] = io ? [[ours[0]!, 1]] : [...(pout ? [[ours[pairs.indexOf(pout)]!, 1]] : []), ...(perr ? [[ours[pairs.indexOf(perr)]!, 2]] : [])] as [net.Socket, number][];
  const drained = outputs.map(([s, type]) => new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => !socket.destroyed && socket.write(tty ? d : frame(type, d)));
    s.on('end', resolve);
    s.on('close', resolve);
    s.on('error', () => resolve());
  }));
  if (input) {
    socket.on('data', (d: Buffer) => input.write(d));
    socket.on('end', () => (tty ? undefined : input.end()));
  }
  socket.on('close', () => {
    for (const s of ours) s.destroy();
  });
  // the monitor has its copies once the process runs: ours go then, so the process's end is our EOF
  let closed = false;
  const closeTheirs = () => {
    if (!closed) for (const [, theirs] of pairs) closeFd(theirs);
    closed = true;
  };
  e.onRunning = closeTheirs;
  try {
    await runExec(e, stdio).finally(closeTheirs);
    await Promise.all(drained);
  } catch {
    /* the status is in the record (GET /exec/{id}/json) */
  } finally {
    for (const s of ours) s.destroy();
    if (!socket.destroyed) socket.end();
  }
}

export const execRoutes: Route[] = [
  ['POST', /^\/containers\/([^/]+)\/exec$/, create],
  ['POST', /^\/exec\/([^/]+)\/start$/, start],
  ['POST', /^\/exec\/([^/]+)\/resize$/, resize],
  ['GET', /^\/exec\/([^/]+)\/json$/, inspect],
];
