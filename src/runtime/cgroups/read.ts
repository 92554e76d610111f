/** What a container's cgroup tells: OOM kills, CPU time, memory, pids (v1 and v2). */
import { join } from 'node:path';
import { exists, readText } from './files.js';
import type { CgroupHandle } from './index.js';

function counter(text: string | undefined, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text ?? '');
  return m ? Number(m[1]) : 0;
}

/** How many processes of the container the kernel's OOM killer has killed. */
export async function oomKillCount(handle: CgroupHandle): Promise<number> {
  if (handle.mode === 'v2') return counter(await readText(join(handle.dirs['']!, 'memory.events')), 'oom_kill');
  if (!handle.dirs.memory) return 0;
  return counter(await readText(join(handle.dirs.memory, 'memory.oom_control')), 'oom_kill');
}

export interface CgroupSample {
  /** cumulative CPU time in nanoseconds */
  cpuNs: number;
  /** memory in use without inactive file cache (as `docker stats`) */
  memUsage: number;
  /** the limit in bytes, undefined when unlimited */
  memLimit?: number;
  pids: number;
}

function num(text: string | undefined): number {
  const n = Number((text ?? '').trim());
  return Number.isFinite(n) ? n : 0;
}

export async function sampleCgroup(handle: CgroupHandle): Promise<CgroupSample> {
  const UNLIMITED = 2 ** 62;
  if (handle.mode === 'v2') {
    const d = handle.dirs['']!;
    const stat = await readText(join(d, 'memory.stat'));
    const max = ((await readText(join(d, 'memory.max'))) ?? 'max').trim();
    return {
      cpuNs: counter(await readText(join(d, 'cpu.stat')), 'usage_usec') * 1000,
      memUsage: Math.max(0, num(await readText(join(d, 'memory.current'))) - counter(stat, 'inactive_file')),
      memLimit: max === 'max' ? undefined : Number(max),
      pids: num(await readText(join(d, 'pids.current'))),
    };
  }
  const mem = handle.dirs.memory;
  const stat = mem ? await readText(join(mem, 'memory.stat')) : undefined;
  const limit = mem ? num(await readText(join(mem, 'memory.limit_in_bytes'))) : 0;
  return {
    cpuNs: handle.dirs.cpuacct ? num(await readText(join(handle.dirs.cpuacct, 'cpuacct.usage'))) : 0,
    memUsage: mem ? Math.max(0, num(await readText(join(mem, 'memory.usage_in_bytes'))) - counter(stat, 'total_inactive_file')) : 0,
    memLimit: limit > 0 && limit < UNLIMITED ? limit : undefined,
    pids: handle.dirs.pids ? num(await readText(join(handle.dirs.pids, 'pids.current'))) : 0,
  };
}

/** Does the container's cgroup exist (for tests and `rm` reports)? */
export async function cgroupExists(handle: CgroupHandle): Promise<boolean> {
  for (const dir of Object.values(handle.dirs)) if (await exists(join(dir, 'cgroup.procs'))) return true;
  return false;
}
