/**
 * Container logs in the CRI format the monitor writes:
 *   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>
 * F ends a line, P is a partial line continued by the next record.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerFiles, findContainer, readContainer, timeNs } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  content: string;
}

export function parseLogLine(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  return { time: line.slice(0, a), stream, partial: line.slice(b + 1, c) === 'P', content: line.slice(c + 1) };
}

export interface LogOptions {
  follow: boolean;
  /** the last N lines; undefined (or negative) for all */
  tail?: number;
  timestamps: boolean;
  /** only records at or after / at or before these times (nanoseconds since the epoch) */
  since?: bigint;
  until?: bigint;
  /** Docker's --details: the log attributes (none here) and a space before each line */
  details?: boolean;
  /** ends a follow early (the API server's client went away) */
  signal?: AbortSignal;
  write(stream: 'stdout' | 'stderr', text: string): void;
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|\u00b5s|ms|s|m|h))+$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Docker's --since/--until value: a Go duration before now (10m, 1h30m), a Unix time
 * (1700000000[.5]) or an RFC 3339 date/time (a time without a zone is UTC here).
 */
export function parseLogTime(flag: string, value: string, nowMs = Date.now()): bigint {
  if (DURATION.test(value)) {
    let ns = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g)) ns += Number(m[1]) * UNIT_NS[m[2]!]!;
    return BigInt(nowMs) * 1_000_000n - BigInt(Math.round(ns));
  }
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0') || '0');
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) return timeNs(value); // nanoseconds kept
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) || !value.includes('T') ? value : `${value}Z`;
  const ms = Date.parse(/^\d{4}-\d\d-\d\d$/.test(withZone) ? `${withZone}T00:00:00Z` : withZone);
  if (Number.isNaN(ms)) {
    throw new TsdError('BAD_ARGS', `invalid value for "${flag}": failed to parse value as time or duration: "${value}"`, {
      exitCode: 1,
      hint: 'give a duration (10m), a Unix time or an RFC 3339 time (2006-01-02T15:04:05Z)',
    });
  }
  return BigInt(ms) * 1_000_000n;
}

function inWindow(rec: LogRecord, opts: LogOptions): boolean {
  if (opts.since === undefined && opts.until === undefined) return true;
  const t = timeNs(rec.time);
  return (opts.since === undefined || t >= opts.since) && (opts.until === undefined || t <= opts.until);
}

function emit(rec: LogRecord, opts: LogOptions, atLineStart: { stdout: boolean; stderr: boolean }): void {
  if (!inWindow(rec, opts)) return;
  const start = atLineStart[rec.stream];
  const prefix = (opts.timestamps && start ? `${rec.time} ` : '') + (opts.details && start ? ' ' : '');
  opts.write(rec.stream, prefix + rec.content + (rec.partial ? '' : '\n'));
  atLineStart[rec.stream] = !rec.partial;
}

/** The records that make up the last `n` complete lines (F records), partial pieces included. */
export function tailRecords(records: LogRecord[], n: number): LogRecord[] {
  if (n === 0) return [];
  let full = 0;
  let start = records.length;
  while (start > 0 && full < n) {
    start--;
    if (!records[start]!.partial) full++;
  }
  // the partial records just before the first kept line belong to it
  while (start > 0 && records[start - 1]!.partial) start--;
  return records.slice(start);
}

/**
 * Print a container's log; with follow, keep printing until the container stops. The log
 * is read through one open descriptor, so what a --rm container printed is still read
 * after its directory is gone. `attach`: follow a container that has not started yet
 * (the log is created now, the monitor appends to it) from its start to its exit.
 */
export async function showLogs(ref: string, opts: LogOptions & { attach?: boolean }): Promise<void> {
  const { config } = await findContainer(ref);
  const path = containerFiles.log(config.id);
  const open = () => fsp.open(path, opts.attach ? 'a+' : 'r').catch(() => undefined); // no log yet: one that printed nothing
  let fh = await open();
  try {
    const text = fh ? (await readFrom(fh, 0)).toString('utf8') : '';
    let lines = text.split('\n');
    const rest = lines.pop() ?? ''; // an incomplete last record (the monitor is mid-write)
    let offset = Buffer.byteLength(text) - Buffer.byteLength(rest);
    const records = lines.map(parseLogLine).filter((r): r is LogRecord => r !== undefined);
    let shown = records;
    if (opts.tail !== undefined && opts.tail >= 0) shown = tailRecords(records, opts.tail);
    const atLineStart = { stdout: true, stderr: true };
    for (const r of shown) emit(r, opts, atLineStart);
    if (!opts.follow) return;
    lines = [];
    let carry = '';
    while (!opts.signal?.aborted) {
      const v = await readContainer(config.id);
      const running = v?.status === 'running' || (opts.attach === true && v?.status === 'created');
      fh ??= await open();
      const chunk = fh ? await readFrom(fh, offset) : Buffer.alloc(0);
      if (chunk.length) {
        offset += chunk.length;
        const all = carry + chunk.toString('utf8');
        const parts = all.split('\n');
        carry = parts.pop() ?? '';
        for (const p of parts) {
          const r = parseLogLine(p);
          if (r) emit(r, opts, atLineStart);
        }
      }
      if (!running && !chunk.length) return;
      if (opts.until !== undefined && BigInt(Date.now()) * 1_000_000n > opts.until) return;
      await sleep(running ? 50 : 0);
    }
  } finally {
    await fh?.close();
  }
}

/** Everything in the file from `offset` on. */
async function readFrom(fh: FileHandle, offset: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    if (bytesRead === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    offset += bytesRead;
  }
}
