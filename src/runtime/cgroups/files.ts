/**
 * Reading cgroup files: absent files are `undefined`, not errors (controllers and kernels differ).
 * cgroupfs lives in kernel memory: synchronous calls cost microseconds, while a trip through
 * libuv's thread pool costs ~0.2 ms each, and a start makes dozens of them.
 */
import { readFileSync } from 'node:fs';
import { isErrno } from '../../sys/errors.js';

export async function readText(path: string): Promise<string | undefined> {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  return (await readText(path).catch(() => '')) !== undefined;
}
