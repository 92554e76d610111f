/**
 * POST /containers/{id}/attach, the hijacked connection: dockerd answers "101 UPGRADED"
 * (Upgrade: tcp) and the socket then carries the container's output (raw for a tty, else
 * multiplexed: the monitor's own frames, which are Docker's) and, with stdin=1, the
 * client's input. The other end is the container monitor's attach socket
 * (runtime/attach.ts): an attach to a container that is not started yet (`docker run`
 * attaches before it starts) waits here and is connected just before the container's
 * `go`, so it misses nothing. The detach keys are the monitor's to match. A client that
 * goes away closes its monitor connection, and nothing of it is left.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, boolParam, statusOf } from './http.js';
import { splitVersion } from './router.js';
import { streamWriter } from './logs.js';
import { findContainer, type ContainerView } from '../state/containers.js';
import { TsdError, errorMessage, fromSystemError } from '../sys/errors.js';
import { frame, openAttach, type AttachSession } from '../runtime/attach.js';
import { parseDetachKeys } from '../runtime/detach-keys.js';

const ATTACH = /^\/containers\/([^/]+)\/attach$/;
const EXEC_START = /^\/exec\/([^/]+)\/start$/;

/** Attaches waiting for their container's start, by container id. */
const pending = new Map<string, Set<(id: string) => Promise<void>>>();

/** The start's beforeGo: connect every attach that waits for this container. */
export async function connectPending(id: string): Promise<void> {
  const waiting = [...(pending.get(id) ?? [])];
  pending.delete(id);
  await Promise.all(waiting.map((connect) => connect(id)));
}

function reject(socket: Duplex, raw: unknown): number {
  const err = fromSystemError(raw);
  const status = err instanceof ApiError || err instanceof TsdError ? statusOf(err) : 500;
  const body = `${JSON.stringify({ message: err instanceof TsdError ? err.message : `internal error: ${errorMessage(err)}` })}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  return status;
}

interface Want {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys: Buffer;
  /** the client's half-close ends the container's stdin (docker run -i, StdinOnce) */
  stdinOnce: boolean;
}

/** The hijacked socket on the monitor's attach socket until the container exits, the keys detach, or the client leaves. */
async function bridge(socket: Duplex, id: string, tty: boolean, w: Want): Promise<void> {
  let session: AttachSession;
  const out = (t: number, d: Buffer) => {
    if (!socket.destroyed && socket.writable) socket.write(tty ? d : frame(t, d));
  };
  try {
    session = await openAttach(id, { ...w, onOutput: out });
  } catch {
    socket.end(); // it exited meanwhile
    return;
  }
  const onData = (d: Buffer) => w.stdin && session.write(d);
  const onEnd = () => w.stdin && w.stdinOnce && session.closeStdin();
  const onClose = () => session.close();
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  if (socket.destroyed) session.close(); // gone while we connected
  await session.end;
  socket.off('data', onData);
  if (!socket.destroyed) socket.end();
}

function waitStart(socket: Duplex, v: ContainerView, w: Want): Promise<void> {
  return new Promise((resolve) => {
    const id = v.config.id;
    const connect = async (started: string) => {
      socket.off('close', gone);
      resolve(bridge(socket, started, v.config.tty, w));
    };
    const gone = () => {
      pending.get(id)?.delete(connect);
      resolve();
    };
    if (!pending.has(id)) pending.set(id, new Set());
    pending.get(id)!.add(connect);
    socket.on('close', gone);
  });
}

/** An upgraded request: only attach is one; anything else gets its error status. */
export async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer = Buffer.alloc(0)): Promise<number> {
  let upgraded = false;
  socket.on('error', () => socket.destroy()); // the client went away (EPIPE, ECONNRESET): 'close' lets go of the rest
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { rest } = splitVersion(url.pathname);
    const ex = EXEC_START.exec(rest);
    if (ex && req.method === 'POST') {
      const { execUpgrade, lookup } = await import('./exec.js');
      lookup(decodeURIComponent(ex[1]!));
      upgraded = true; // it answers 101 itself
      await execUpgrade(decodeURIComponent(ex[1]!), socket, head, Number(req.headers['content-length'] ?? 0));
      return 101;
    }
    const m = ATTACH.exec(rest);
    if (!m || req.method !== 'POST') throw new ApiError(404, 'page not found');
    const q = url.searchParams;
    const v = await findContainer(decodeURIComponent(m[1]!));
    let detachKeys: Buffer;
    try {
      detachKeys = parseDetachKeys(q.get('detachKeys') || undefined);
    } catch (err) {
      throw new ApiError(400, (err as Error).message);
    }
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    const stream = boolParam(q, 'stream');
    const logs = boolParam(q, 'logs');
    const tty = v.config.tty;
    const fresh = v.status === 'created';
    const w: Want = { stdin: boolParam(q, 'stdin') && v.config.interactive, stdout, stderr, detachKeys, stdinOnce: fresh };
    upgraded = true;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    if (logs && !fresh) {
      // logs=1: what it printed so far, then (stream=1) what it prints from now on
      const abort = new AbortController();
      socket.on('close', () => abort.abort());
      const { showLogs } = await import('../runtime/logs.js');
      await showLogs(v.config.id, { follow: false, timestamps: false, signal: abort.signal, write: streamWriter(socket, { stdout, stderr, tty, signal: abort.signal }) });
    }
    if (stream && fresh) await waitStart(socket, v, w);
    else if (stream && v.status === 'running') await bridge(socket, v.config.id, tty, w);
    else socket.end();
    return 101;
  } catch (err) {
    if (!upgraded && socket.writable) return reject(socket, err);
    socket.destroy();
    return 500;
  }
}

/** POST /containers/{id}/resize?h=&w=: to the pty, through the monitor's attach socket. */
export async function resizeContainer(id: string, rows: number, cols: number): Promise<void> {
  const session = await openAttach(id, { stdin: false, stdout: false, stderr: false, detachKeys: Buffer.alloc(0), onOutput: () => {} });
  session.resize(rows, cols);
  session.close();
}
