/**
 * Container logs in the CRI format the monitor writes:
 *   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>
 * F ends a line, P is a partial line continued by the next record.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerFiles, findContainer, readContainer } from '../state/containers.js';

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
  tail?: number;
  timestamps: boolean;
  write(stream: 'stdout' | 'stderr', text: string): void;
}

function emit(rec: LogRecord, opts: LogOptions, atLineStart: { stdout: boolean; stderr: boolean }): void {
  const prefix = opts.timestamps && atLineStart[rec.stream] ? `${rec.time} ` : '';
  opts.write(rec.stream, prefix + rec.content + (rec.partial ? '' : '\n'));
  atLineStart[rec.stream] = !rec.partial;
}

/** Print a container's log; with follow, keep printing until the container stops. */
export async function showLogs(ref: string, opts: LogOptions): Promise<void> {
  const { config } = await findContainer(ref);
  const path = containerFiles.log(config.id);
  let text = '';
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch {
    /* no log yet: a foreground container, or one that printed nothing */
  }
  let lines = text.split('\n');
  const rest = lines.pop() ?? ''; // an incomplete last record (the monitor is mid-write)
  let offset = Buffer.byteLength(text) - Buffer.byteLength(rest);
  const records = lines.map(parseLogLine).filter((r): r is LogRecord => r !== undefined);
  let shown = records;
  if (opts.tail !== undefined) {
    // count complete lines (F records), keep the records that make up the last N of them
    let full = 0;
    let start = records.length;
    while (start > 0 && full < opts.tail) {
      start--;
      if (!records[start]!.partial) full++;
    }
    if (full === opts.tail && start > 0 && !records[start]!.partial) {
      while (start > 0 && records[start - 1]!.partial) start--;
    }
    shown = opts.tail === 0 ? [] : records.slice(start);
  }
  const atLineStart = { stdout: true, stderr: true };
  for (const r of shown) emit(r, opts, atLineStart);
  if (!opts.follow) return;
  lines = [];
  let carry = '';
  for (;;) {
    const v = await readContainer(config.id);
    const running = v?.status === 'running';
    const chunk = await readFrom(path, offset);
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
    await sleep(running ? 50 : 0);
  }
}

async function readFrom(path: string, offset: number): Promise<Buffer> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(path, { start: offset })) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } catch {
    return Buffer.alloc(0);
  }
}
