/**
 * Planning the resources of a container: every flag parsed and checked against this host
 * (CPU count, cgroup controllers, hard rlimits, the capability bounding set), no side
 * effects. Bad input is a TsdError with exit 125, before anything exists.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { planMounts, type MountRequest } from '../rootfs/volumes.js';
import { checkCgroupSupport, type CgroupLimits } from './cgroups/index.js';
import { detectLayout } from './cgroups/layout.js';
import {
  parseBytes, parseCpuPeriod, parseCpuQuota, parseCpus, parseCpuset, parseCpuShares, parseOomScoreAdj, parsePidsLimit, parseProcLimits, parseSwap, parseUlimit, type Rlimit,
} from './resource-parse.js';
import { capMask, capsFromMask } from './caps.js';
import { planSecurity, type SecurityPlan } from './security.js';
import { parseDevice, planDevice } from './devices.js';
import type { DeviceEntry } from '../rootfs/mounts.js';

const lg = log.child({ mod: 'runtime.resources' });

/** The flags, as the CLI hands them over (commander: strings, repeatable flags as arrays). */
export interface ResourceOptions {
  memory?: string | number;
  memorySwap?: string | number;
  cpus?: string | number;
  cpuShares?: string | number;
  cpusetCpus?: string;
  pidsLimit?: string | number;
  ulimit?: string[];
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  /** --device HOST[:CONTAINER][:PERMS] */
  device?: string[];
  memoryReservation?: string | number;
  cpuQuota?: string | number;
  cpuPeriod?: string | number;
  oomScoreAdj?: string | number;
  oomKillDisable?: boolean;
}

export interface ResourceImage {
  config: { Volumes?: Record<string, object> | null };
  /** layer directories, bottom layer first */
  layerDirs: string[];
}

export interface ResourcePlan {
  limits: CgroupLimits;
  rlimits: Rlimit[];
  mounts: MountRequest[];
  security: SecurityPlan;
  readonlyRootfs: boolean;
  /** --device nodes */
  devices: DeviceEntry[];
  /** --oom-score-adj */
  oomScoreAdj?: number;
}

const MIN_MEMORY = 6 * 1024 * 1024;

function hostCpus(): string {
  try {
    return readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  } catch {
    return `0-${availableParallelism() - 1}`;
  }
}

/** --cpu-quota and --cpu-period (not with --cpus: the daemon's conflict messages). */
function planCfs(o: ResourceOptions, limits: CgroupLimits): void {
  const quota = o.cpuQuota !== undefined ? parseCpuQuota(o.cpuQuota) : undefined;
  const period = o.cpuPeriod !== undefined ? parseCpuPeriod(o.cpuPeriod) : undefined;
  if (quota === undefined && period === undefined) return;
  if (o.cpus !== undefined) {
    const which = period !== undefined ? 'CPU Period' : 'CPU Quota';
    throw new TsdError('BAD_ARGS', `Conflicting options: Nano CPUs and ${which} cannot both be set`, { hint: 'give --cpus, or --cpu-quota with --cpu-period' });
  }
  if (quota !== undefined) limits.cpuQuota = quota;
  if (period !== undefined) limits.cpuPeriod = period;
  limits.cpuFlag = quota !== undefined ? '--cpu-quota' : '--cpu-period';
}

function planLimits(o: ResourceOptions, privileged: boolean): CgroupLimits {
  const limits: CgroupLimits = { devices: privileged ? 'all' : 'default' };
  if (o.memory !== undefined) {
    limits.memory = parseBytes(o.memory, '--memory');
    if (limits.memory < MIN_MEMORY) {
      throw new TsdError('BAD_ARGS', `minimum memory limit allowed is 6MB (got ${o.memory})`, { hint: 'e.g. -m 64m' });
    }
  }
  if (o.memorySwap !== undefined && String(o.memorySwap).trim() !== '0') {
    // 0 means "not set", as in Docker
    const swap = parseSwap(o.memorySwap, '--memory-swap');
    if (limits.memory === undefined) {
      throw new TsdError('BAD_ARGS', '--memory-swap needs --memory: you should always set the memory limit when using a memory+swap limit');
    }
    if (swap !== -1 && swap < limits.memory) {
      throw new TsdError('BAD_ARGS', `--memory-swap (${o.memorySwap}) must be at least --memory (${o.memory}): it is the total of memory and swap`);
    }
    limits.memorySwap = swap;
  }
  if (o.cpus !== undefined) {
    const { quota, period } = parseCpus(o.cpus, availableParallelism());
    limits.cpuQuota = quota;
    limits.cpuPeriod = period;
  }
  planCfs(o, limits);
  if (o.memoryReservation !== undefined && String(o.memoryReservation).trim() !== '0') {
    limits.memoryReservation = parseBytes(o.memoryReservation, '--memory-reservation');
    if (limits.memoryReservation < MIN_MEMORY) throw new TsdError('BAD_ARGS', 'Minimum memory reservation allowed is 6MB', { hint: 'e.g. --memory-reservation 64m' });
    if (limits.memory !== undefined && limits.memory < limits.memoryReservation) {
      throw new TsdError('BAD_ARGS', 'Minimum memory limit can not be less than memory reservation limit, see usage', { hint: 'give --memory at least --memory-reservation' });
    }
  }
  if (o.oomKillDisable) {
    if (detectLayout().mode === 'v2') process.stderr.write('WARNING: Your kernel does not support OomKillDisable. OomKillDisable discarded.\n');
    else limits.oomKillDisable = true;
    if (limits.memory === undefined) process.stderr.write("WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.\n");
  }
  if (o.cpuShares !== undefined) limits.cpuShares = parseCpuShares(o.cpuShares);
  if (o.cpusetCpus !== undefined) limits.cpusetCpus = parseCpuset(String(o.cpusetCpus), hostCpus());
  if (o.pidsLimit !== undefined) {
    const n = parsePidsLimit(o.pidsLimit);
    if (n > 0) limits.pidsLimit = n;
  }
  return limits;
}

