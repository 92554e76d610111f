/**
 * A container without a mount namespace of its own builds its root in the caller's mount
 * namespace (native/src/mounts.c: a private bind of the rootfs onto itself, the mounts under
 * it, chroot). Those mounts outlive the init, so delete (and a failed create) detaches that
 * bind, with everything under it, in one lazy unmount; runc leaves them behind. Only a bind
 * we stacked is taken: the number of mounts at the rootfs before create is recorded, so a
 * rootfs that was a mount point of the caller's keeps its own.
 */
import { readFileSync } from 'node:fs';
import { exec } from '../../sys/exec.js';

/** Whether a config leaves the container in the caller's mount namespace. */
export const sharesMounts = (namespaces: { type: string }[]): boolean => !namespaces.some((n) => n.type === 'mount');

/** Mounts whose mount point is exactly `path`, in the namespace we run in. */
export function mountsAt(path: string): number {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => unescape(l.split(' ')[4] ?? '') === path).length;
}

/** Detach the bind create stacked on `rootfs` (when it is still there), with every mount under it. */
export async function unmountSharedRoot(rootfs: string, before: number): Promise<void> {
  if (mountsAt(rootfs) <= before) return;
  const r = await exec(['umount', '-l', rootfs], { okCodes: [0, 1, 32] });
  if (r.code !== 0) process.stderr.write(`tsdocker-oci: warning: cannot unmount ${rootfs}: ${r.stderr.trim()}\n`);
}
