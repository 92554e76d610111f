/**
 * The resource module's face to the lifecycle: limits (cgroups, rlimits), mounts and
 * volumes, capabilities and seccomp. The runtime calls, in order:
 *   planResources(opts, image)          validate every flag; no side effects; TsdError (exit 125)
 *   prepareResources(id, plan, image)   cgroup, volumes (with copy-up), seccomp spec; returns what
 *                                       goes into the monitor's spec, with its own undo
 *   joinCgroups(id, pid)                the container's first process, before `go`
 *   oomKilled(id)                       after the exit, before release (for exit.json / inspect)
 *   releaseResources(id, {removeVolumes}) on `rm`; idempotent
 *   containerStats(id)                  for `tsdocker stats`
 */
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { TsdError } from '../sys/errors.js';
import { createUndoStack, runAll } from '../sys/undo.js';
import { writeFileAtomic, rmIfExists, readJsonIfExists, writeJsonAtomic } from '../sys/fs.js';
import { log } from '../sys/log.js';
import { withLock } from '../state/lock.js';
import {
  deleteVolume, ensureVolume, readResourceRecord, readResourceRecordSync, seccompFile, volumeFiles, volumeUsers, writeResourceRecord,
  type InspectMount, type ResourceRecord,
} from '../state/volumes.js';
import { bindMount, defaultDevices, MS, type DeviceEntry, type MountEntry } from '../rootfs/mounts.js';
import { hostDevices } from '../rootfs/host-devices.js';
import { planMounts, type MountRequest } from '../rootfs/volumes.js';
import { copyUp, isEmptyDir } from '../rootfs/copyup.js';
import {
  checkCgroupSupport, cgroupHandle, createCgroup, joinCgroup, oomKillCount, removeCgroup, sampleCgroup, type CgroupLimits, type CgroupSample,
} from './cgroups/index.js';
import { cgroupParent, detectLayout } from './cgroups/layout.js';
import {
  parseBytes, parseCpus, parseCpuset, parseCpuShares, parsePidsLimit, parseProcLimits, parseSwap, parseUlimit, type Rlimit,
} from './resource-parse.js';
import { capMask, capsFromMask } from './caps.js';
import { planSecurity, renderSeccomp, type SecurityPlan } from './security.js';

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
}

