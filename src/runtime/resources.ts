/**
 * The resource module's face to the lifecycle: limits (cgroups, rlimits), mounts and
 * volumes, capabilities and seccomp. The runtime calls, in order:
 *   planResources(opts, image)          validate every flag; no side effects; TsdError (exit 125)
 *   prepareResources(id, plan, image)   cgroup, volumes (with copy-up), seccomp spec; returns what
 *                                       goes into the monitor's spec, with its own undo
 *   oomKilled(id)                       after the exit, before release (for exit.json / inspect)
 *   releaseResources(id, {removeVolumes}) on `rm`; idempotent
 *   containerStats(id)                  for `tsdocker stats`
 */
import { emit } from '../state/events.js';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from '../sys/random.js';
import { createUndoStack, runAll, teardownError } from '../sys/undo.js';
import { writeFileAtomic, rmIfExists, readJsonIfExists, writeJsonAtomic } from '../sys/fs.js';
import { log } from '../sys/log.js';
import { withLock } from '../state/lock.js';
import {
  deleteVolume, ensureVolume, readResourceRecord, seccompFile, volumeFiles, volumeUsers, writeResourceRecord, type ResourceRecord,
} from '../state/volumes.js';
import { bindMount, defaultDevices, MS, type DeviceEntry, type MountEntry } from '../rootfs/mounts.js';
import { hostDevices } from '../rootfs/host-devices.js';
import type { MountRequest } from '../rootfs/volumes.js';
import { copyUp, isEmptyDir } from '../rootfs/copyup.js';
import { cgroupHandle, createCgroup, primeCgroupMigration, oomKillCount, procsFiles, removeCgroup, sampleCgroup, type CgroupSample } from './cgroups/index.js';
import { cgroupParent } from './cgroups/layout.js';
import { planSecurity, renderSeccomp } from './security.js';
import { guardDevices, hostEffectiveCaps, planRlimits, type ResourceImage, type ResourceOptions, type ResourcePlan } from './resource-plan.js';

const lg = log.child({ mod: 'runtime.resources' });

export * from './resource-plan.js';
export { inspectHostConfig, inspectMounts } from './resource-inspect.js';

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
  oomScoreAdj?: number;
  /** the container's cgroup.procs files: the monitor moves the container's first process there (spec `cgroup`) */
  cgroupProcs: string[];
  /** undo everything prepareResources did (for a start that fails later) */
  undo: () => Promise<void>;
}
const depth = (p: string) => p.split('/').length;

/** Create what the plan needs on the host; returns the spec's share and an undo for all of it. */
export async function prepareResources(id: string, plan: ResourcePlan, image: ResourceImage, opts: { autoRemove: boolean }): Promise<PreparedResources> {
  const undo = createUndoStack();
  try {
    const previous = await readResourceRecord(id);
    const parent = previous?.cgroupParent ?? cgroupParent();
    // a restart: the stopped run's cgroup (empty) goes, so OOM counters start again at zero
    if (previous) await removeCgroup(cgroupHandle(id, { parent })).catch(() => undefined);
    const cg = await createCgroup(id, plan.limits, { parent });
    // no cgroupfs work until the container joins: the kernel's migration wait starts now
    // (it holds cgroup_mutex, which a mkdir here would have had to wait for)
    primeCgroupMigration();
    undo.push('remove cgroup', () => removeCgroup(cg));

    const record: ResourceRecord = { cgroupParent: parent, volumes: [] };
    const mounts: MountEntry[] = [];
    const ordered = [...plan.mounts].sort((a, b) => depth(a.target) - depth(b.target));
    const prepareAll = async () => {
      for (const m of ordered) mounts.push(await prepareMount(m, previous, record, image, undo, id));
    };
    // volumes are shared between containers: create and copy them up under the volumes lock
    await (ordered.some((m) => m.kind === 'volume') ? withLock('volumes', prepareAll) : prepareAll());
    // fsync when a crash must not lose it: a kept container's cgroup parent and volumes, or the
    // anonymous volumes a --rm container owns (without the record they would never be removed)
    await writeResourceRecord(id, record, { durable: !opts.autoRemove || record.volumes.length > 0 });

    const seccomp = renderSeccomp(plan.security);
    let seccompPath: string | undefined;
    if (seccomp !== undefined) {
      seccompPath = seccompFile(id);
      await writeFileAtomic(seccompPath, seccomp, { mode: 0o600, durable: false });
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
      devices: plan.security.privileged ? hostDevices('/dev', new Set(defaultDevices().map((d) => d.path))) : plan.devices,
      ...(plan.oomScoreAdj !== undefined ? { oomScoreAdj: plan.oomScoreAdj } : {}),
      cgroupProcs: procsFiles(cg),
      undo: async () => {
        const failures = await steps.run(lg);
        if (failures.length) throw teardownError(failures);
      },
    };
  } catch (err) {
    throw await undo.rollback(err, lg);
  }
}

async function prepareMount(
  m: MountRequest,
  previous: ResourceRecord | undefined,
  record: ResourceRecord,
  image: ResourceImage,
  undo: ReturnType<typeof createUndoStack>,
  id: string,
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
  const { created } = await ensureVolume(name, { anonymous, labels: m.labels });
  if (created) undo.push(`remove volume ${name}`, () => deleteVolume(name));
  record.volumes.push({ name, anonymous, target: m.target });
  const data = volumeFiles.data(name);
  mounts.push({ Type: 'volume', Name: name, Source: data, Destination: m.target, Driver: 'local', Mode: m.readonly ? 'ro' : '', RW: !m.readonly, Propagation: '' });
  if (!m.nocopy && isEmptyDir(data)) await copyUp(image.layerDirs, m.target, data);
  emit('volume', 'mount', name, { container: id, destination: m.target, driver: 'local', propagation: '', 'read/write': String(!m.readonly) });
  return bindMount(data, m.target, { readonly: m.readonly });
}

async function handleFor(id: string) {
  const rec = await readResourceRecord(id);
  return cgroupHandle(id, { parent: rec?.cgroupParent });
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
  // the volumes lock only when there is an anonymous volume to remove (one lock per state change)
  if (opts.removeVolumes && rec?.volumes.some((x) => x.anonymous)) {
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
  steps.push(['remove seccomp spec', async () => rmSync(seccompFile(id), { force: true })]);
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
  // the filter is the one rendered at start (seccomp.txt), not a profile file read again now
  const securityOpt = (opts.securityOpt ?? []).filter((o) => !/^seccomp[=:]/.test(o));
  const security = guardDevices(planSecurity({ ...opts, securityOpt }), opts);
  const rlimits = planRlimits(opts.ulimit ?? [], { hostCaps: hostEffectiveCaps() });
  const seccompPath = !security.privileged && existsSync(seccompFile(id)) ? seccompFile(id) : undefined;
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
  // absent means false: only an OOM kill is worth a write on the exit path
  if (await oomKilled(id)) await writeJsonAtomic(exitPath, { ...exit, oomKilled: true });
}

