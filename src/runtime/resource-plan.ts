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
  parseBytes, parseCpus, parseCpuset, parseCpuShares, parsePidsLimit, parseProcLimits, parseSwap, parseUlimit, type Rlimit,
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
}

const MIN_MEMORY = 6 * 1024 * 1024;

function hostCpus(): string {
  try {
    return readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  } catch {
    return `0-${availableParallelism() - 1}`;
  }
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
  return { limits, rlimits, mounts, security, readonlyRootfs: Boolean(opts.readOnly), devices: devices.map((d) => d.entry) };
}
