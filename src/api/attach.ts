/**
 * POST /containers/{id}/attach, the hijacked connection: dockerd answers
 * "101 UPGRADED" (Upgrade: tcp) and the socket then carries the container's output, raw
 * for a tty, else multiplexed (logs.ts's frames). Output only: the runtime's log reader
 * follows the container from its start (attached before start, as `docker run` does) or
 * from now (attached to a running one) until it exits. Stdin is not attached yet: refused.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, boolParam, statusOf } from './http.js';
import { splitVersion } from './router.js';
import { streamWriter } from './logs.js';
import { findContainer } from '../state/containers.js';
import { TsdError, errorMessage, fromSystemError } from '../sys/errors.js';

const ATTACH = /^\/containers\/([^/]+)\/attach$/;

function reject(socket: Duplex, raw: unknown): number {
  const err = fromSystemError(raw);
  const status = err instanceof ApiError || err instanceof TsdError ? statusOf(err) : 500;
  const body = `${JSON.stringify({ message: err instanceof TsdError ? err.message : `internal error: ${errorMessage(err)}` })}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  return status;
}

/** An upgraded request: only attach is one; anything else gets its error status. */
export async function handleUpgrade(req: IncomingMessage, socket: Duplex): Promise<number> {
  let upgraded = false;
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { rest } = splitVersion(url.pathname);
    const m = ATTACH.exec(rest);
    if (!m || req.method !== 'POST') throw new ApiError(404, 'page not found');
    const q = url.searchParams;
    if (boolParam(q, 'stdin')) throw new ApiError(400, 'attaching stdin (docker run -i, docker attach) is not supported by tsdocker yet; run without -i, or use -d and docker logs');
    if (q.get('detachKeys')) throw new ApiError(400, 'detach keys are not supported by tsdocker yet');
    const v = await findContainer(decodeURIComponent(m[1]!));
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    const stream = boolParam(q, 'stream');
    const logs = boolParam(q, 'logs');
    const tty = v.config.tty;
    upgraded = true;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    const abort = new AbortController();
    socket.on('close', () => abort.abort());
    socket.on('error', () => abort.abort());
    const { showLogs } = await import('../runtime/logs.js');
    const fresh = v.status === 'created';
    if (stream || logs) {
      await showLogs(v.config.id, {
        follow: stream && (fresh || v.status === 'running'),
        // logs=1: what it printed so far; a container not started yet has printed nothing
        tail: logs || fresh ? undefined : 0,
        timestamps: false,
        attach: fresh,
        signal: abort.signal,
        write: streamWriter(socket, { stdout, stderr, tty, signal: abort.signal }),
      });
    }
    socket.end();
    return 101;
  } catch (err) {
    if (!upgraded && socket.writable) return reject(socket, err);
    socket.destroy();
    return 500;
  }
}
