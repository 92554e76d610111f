/**
 * Reading cgroup files: absent files are `undefined`, not errors (controllers and kernels differ).
 * cgroupfs lives in kernel memory: synchronous calls cost microseconds, while a trip through
 * libuv's thread pool costs ~0.2 ms each, and a start makes dozens of them.
 */
import { accessSync, readFileSync } from 'node:fs';
import { isErrno } from '../../sys/errors.js';

export async function readText(path: string): Promise<string | undefined> {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** One access(2): opening and reading a write-only control file (devices.allow) would fail anyway (EINVAL). */
export async function exists(path: string): Promise<boolean> {
  try {
    accessSync(path);
    return true;
  } catch (err) {
    return !isErrno(err, 'ENOENT', 'ENOTDIR');
  }
}