/** --ulimit: parsed, and refused when it would raise a hard limit this host does not let us raise. */
export function planRlimits(specs: readonly string[], security: { hostCaps: readonly string[] }, procLimits = readFileSync('/proc/self/limits', 'utf8')): Rlimit[] {
  const byRes = new Map<number, Rlimit>();
  for (const s of specs) {
    const r = parseUlimit(s);
    byRes.set(r.resource, r);
  }
  const current = parseProcLimits(procLimits);
  const canRaise = security.hostCaps.includes('SYS_RESOURCE');
  for (const r of byRes.values()) {
    const cur = current.get(r.resource);
    if (!cur || canRaise || cur.hard === -1) continue;
    if (r.hard === -1 || r.hard > cur.hard) {
      throw new TsdError('RESOURCE', `cannot apply --ulimit ${r.name}=${r.soft}:${r.hard === -1 ? 'unlimited' : r.hard} on this host: the hard limit is ${cur.hard} and raising it needs CAP_SYS_RESOURCE, which this host's bounding set lacks`, {
        hint: `keep the hard limit at or below ${cur.hard}, e.g. --ulimit ${r.name}=${Math.min(r.soft === -1 ? cur.hard : r.soft, cur.hard)}:${cur.hard}`,
      });
    }
  }
  return [...byRes.values()];
}

export function hostEffectiveCaps(): string[] {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return capsFromMask(m?.[1] ?? '0');
}

/**
 * cgroup v2 restricts device access only through an eBPF program, which tsdocker does not
 * load (yet): there, a container keeps CAP_MKNOD only when asked for explicitly, so it cannot
 * make and open a node for a host disk. On v1 the devices controller does the job.
 */
export function guardDevices(security: SecurityPlan, opts: ResourceOptions, mode = detectLayout().mode): SecurityPlan {
  if (security.privileged || mode !== 'v2' || !security.caps.includes('MKNOD')) return security;
  if ((opts.capAdd ?? []).some((c) => /^(CAP_)?(MKNOD|ALL)$/i.test(c.trim()))) return security;
  lg.debug('cgroup v2 without a device filter: CAP_MKNOD left out of the default set');
  const caps = security.caps.filter((c) => c !== 'MKNOD');
  return { ...security, caps, capsMask: capMask(caps) };
}

/** Validate every resource flag against this host. No side effects. */
export async function planResources(opts: ResourceOptions, image: ResourceImage): Promise<ResourcePlan> {
  const security = guardDevices(planSecurity(opts), opts);
  const limits = planLimits(opts, security.privileged);
  const devices = (opts.device ?? []).map((d) => planDevice(parseDevice(d)));
  if (devices.length) limits.deviceRules = devices.map((d) => d.rule);
  await checkCgroupSupport(limits);
  const rlimits = planRlimits(opts.ulimit ?? [], { hostCaps: hostEffectiveCaps() });
  const mounts = planMounts(opts, image.config.Volumes ?? {});
  const oomScoreAdj = opts.oomScoreAdj !== undefined ? parseOomScoreAdj(opts.oomScoreAdj) : undefined;
  return { limits, rlimits, mounts, security, readonlyRootfs: Boolean(opts.readOnly), devices: devices.map((d) => d.entry), ...(oomScoreAdj !== undefined ? { oomScoreAdj } : {}) };
}
