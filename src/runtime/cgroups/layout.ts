/**
 * Which cgroup layout this host has, read from /proc/self/mountinfo:
 *   v2      only a cgroup2 hierarchy (most current distributions)
 *   hybrid  v1 controller hierarchies plus a cgroup2 mount (e.g. /sys/fs/cgroup/unified)
 *   v1      v1 controller hierarchies only
 * In hybrid mode the controllers live on v1; the cgroup2 mount is joined too (as runc does)
 * but carries no limits.
 */
import { readFileSync } from 'node:fs';
import { TsdError } from '../../sys/errors.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  mode: CgroupMode;
  /** v1 controller name -> mount point of its hierarchy */
  v1: Record<string, string>;
  /** mount point of the cgroup2 hierarchy, if any */
  unified?: string;
}

const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids',
  'rdma', 'misc',
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): CgroupLayout | undefined {
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const root = left[3];
    const mountPoint = left[4];
    if (!mountPoint || root !== '/') continue; // a bind mount of a sub-cgroup is not a hierarchy root
    if (fstype === 'cgroup2') {
      unified ??= unescape(mountPoint);
    } else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        if (V1_CONTROLLERS.has(opt) && v1[opt] === undefined) v1[opt] = unescape(mountPoint);
      }
    }
  }
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && !unified) return undefined;
  return { mode: hasV1 ? (unified ? 'hybrid' : 'v1') : 'v2', v1, unified };
}

let cached: CgroupLayout | undefined;

export function detectLayout(): CgroupLayout {
  if (cached) return cached;
  const layout = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!layout) {
    throw new TsdError('RESOURCE', 'no cgroup filesystem is mounted on this host', {
      hint: 'mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)',
    });
  }
  // TSDOCKER_CGROUP_MODE=v2: use only the cgroup2 mount, as on a v2-only host (lets a hybrid
  // host exercise the v2 driver end to end; limits whose controllers v1 holds are refused)
  if (process.env.TSDOCKER_CGROUP_MODE === 'v2' && layout.unified) cached = { mode: 'v2', v1: {}, unified: layout.unified };
  else cached = layout;
  return cached;
}

/** The cgroup parent every container cgroup goes under (relative to each hierarchy's root). */
export function cgroupParent(): string {
  const p = (process.env.TSDOCKER_CGROUP_PARENT ?? 'tsdocker').replace(/^\/+|\/+$/g, '');
  if (p === '' || p.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new TsdError('BAD_ARGS', `invalid cgroup parent "${process.env.TSDOCKER_CGROUP_PARENT}"`, {
      hint: 'TSDOCKER_CGROUP_PARENT is a relative path such as tsdocker or ci/tsdocker',
    });
  }
  return p;
}
