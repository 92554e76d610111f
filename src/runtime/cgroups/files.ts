/** Reading cgroup files: absent files are `undefined`, not errors (controllers and kernels differ). */
import { promises as fsp } from 'node:fs';
import { isErrno } from '../../sys/errors.js';

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  return (await readText(path).catch(() => '')) !== undefined;
}
