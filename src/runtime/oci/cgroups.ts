/**
 * linux.cgroupsPath and linux.resources on the cgroup driver tsdocker run uses
 * (runtime/cgroups): where the container's directories go, the files the OCI resources
 * become (v1 and v2), created and applied at `create`, changed by `update`, and removed at
 * `delete` (only the directories create made: a pre-existing cgroup stays).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TsdError, errorMessage } from '../../sys/errors.js';
import { applyWrites, enableV2, initCpuset, mkdirs, rmdirPatiently } from '../cgroups/index.js';
import { cgroupParent, detectLayout, type CgroupLayout } from '../cgroups/layout.js';
import { DEFAULT_DEVICE_RULES, sharesToWeight, V1_WANTED, V2_WANTED, type CgroupWrite } from '../cgroups/limits.js';
import type { OciConfig, OciDeviceRule, OciResources } from './config.js';

export interface OciCgroup {
  mode: CgroupLayout['mode'];
  /** controller -> directory ('' = the cgroup2 directory) */
  dirs: Record<string, string>;
  /** the directories create made, deepest last: what delete removes */
  created: string[];
}

const V1_OCI = [...new Set([...V1_WANTED, 'freezer', 'blkio'])];

/** The caller's own cgroup in each hierarchy ("N:controllers:path" lines). */
function ownCgroups(): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctrls = '', path = ''] = line.split(':');
    if (!line) continue;
    if (ctrls === '') own.set('', path);
    for (const c of ctrls.split(',')) own.set(c, path);
  }
  return own;
}

/** cgroupsPath: absolute is from each hierarchy's root, relative is under our own cgroup, absent is <parent>/<id>. */
export function cgroupDirs(id: string, cgroupsPath: string | undefined, layout: CgroupLayout = detectLayout()): Record<string, string> {
  const path = cgroupsPath || `/${cgroupParent()}/${id}`;
  const own = path.startsWith('/') ? undefined : ownCgroups();
  const at = (mount: string, c: string) => join(mount, own ? (own.get(c) ?? '/') : '/', path);
  const dirs: Record<string, string> = {};
  if (layout.mode !== 'v2') for (const c of V1_OCI) if (layout.v1[c]) dirs[c] = at(layout.v1[c], c);
  if (layout.unified) dirs[''] = at(layout.unified, '');
  return dirs;
}

function deviceRule(r: OciDeviceRule): string {
  const n = (v: number | null | undefined) => (v === undefined || v === null || v < 0 ? '*' : String(v));
  return `${r.type ?? 'a'} ${n(r.major)}:${n(r.minor)} ${r.access || 'rwm'}`;
}

