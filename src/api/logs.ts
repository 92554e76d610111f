/**
 * GET /containers/{id}/logs: the runtime's log reader (showLogs) as Docker's stream: raw
 * text for a tty container, else the multiplexed format (an 8-byte header per frame:
 * stream 1 stdout / 2 stderr, three zero bytes, the payload's length big-endian).
 */
import type { ServerResponse } from 'node:http';
import { ApiError, boolParam, type Request } from './http.js';
import { findContainer } from '../state/containers.js';

/** One frame of Docker's multiplexed stream (stdcopy). */
export function frame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream === 'stdout' ? 1 : 2;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

/**
 * showLogs' `write` for a Docker stream: only the streams asked for, raw for a tty, else
 * multiplexed frames; nothing once the client has gone.
 */
export function streamWriter(sink: { write(b: Buffer): unknown }, o: { stdout: boolean; stderr: boolean; tty: boolean; signal: AbortSignal }) {
  return (stream: 'stdout' | 'stderr', text: string): void => {
    if ((stream === 'stdout' && !o.stdout) || (stream === 'stderr' && !o.stderr) || o.signal.aborted) return;
    const data = Buffer.from(text, 'utf8');
    sink.write(o.tty ? data : frame(stream, data));
  };
}

function tailParam(q: URLSearchParams): number | undefined {
  const t = q.get('tail');
  if (t === null || t === '' || t === 'all') return undefined;
  if (!/^-?\d+$/.test(t)) throw new ApiError(400, `invalid value for tail: ${t}`);
  return Number(t) < 0 ? undefined : Number(t);
}

export async function logsHandler(req: Request, res: ServerResponse): Promise<void> {
  const q = req.query;
  const stdout = boolParam(q, 'stdout');
  const stderr = boolParam(q, 'stderr');
  if (!stdout && !stderr) throw new ApiError(400, 'Bad parameters: you must choose at least one stream');
  const { showLogs, parseLogTime } = await import('../runtime/logs.js');
  const v = await findContainer(req.params[0]!);
  const since = q.get('since');
  const until = q.get('until');
  const opts = {
    follow: boolParam(q, 'follow'),
    tail: tailParam(q),
    timestamps: boolParam(q, 'timestamps'),
    ...(since && since !== '0' ? { since: parseLogTime('since', since) } : {}),
    ...(until && until !== '0' ? { until: parseLogTime('until', until) } : {}),
  };
  const tty = v.config.tty;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  res.flushHeaders();
  await showLogs(v.config.id, {
    ...opts,
    signal: abort.signal,
    write: streamWriter(res, { stdout, stderr, tty, signal: abort.signal }),
  });
  res.end();
}
