/**
 * Named locks under <root>/locks, held with flock(2): the kernel releases them when the
 * holder dies, so a crash can never leave a stale lock behind. Acquisition polls with
 * LOCK_NB so the event loop keeps running and a second acquisition in the same process
 * times out with a clear error instead of hanging.
 */
import { openSync, closeSync, constants, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { paths } from './paths.js';
import { flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from '../native/index.js';
import { TsdError, isErrno } from '../sys/errors.js';

export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  return withLockFile(paths.lock(name), name, fn, timeoutMs);
}

/**
 * The named lock shared (LOCK_SH): holders of it run together, a `withLock` of the same name
 * waits for them all and they for it. (`create` holds the images lock so while its record
 * appears, which `rmi` checks under the lock: creates need not wait for one another there.)
 */
export async function withSharedLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  return withLockFd(openSync(paths.lock(name), 'a', 0o600), name, fn, timeoutMs, LOCK_SH);
}

/**
 * The lock file at `path` (which must be in an existing directory). A lock file inside an
 * object's own directory goes away with the object: a waiter then gets the lock on the
 * unlinked file and must re-read the object, which it finds gone.
 */
export async function withLockFile<T>(path: string, name: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  return withLockFd(openSync(path, 'a', 0o600), name, fn, timeoutMs);
}

/** flock `fd` (closed afterwards), polling with LOCK_NB so the event loop keeps running. */
async function withLockFd<T>(fd: number, name: string, fn: () => Promise<T>, timeoutMs: number, mode = LOCK_EX): Promise<T> {
  try {
    const deadline = Date.now() + timeoutMs;
    let wait = 1;
    while (!flock(fd, mode | LOCK_NB)) {
      if (Date.now() > deadline) {
        throw new TsdError('STATE', `timed out waiting for the ${name} lock`, {
          hint: 'another tsdocker command holds it; retry when it has finished',
        });
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 25);
    }
    try {
      return await fn();
    } finally {
      flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Run `fn` under an object's own lock: an flock on its directory itself, so it goes with the
 * object. Returns undefined when the directory is already gone. (A lock file in the directory
 * was re-created by any process that came to lock it while another removed the directory,
 * whose last rmdir then failed: ENOTEMPTY.)
 */
export async function withDirLock<T>(dir: string, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    return await withLockFd(fd, name, fn, 60_000);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * A marker that this process is still working on something: the file at `path`, created
 * and flock'ed until `release` (which removes it) or until this process dies, when the
 * kernel drops the lock. markerAbandoned tells a marker whose holder died from a live one.
 */
export function holdMarker(path: string): () => void {
  const fd = openSync(path, 'w', 0o600);
  flock(fd, LOCK_EX | LOCK_NB); // a new file: nobody else holds it
  return () => {
    rmSync(path, { force: true });
    closeSync(fd);
  };
}

export function markerAbandoned(path: string): boolean {
  return markerState(path) === 'abandoned';
}

/** The marker at `path` exists and its holder is alive (a create under way: runtime/create.ts). */
export function markerHeld(path: string): boolean {
  return markerState(path) === 'held';
}

function markerState(path: string): 'none' | 'held' | 'abandoned' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'none'; // no marker, or released
  }
  try {
    if (!flock(fd, LOCK_EX | LOCK_NB)) return 'held';
    flock(fd, LOCK_UN);
    return 'abandoned';
  } finally {
    closeSync(fd);
  }
}
