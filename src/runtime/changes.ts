/**
 * `diff` (GET /containers/{id}/changes): what the container changed in its root, read from
 * its overlay upper dir as moby's overlay driver reads it: a 0:0 character device is a
 * deletion (D), a path that exists in a lower layer is a change (C), anything else an
 * addition (A); in filepath.Walk's lexical order. The mount points the runtime
 * itself creates (Docker keeps them in its init layer) are not changes.
 */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { findContainer } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { resolveImage } from '../image/index.js';
import { readResourceRecordSync } from '../state/volumes.js';

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted (Docker's ChangeType) */
  Kind: 0 | 1 | 2;
}

/** What Docker's init layer holds: the runtime's own mount points and links. */
export const INIT_PATHS = new Set(['/dev', '/dev/console', '/dev/pts', '/dev/shm', '/proc', '/sys', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab', '/.dockerenv']);

/** Paths of the upper dir that belong to the runtime, not to the container's own writes. */
export function runtimePaths(id: string): Set<string> {
  const out = new Set(INIT_PATHS);
  for (const m of readResourceRecordSync(id)?.mounts ?? []) out.add(posix.normalize(m.Destination));
  return out;
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;

function inLower(lowers: string[], path: string): Stats | undefined {
  for (const l of lowers) {
    const st = statSync(join(l, path), { throwIfNoEntry: false });
    if (st) return st;
  }
  return undefined;
}

/**
 * A directory that exists below is reported changed only when its mode or owner differs or
 * something of the container's own below it changed: the runtime's mount points (and
 * overlayfs copy-up) touch a directory's time and size without the container changing it.
 */
export function upperChanges(upper: string, lowersTopFirst: string[], skip: Set<string>): Change[] {
  const visit = (path: string): Change[] => {
    const out: Change[] = [];
    for (const n of readdirSync(join(upper, path)).sort()) {
      const p = posix.join(path, n);
      const st = lstatSync(join(upper, p));
      if (skip.has(p)) continue;
      if (isWhiteout(st)) {
        out.push({ Path: p, Kind: 2 });
        continue;
      }
      const low = inLower(lowersTopFirst, p);
      const below = st.isDirectory() ? visit(p) : [];
      if (!low) out.push({ Path: p, Kind: 1 }, ...below);
      else if (!(low.isDirectory() && st.isDirectory()) || low.mode !== st.mode || low.uid !== st.uid || low.gid !== st.gid || below.length) {
        out.push({ Path: p, Kind: 0 }, ...below);
      }
    }
    return out;
  };
  return visit('/');
}

export async function containerChanges(ref: string): Promise<Change[]> {
  const v = await findContainer(ref);
  const img = await resolveImage(v.config.image.id);
  return upperChanges(containerDirs(v.config.id).upper, [...img.layerDirs].reverse(), runtimePaths(v.config.id));
}
