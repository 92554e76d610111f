/**
 * Files of an image that tsdocker reads itself (the user database behind `-u NAME`), with
 * the image treated as hostile: looked up in the layers top first, each resolved inside
 * its layer (openat2 RESOLVE_IN_ROOT: a symlink to a host file stays in the image), looked
 * at before it is opened (a FIFO would hang the read, a device is never opened), regular
 * files only, at most IMAGE_FILE_MAX bytes (a huge file cannot grow the CLI without end).
 * A symlink is followed within its own layer only: one that points into a lower layer
 * finds nothing there and the search goes on below (overlayfs would follow it across).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { TsdError } from '../sys/errors.js';
import { O_PATH, openInRoot } from '../native/index.js';

export const IMAGE_FILE_MAX = 16 * 1024 * 1024;

function refused(path: string, why: string): TsdError {
  return new TsdError('IMAGE_INVALID', `the image's /${path} ${why}`, {
    hint: 'the image is broken or hostile: rebuild it with a regular file there',
  });
}

function kind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function handle(dir: string, path: string): number | undefined {
  try {
    return openInRoot(dir, path, O_PATH);
  } catch (err) {
    throw refused(path, `cannot be opened inside the image (${(err as Error).message.split(': ').pop()})`);
  }
}

/**
 * What this process read from image layers: a layer never changes once stored (a new one gets
 * a new digest, so a new directory), and a start asks for the same /etc/passwd and /etc/group
 * up to three times (create's checks, the spec). Bounded for a long-lived `serve`.
 */
const seen = new Map<string, string | undefined>();

/** The contents of `path` (relative to the image root), or undefined when no layer has it. */
export function readImageFile(layerDirs: readonly string[], path: string, max = IMAGE_FILE_MAX): string | undefined {
  const key = `${layerDirs.join(':')}\0${path}\0${max}`;
  if (seen.has(key)) return seen.get(key);
  const text = readFromLayers(layerDirs, path, max);
  if (seen.size >= 64) seen.clear();
  seen.set(key, text);
  return text;
}

function readFromLayers(layerDirs: readonly string[], path: string, max: number): string | undefined {
  for (const dir of [...layerDirs].reverse()) {
    const h = handle(dir, path);
    if (h === undefined) continue;
    try {
      const st = fstatSync(h);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // a whiteout: this layer deleted it
      if (!st.isFile()) throw refused(path, `is ${kind(st)}, not a regular file`);
      if (st.size > max) throw refused(path, `is larger than ${max} bytes`);
      // the handle pins the inode that was checked; reopening it reads that file and no other
      const fd = openSync(`/proc/self/fd/${h}`, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
      try {
        const buf = Buffer.alloc(st.size + 1);
        let n = 0;
        for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
        if (n > max) throw refused(path, `is larger than ${max} bytes`);
        return buf.toString('utf8', 0, n);
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(h);
    }
  }
  return undefined;
}
