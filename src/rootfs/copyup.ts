/**
 * Docker's volume copy-up: a new (empty) volume mounted where the image has content gets
 * a copy of that content. The merge of the image layers happens in a helper process in a
 * private mount namespace (copyup-helper.ts), never on the host and never on a Node thread.
 */
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../sys/exec.js';
import { distFile } from '../sys/project.js';
import { TsdError, errorMessage } from '../sys/errors.js';

function helperPath(): string {
  return distFile('rootfs', 'copyup-helper.js');
}

export function isEmptyDir(dir: string): boolean {
  return readdirSync(dir).length === 0;
}

/**
 * Copy what the image holds at container path `path` into `dest` (an empty directory).
 * `layerDirs` are the image's layer directories, bottom layer first. Returns whether
 * anything was there to copy.
 */
export async function copyUp(layerDirs: readonly string[], path: string, dest: string): Promise<boolean> {
  if (layerDirs.length === 0) return false;
  const mnt = mkdtempSync(join(tmpdir(), 'tsd-copyup-'));
  try {
    const input = JSON.stringify({ layers: [...layerDirs].reverse(), path, dest, mnt });
    const r = await exec(['unshare', '--mount', '--propagation', 'private', '--', process.execPath, helperPath(), input], {
      timeoutMs: 30 * 60_000, // a large image directory takes a while
    });
    return r.stdout.trim() === 'copied';
  } catch (err) {
    throw new TsdError('RESOURCE', `cannot copy the image content at ${path} into its volume: ${errorMessage(err)}`, { cause: err });
  } finally {
    rmdirSync(mnt);
  }
}
