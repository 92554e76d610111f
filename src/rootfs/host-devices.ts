/**
 * The host's device nodes, for --privileged (Docker gives a privileged container every
 * device of the host). /dev/pts, /dev/shm and /dev/mqueue are the container's own mounts;
 * the console and the container's own tty handling are left to the defaults, and the host's
 * virtual consoles (tty1..tty63) are left out (the monitor takes at most 64 device entries).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceEntry } from './mounts.js';

const SKIP_DIRS = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/hugepages']);
const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** glibc's major()/minor() for a dev_t. */
export function splitDev(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

export function hostDevices(root = '/dev', skip: ReadonlySet<string> = new Set()): DeviceEntry[] {
  const out: DeviceEntry[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(path)) walk(path);
        continue;
      }
      const type = st.mode & S_IFMT;
      if ((type !== S_IFCHR && type !== S_IFBLK) || skip.has(path) || path === '/dev/console' || path === '/dev/ptmx') continue;
      if (/^\/dev\/tty\d+$/.test(path)) continue; // the host's virtual consoles: no use in a container, and there are 64

      out.push({ path, mode: st.mode, ...splitDev(st.rdev) });
    }
  };
  walk(root);
  return out;
}