/** What the resource module contributes to the container's spec. */
export interface PreparedResources {
  mounts: MountEntry[];
  rlimits: { resource: number; soft: number; hard: number }[];
  capsMask: string;
  noNewPrivileges: boolean;
  seccompPath?: string;
  readonlyRootfs: boolean;
  privileged: boolean;
  /** device nodes beyond the default ones: every host device when privileged */
  devices: DeviceEntry[];
  /** undo everything prepareResources did (for a start that fails later) */
  undo: () => Promise<void>;
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

function hostEffectiveCaps(): string[] {
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
  await checkCgroupSupport(limits);
  const rlimits = planRlimits(opts.ulimit ?? [], { hostCaps: hostEffectiveCaps() });
  const mounts = planMounts(opts, image.config.Volumes ?? {});
  return { limits, rlimits, mounts, security, readonlyRootfs: Boolean(opts.readOnly) };
}

const depth = (p: string) => p.split('/').length;

/** Create what the plan needs on the host; returns the spec's share and an undo for all of it. */
export async function prepareResources(id: string, plan: ResourcePlan, image: ResourceImage): Promise<PreparedResources> {
  const undo = createUndoStack();
  try {
    const previous = await readResourceRecord(id);
    const parent = previous?.cgroupParent ?? cgroupParent();
    // a restart: the stopped run's cgroup (empty) goes, so OOM counters start again at zero
    await removeCgroup(cgroupHandle(id, { parent })).catch(() => undefined);
    const cg = await createCgroup(id, plan.limits, { parent });
    undo.push('remove cgroup', () => removeCgroup(cg));

    const record: ResourceRecord = { cgroupParent: parent, volumes: [] };
    const mounts: MountEntry[] = [];
    const ordered = [...plan.mounts].sort((a, b) => depth(a.target) - depth(b.target));
    await withLock('volumes', async () => {
      for (const m of ordered) mounts.push(await prepareMount(m, previous, record, image, undo));
    });
    await writeResourceRecord(id, record);

    const seccomp = renderSeccomp(plan.security);
    let seccompPath: string | undefined;
    if (seccomp !== undefined) {
      seccompPath = seccompFile(id);
      await writeFileAtomic(seccompPath, seccomp, 0o600);
      undo.push('remove seccomp spec', () => rmIfExists(seccompFile(id)));
    }
    const steps = undo;
    return {
      mounts,
      rlimits: plan.rlimits.map(({ resource, soft, hard }) => ({ resource, soft, hard })),
      capsMask: plan.security.capsMask,
      noNewPrivileges: plan.security.noNewPrivileges,
      seccompPath,
      readonlyRootfs: plan.readonlyRootfs,
      privileged: plan.security.privileged,
      devices: plan.security.privileged ? hostDevices('/dev', new Set(defaultDevices().map((d) => d.path))) : [],
      undo: async () => {
        const errors = await steps.run(lg);
        if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
      },
    };
  } catch (err) {
    await undo.run(lg);
    throw err;
  }
}

async function prepareMount(
  m: MountRequest,
  previous: ResourceRecord | undefined,
  record: ResourceRecord,
  image: ResourceImage,
  undo: ReturnType<typeof createUndoStack>,
): Promise<MountEntry> {
  const mounts = (record.mounts ??= []);
  if (m.kind === 'tmpfs') {
    mounts.push({ Type: 'tmpfs', Source: '', Destination: m.target, Mode: m.data, RW: (m.flags & MS.RDONLY) === 0, Propagation: '' });
    return { source: 'tmpfs', destination: m.target, fstype: 'tmpfs', flags: m.flags, data: m.data };
  }
  if (m.kind === 'bind') {
    if (m.createSource && !existsSync(m.source)) mkdirSync(m.source, { recursive: true, mode: 0o755 }); // as Docker's -v does
    mounts.push({ Type: 'bind', Source: m.source, Destination: m.target, Mode: m.readonly ? 'ro' : '', RW: !m.readonly, Propagation: 'rprivate' });
    return bindMount(m.source, m.target, { readonly: m.readonly, recursive: m.recursive });
  }
  const anonymous = m.name === undefined;
  const name = m.name ?? previous?.volumes.find((v) => v.anonymous && v.target === m.target)?.name ?? randomBytes(32).toString('hex');
  const { created } = await ensureVolume(name, { anonymous });
  if (created) undo.push(`remove volume ${name}`, () => deleteVolume(name));
  record.volumes.push({ name, anonymous, target: m.target });
  const data = volumeFiles.data(name);
  mounts.push({ Type: 'volume', Name: name, Source: data, Destination: m.target, Driver: 'local', Mode: m.readonly ? 'ro' : '', RW: !m.readonly, Propagation: '' });
  if (!m.nocopy && isEmptyDir(data)) await copyUp(image.layerDirs, m.target, data);
  return bindMount(data, m.target, { readonly: m.readonly });
}

async function handleFor(id: string) {
  const rec = await readResourceRecord(id);
  return cgroupHandle(id, { parent: rec?.cgroupParent });
}

export async function joinCgroups(id: string, pid: number): Promise<void> {
  await joinCgroup(await handleFor(id), pid);
}

export async function oomKilled(id: string): Promise<boolean> {
  return (await oomKillCount(await handleFor(id))) > 0;
}

export async function containerStats(id: string): Promise<CgroupSample> {
  return sampleCgroup(await handleFor(id));
}

/** On `rm`: the cgroup goes; with removeVolumes, the container's anonymous volumes no other container uses. */
export async function releaseResources(id: string, opts: { removeVolumes: boolean }): Promise<void> {
  const rec = await readResourceRecord(id);
  const steps: [string, () => Promise<void>][] = [['remove cgroup', async () => removeCgroup(await handleFor(id))]];
  if (opts.removeVolumes && rec) {
    steps.push([
      'remove anonymous volumes',
      () =>
        withLock('volumes', async () => {
          const users = await volumeUsers();
          for (const v of rec.volumes.filter((x) => x.anonymous)) {
            if ((users.get(v.name) ?? []).some((u) => u !== id)) continue;
            await deleteVolume(v.name);
          }
        }),
    ]);
  }
  steps.push(['remove seccomp spec', () => rmIfExists(seccompFile(id))]);
  await runAll(steps);
}

/** The privileges of a further process in an existing container (`exec`): the container's own. */
export function securityForExec(id: string, opts: ResourceOptions): {
  rlimits: { resource: number; soft: number; hard: number }[];
  capsMask: string;
  noNewPrivileges: boolean;
  seccompPath?: string;
  privileged: boolean;
} {
  const security = guardDevices(planSecurity(opts), opts);
  const rlimits = planRlimits(opts.ulimit ?? [], { hostCaps: hostEffectiveCaps() });
  const seccompPath = security.seccomp.kind !== 'unconfined' && existsSync(seccompFile(id)) ? seccompFile(id) : undefined;
  return {
    rlimits: rlimits.map(({ resource, soft, hard }) => ({ resource, soft, hard })),
    capsMask: security.capsMask,
    noNewPrivileges: security.noNewPrivileges,
    seccompPath,
    privileged: security.privileged,
  };
}

/** After the exit, before release: add Docker's OOMKilled verdict to the exit record. */
export async function recordOomVerdict(exitPath: string, id: string): Promise<void> {
  const exit = await readJsonIfExists<Record<string, unknown>>(exitPath);
  if (!exit || exit.oomKilled !== undefined) return;
  await writeJsonAtomic(exitPath, { ...exit, oomKilled: await oomKilled(id) });
}

/** Docker's inspect `Mounts` for a container (empty before its first start). */
export function inspectMounts(id: string): InspectMount[] {
  return readResourceRecordSync(id)?.mounts ?? [];
}

/** The resource flags as Docker's inspect `HostConfig` fields (sizes in bytes, NanoCpus, ...). */
export function inspectHostConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const o = raw as ResourceOptions;
  const tryOr = <T>(fn: () => T, dflt: T): T => {
    try {
      return fn();
    } catch {
      return dflt;
    }
  };
  const tmpfs: Record<string, string> = {};
  for (const t of o.tmpfs ?? []) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  return {
    Binds: o.volume?.length ? o.volume : null,
    Memory: o.memory !== undefined ? tryOr(() => parseBytes(o.memory!, '--memory'), 0) : 0,
    MemorySwap: o.memorySwap !== undefined ? tryOr(() => parseSwap(o.memorySwap!, '--memory-swap'), 0) : 0,
    NanoCpus: o.cpus !== undefined ? Math.round(Number(o.cpus) * 1e9) : 0,
    CpuShares: o.cpuShares !== undefined ? Number(o.cpuShares) : 0,
    CpusetCpus: o.cpusetCpus ?? '',
    PidsLimit: o.pidsLimit !== undefined ? Number(o.pidsLimit) : null,
    Ulimits: (o.ulimit ?? []).map((u) => tryOr(() => {
      const r = parseUlimit(u);
      return { Name: r.name, Soft: r.soft, Hard: r.hard };
    }, { Name: u, Soft: 0, Hard: 0 })),
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : null,
    ReadonlyRootfs: Boolean(o.readOnly),
    CapAdd: o.capAdd?.length ? o.capAdd : null,
    CapDrop: o.capDrop?.length ? o.capDrop : null,
    Privileged: Boolean(o.privileged),
    SecurityOpt: o.securityOpt?.length ? o.securityOpt : null,
  };
}
