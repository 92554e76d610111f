/**
 * The container's own cgroups at /sys/fs/cgroup, read-only, as Docker mounts them (JVMs and
 * Node read their limits there). v2: a cgroup2 mount, which in the container's cgroup
 * namespace shows its own cgroup as the root. v1/hybrid: a tmpfs with one bind of the
 * container's directory per hierarchy (runc's layout), `cpu` and `cpuacct` as symlinks to a
 * combined `cpu,cpuacct`. Read-write when --privileged, as Docker.
 */
import { basename, dirname } from 'node:path';
import { MS, type MountEntry, type SymlinkEntry } from '../../rootfs/mounts.js';
import { detectLayout, type CgroupLayout } from './layout.js';
import { cgroupHandle } from './index.js';

export interface CgroupMounts {
  mounts: MountEntry[];
  symlinks: SymlinkEntry[];
  /** to remount read-only once the binds are in (the tmpfs) */
  readonly: string[];
}

const ROOT = '/sys/fs/cgroup';

export function cgroupMounts(id: string, privileged: boolean, layout: CgroupLayout = detectLayout()): CgroupMounts {
  const base = MS.NOSUID | MS.NOEXEC | MS.NODEV;
  const ro = privileged ? 0 : MS.RDONLY;
  if (layout.mode === 'v2') {
    return { mounts: [{ source: 'cgroup', destination: ROOT, fstype: 'cgroup2', flags: base | ro, data: '' }], symlinks: [], readonly: [] };
  }
  const mounts: MountEntry[] = [{ source: 'tmpfs', destination: ROOT, fstype: 'tmpfs', flags: base, data: 'mode=755' }];
  const symlinks: SymlinkEntry[] = [];
  const seen = new Set<string>();
  const handle = cgroupHandle(id, { layout });
  for (const [controller, dir] of Object.entries(handle.dirs)) {
    if (controller === '') continue; // hybrid's unified hierarchy has no controllers: runc leaves it out
    const mountPoint = layout.v1[controller]!;
    const name = basename(mountPoint);
    if (!seen.has(name)) {
      seen.add(name);
      mounts.push({ source: dir, destination: `${ROOT}/${name}`, fstype: 'bind', flags: MS.BIND | base | ro, data: '' });
    }
    if (name !== controller && name.split(',').includes(controller) && dirname(mountPoint) === ROOT) {
      symlinks.push({ target: name, path: `${ROOT}/${controller}` });
    }
  }
  return { mounts, symlinks, readonly: privileged ? [] : [ROOT] };
}
