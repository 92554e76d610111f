/**
 * Limits as data, and the cgroup files they become, for v1 and v2. Pure: the driver
 * (cgroups/index.ts) performs the writes. Each write names the flag it comes from, so a
 * file that this host lacks is reported against the flag the user gave.
 */

export interface CgroupLimits {
  /** bytes */
  memory?: number;
  /** memory + swap in bytes; -1 = unlimited swap; undefined = Docker's default (swap = memory) */
  memorySwap?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  /** normalized cpu list */
  cpusetCpus?: string;
  /** 0 = no limit */
  pidsLimit?: number;
  /** --memory-reservation (bytes): v1 soft limit, v2 memory.low */
  memoryReservation?: number;
  /** --oom-kill-disable (v1 only; Docker discards it on v2 with a warning) */
  oomKillDisable?: boolean;
  /** the flag that set the CFS quota/period, for messages (--cpus, --cpu-quota, --cpu-period) */
  cpuFlag?: string;
  /** device access: Docker's default allow list, or every device (--privileged) */
  devices: 'default' | 'all';
  /** --device: v1 devices.allow lines beyond the default list (runtime/devices.ts) */
  deviceRules?: string[];
}

export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
  /** the flag this write implements (for error messages) */
  flag: string;
  /** skip silently when the file does not exist (a default, not something the user asked for) */
  optional?: boolean;
}

/** Docker's default device allow list (runc's AllowedDevices, without tun). */
export const DEFAULT_DEVICE_RULES = [
  'c *:* m', // mknod of any char device (opening it is still refused)
  'b *:* m', // mknod of any block device
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
];

/** Controllers a v1 container cgroup is created in when they are mounted (memory for OOM and stats, cpuacct for stats, freezer for pause). */
export const V1_WANTED = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'devices', 'freezer'];
/** Controllers a v2 container cgroup gets enabled when the hierarchy offers them. */
export const V2_WANTED = ['cpuset', 'cpu', 'memory', 'pids'];

/** The controllers without which the requested limits cannot be applied, with the flag needing each. */
export function requiredControllers(l: CgroupLimits): Map<string, string> {
  const need = new Map<string, string>();
  if (l.memory !== undefined) need.set('memory', '--memory');
  if (l.memorySwap !== undefined) need.set('memory', '--memory-swap');
  if (l.memoryReservation !== undefined) need.set('memory', '--memory-reservation');
  if (l.oomKillDisable) need.set('memory', '--oom-kill-disable');
  if (l.cpuQuota !== undefined || l.cpuPeriod !== undefined) need.set('cpu', l.cpuFlag ?? '--cpus');
  if (l.cpuShares !== undefined) need.set('cpu', '--cpu-shares');
  if (l.cpusetCpus !== undefined) need.set('cpuset', '--cpuset-cpus');
  if (l.pidsLimit) need.set('pids', '--pids-limit');
  return need;
}

export function v1Writes(l: CgroupLimits): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  if (l.memory !== undefined) {
    w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(l.memory), flag: '--memory' });
    if (l.memorySwap !== undefined) {
      w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(l.memorySwap), flag: '--memory-swap' });
    } else {
      w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(l.memory * 2), flag: '--memory', optional: true });
    }
  }
  if (l.memoryReservation !== undefined) {
    w.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(l.memoryReservation), flag: '--memory-reservation' });
  }
  if (l.oomKillDisable) w.push({ controller: 'memory', file: 'memory.oom_control', value: '1', flag: '--oom-kill-disable' });
  if (l.cpuQuota !== undefined || l.cpuPeriod !== undefined) {
    const flag = l.cpuFlag ?? '--cpus';
    w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(l.cpuPeriod ?? 100_000), flag });
    w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(l.cpuQuota ?? -1), flag });
  }
  if (l.cpuShares !== undefined) w.push({ controller: 'cpu', file: 'cpu.shares', value: String(l.cpuShares), flag: '--cpu-shares' });
  if (l.cpusetCpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: l.cpusetCpus, flag: '--cpuset-cpus' });
  if (l.pidsLimit) w.push({ controller: 'pids', file: 'pids.max', value: String(l.pidsLimit), flag: '--pids-limit' });
  if (l.devices === 'all') {
    w.push({ controller: 'devices', file: 'devices.allow', value: 'a *:* rwm', flag: '--privileged', optional: true });
  } else {
    const flag = 'the default device allow list';
    w.push({ controller: 'devices', file: 'devices.deny', value: 'a *:* rwm', flag, optional: true });
    for (const rule of DEFAULT_DEVICE_RULES) w.push({ controller: 'devices', file: 'devices.allow', value: rule, flag, optional: true });
    for (const rule of l.deviceRules ?? []) w.push({ controller: 'devices', file: 'devices.allow', value: rule, flag: '--device', optional: true });
  }
  return w;
}

/** runc's conversion of cpu shares (2..262144) to a v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

export function v2Writes(l: CgroupLimits): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  if (l.memory !== undefined) {
    w.push({ controller: 'memory', file: 'memory.max', value: String(l.memory), flag: '--memory' });
    if (l.memorySwap === -1) w.push({ controller: 'memory', file: 'memory.swap.max', value: 'max', flag: '--memory-swap' });
    else if (l.memorySwap !== undefined) {
      w.push({ controller: 'memory', file: 'memory.swap.max', value: String(l.memorySwap - l.memory), flag: '--memory-swap' });
    } else {
      w.push({ controller: 'memory', file: 'memory.swap.max', value: String(l.memory), flag: '--memory', optional: true });
    }
  }
  if (l.memoryReservation !== undefined) {
    w.push({ controller: 'memory', file: 'memory.low', value: String(l.memoryReservation), flag: '--memory-reservation' });
  }
  if (l.cpuQuota !== undefined || l.cpuPeriod !== undefined) {
    const quota = l.cpuQuota === undefined || l.cpuQuota < 0 ? 'max' : String(l.cpuQuota);
    w.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${l.cpuPeriod ?? 100_000}`, flag: l.cpuFlag ?? '--cpus' });
  }
  if (l.cpuShares !== undefined) {
    w.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(l.cpuShares)), flag: '--cpu-shares' });
  }
  if (l.cpusetCpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: l.cpusetCpus, flag: '--cpuset-cpus' });
  if (l.pidsLimit) w.push({ controller: 'pids', file: 'pids.max', value: String(l.pidsLimit), flag: '--pids-limit' });
  // device access on v2 is an eBPF program (BPF_CGROUP_DEVICE): not implemented, see the report in issue 4
  return w;
}