/** The files linux.resources becomes on v1 (hybrid included). */
export function v1ResourceWrites(r: OciResources, config?: OciConfig): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const put = (controller: string, file: string, value: unknown, flag: string, optional = false) => {
    if (value !== undefined && value !== null) w.push({ controller, file, value: String(value), flag: `linux.resources.${flag}`, optional });
  };
  const m = r.memory ?? {};
  put('memory', 'memory.limit_in_bytes', m.limit, 'memory.limit');
  put('memory', 'memory.soft_limit_in_bytes', m.reservation, 'memory.reservation');
  put('memory', 'memory.memsw.limit_in_bytes', m.swap, 'memory.swap');
  put('memory', 'memory.kmem.limit_in_bytes', m.kernel, 'memory.kernel', true);
  put('memory', 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP, 'memory.kernelTCP', true);
  put('memory', 'memory.swappiness', m.swappiness, 'memory.swappiness');
  if (m.disableOOMKiller) put('memory', 'memory.oom_control', 1, 'memory.disableOOMKiller');
  const c = r.cpu ?? {};
  put('cpu', 'cpu.shares', c.shares || undefined, 'cpu.shares');
  put('cpu', 'cpu.cfs_period_us', c.period || undefined, 'cpu.period');
  put('cpu', 'cpu.cfs_quota_us', c.quota || undefined, 'cpu.quota');
  put('cpu', 'cpu.rt_period_us', c.realtimePeriod || undefined, 'cpu.realtimePeriod', true);
  put('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime || undefined, 'cpu.realtimeRuntime', true);
  put('cpuset', 'cpuset.cpus', c.cpus || undefined, 'cpu.cpus');
  put('cpuset', 'cpuset.mems', c.mems || undefined, 'cpu.mems');
  if (r.pids?.limit !== undefined && r.pids.limit !== 0) put('pids', 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max', 'pids.limit');
  const b = r.blockIO ?? {};
  put('blkio', 'blkio.weight', b.weight || undefined, 'blockIO.weight', true);
  put('blkio', 'blkio.leaf_weight', b.leafWeight || undefined, 'blockIO.leafWeight', true);
  for (const d of b.weightDevice ?? []) {
    if (d.weight) put('blkio', 'blkio.weight_device', `${d.major}:${d.minor} ${d.weight}`, 'blockIO.weightDevice', true);
    if (d.leafWeight) put('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, 'blockIO.weightDevice', true);
  }
  // a limit on a device must reach the kernel (a missing device fails create, as with runc)
  const strict = (k: string) => w.filter((x) => x.flag.startsWith(`linux.resources.blockIO.${k}`)).forEach((x) => (x.optional = false));
  strict('throttle');
  const throttles = [['throttleReadBpsDevice', 'read_bps'], ['throttleWriteBpsDevice', 'write_bps'], ['throttleReadIOPSDevice', 'read_iops'], ['throttleWriteIOPSDevice', 'write_iops']] as const;
  for (const [k, f] of throttles) for (const d of b[k] ?? []) put('blkio', `blkio.throttle.${f}_device`, `${d.major}:${d.minor} ${d.rate}`, `blockIO.${k}`, true);
  if (r.devices) {
    for (const d of r.devices) put('devices', d.allow ? 'devices.allow' : 'devices.deny', deviceRule(d), 'devices', true);
    if (config) {
      // the devices every container gets, then the ones config.json adds (runc's order)
      for (const rule of DEFAULT_DEVICE_RULES) put('devices', 'devices.allow', rule, 'devices', true);
      for (const d of config.linux?.devices ?? []) {
        if (d.type !== 'p') put('devices', 'devices.allow', `${d.type === 'u' ? 'c' : d.type} ${d.major}:${d.minor} rwm`, 'devices', true);
      }
    }
  }
  return w;
}

/** The files linux.resources becomes on a cgroup v2 host. */
export function v2ResourceWrites(r: OciResources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const put = (controller: string, file: string, value: unknown, flag: string) => {
    if (value !== undefined && value !== null) w.push({ controller, file, value: String(value), flag: `linux.resources.${flag}` });
  };
  const max = (v: number | undefined) => (v === undefined ? undefined : v < 0 ? 'max' : v);
  const m = r.memory ?? {};
  put('memory', 'memory.max', max(m.limit), 'memory.limit');
  put('memory', 'memory.low', m.reservation, 'memory.reservation');
  if (m.swap !== undefined) put('memory', 'memory.swap.max', m.swap < 0 ? 'max' : Math.max(0, m.swap - (m.limit ?? 0)), 'memory.swap');
  const c = r.cpu ?? {};
  if (c.shares) put('cpu', 'cpu.weight', sharesToWeight(c.shares), 'cpu.shares');
  if (c.quota || c.period) put('cpu', 'cpu.max', `${c.quota && c.quota > 0 ? c.quota : 'max'} ${c.period || 100_000}`, 'cpu.quota');
  put('cpuset', 'cpuset.cpus', c.cpus || undefined, 'cpu.cpus');
  put('cpuset', 'cpuset.mems', c.mems || undefined, 'cpu.mems');
  if (r.pids?.limit !== undefined && r.pids.limit !== 0) put('pids', 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max', 'pids.limit');
  return w;
}

export function resourceWrites(mode: CgroupLayout['mode'], r: OciResources, config?: OciConfig): CgroupWrite[] {
  return mode === 'v2' ? v2ResourceWrites(r) : v1ResourceWrites(r, config);
}

/** Limits whose controller this host does not have are refused, not silently dropped. */
function checkControllers(layout: CgroupLayout, r: OciResources): void {
  const need: [string, string, boolean][] = [
    ['net_cls', 'linux.resources.network.classID', r.network?.classID !== undefined],
    ['net_prio', 'linux.resources.network.priorities', (r.network?.priorities?.length ?? 0) > 0],
    ['hugetlb', 'linux.resources.hugepageLimits', (r.hugepageLimits?.length ?? 0) > 0],
  ];
  for (const [c, field, wanted] of need) {
    if (wanted && layout.mode !== 'v2' && !layout.v1[c]) {
      throw new TsdError('RESOURCE', `cannot apply ${field}: the ${c} cgroup controller is not mounted on this host`, { exitCode: 1, hint: `leave ${field} out of config.json` });
    }
  }
}

/** v1 real-time budget: a new cgroup has none, so the levels between the root and us get the container's first. */
async function rtBudget(dirs: Record<string, string>, created: string[], r: OciResources): Promise<void> {
  const cpu = dirs.cpu;
  if (!cpu || !r.cpu?.realtimeRuntime) return;
  for (const dir of created.filter((d) => cpu.startsWith(`${d}/`))) {
    if (r.cpu.realtimePeriod) writeFileSync(join(dir, 'cpu.rt_period_us'), String(r.cpu.realtimePeriod));
    writeFileSync(join(dir, 'cpu.rt_runtime_us'), String(r.cpu.realtimeRuntime));
  }
}

/** Create the directories and apply linux.resources; on failure nothing create made is left. */
export async function createOciCgroup(id: string, config: OciConfig): Promise<OciCgroup> {
  const layout = detectLayout();
  const dirs = cgroupDirs(id, config.linux?.cgroupsPath, layout);
  const created: string[] = [];
  const resources = config.linux?.resources ?? {};
  checkControllers(layout, resources);
  try {
    if (layout.mode === 'v2') {
      const dir = dirs['']!;
      await mkdirs(dirname(dir), created);
      const available = readFileSync(join(layout.unified!, 'cgroup.controllers'), 'utf8').split(/\s+/);
      await enableV2(layout.unified!, dir, V2_WANTED.filter((c) => available.includes(c)));
      await mkdirs(dir, created);
      await applyWrites(resourceWrites('v2', resources), Object.fromEntries(V2_WANTED.map((c) => [c, dir])));
    } else {
      for (const dir of Object.values(dirs)) await mkdirs(dir, created);
      if (dirs.cpuset) await initCpuset(layout.v1.cpuset!, dirs.cpuset);
      await rtBudget(dirs, created, resources);
      await applyWrites(resourceWrites(layout.mode, resources, config), dirs);
    }
    return { mode: layout.mode, dirs, created };
  } catch (err) {
    await removeOciCgroup({ mode: layout.mode, dirs, created });
    throw err instanceof TsdError ? new TsdError('RESOURCE', err.message, { exitCode: 1, cause: err }) : err;
  }
}

/** `update --resources`: the same writes on the existing directories. */
export async function updateOciCgroup(cg: OciCgroup, r: OciResources): Promise<void> {
  const dirs = cg.mode === 'v2' ? Object.fromEntries(V2_WANTED.map((c) => [c, cg.dirs['']!])) : cg.dirs;
  await applyWrites(resourceWrites(cg.mode, r), dirs);
}

export async function joinOciCgroup(cg: OciCgroup, pid: number): Promise<void> {
  for (const dir of new Set(Object.values(cg.dirs))) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (err) {
      throw new TsdError('RESOURCE', `cannot move process ${pid} into cgroup ${dir}: ${errorMessage(err)}`, { exitCode: 1, cause: err });
    }
  }
}

export async function removeOciCgroup(cg: OciCgroup): Promise<void> {
  for (const dir of [...cg.created].reverse()) await rmdirPatiently(dir).catch(() => undefined);
}

export { cgroupPids, freeze, isFrozen } from '../cgroups/freezer.js';
