/** Small filesystem helpers: atomic writes (temp file, fsync, rename) and tolerant reads. */
import { promises as fsp, openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { corruptRecord, isErrno } from './errors.js';

let seq = 0;

/** A write error through a file handle names no file: name the record it was for. */
function withPath(err: unknown, path: string): unknown {
  if (err instanceof Error && (err as NodeJS.ErrnoException).code && !(err as NodeJS.ErrnoException).path) {
    (err as NodeJS.ErrnoException).path = path;
  }
  return err;
}
function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${seq++}.tmp`);
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array, modeOrOpts: number | WriteOptions = 0o644): void {
  const { mode = 0o644, durable = true } = typeof modeOrOpts === 'number' ? { mode: modeOrOpts } : modeOrOpts;
  const tmp = tempName(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // a full disk (ENOSPC) must not leave half-written temp files behind
    rmSync(tmp, { force: true });
    throw withPath(err, path);
  }
}

export interface WriteOptions {
  mode?: number;
  /**
   * fsync before the rename (default). Runtime files that mean nothing after a reboot
   * (pids, a spec consumed at once) skip it: rename alone is atomic against a crash of the
   * process, and an fsync costs ~0.5-1 ms of a start.
   */
  durable?: boolean;
}

/**
 * The async face of `writeFileAtomicSync`, for callers that await. The work is synchronous:
 * records are small local files, and each step through libuv's thread pool (open, write,
 * fsync, close, rename) costs a wake-up of a pool thread and of the event loop (~6 syscalls,
 * ~0.2 ms) for a call of microseconds; a start writes a handful of them.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, modeOrOpts: number | WriteOptions = 0o644): Promise<void> {
  writeFileAtomicSync(path, data, modeOrOpts);
}

export function writeJsonAtomicSync(path: string, value: unknown, opts: WriteOptions = {}): void {
  writeFileAtomicSync(path, JSON.stringify(value, null, 2) + '\n', opts);
}

export async function writeJsonAtomic(path: string, value: unknown, opts: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', opts);
}

/** JSON text of a record; an empty or garbled file is a CorruptRecord error naming it. */
function parseRecord<T>(path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw corruptRecord(path, text.trim() === '' ? 'the file is empty' : 'not valid JSON');
  }
}

export function readJsonIfExistsSync<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
  return parseRecord<T>(path, text);
}

/** The async face of `readJsonIfExistsSync` (a small local file: see `writeFileAtomic`). */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  return readJsonIfExistsSync<T>(path);
}

export async function rmIfExists(path: string): Promise<void> {
  await fsp.rm(path, { recursive: true, force: true });
}

/** Remove one file, already gone is fine: one unlink (rmSync with force stats it twice first). */
export function unlinkIfExistsSync(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT', 'ENOTDIR')) throw err;
  }
}
