/**
 * `update` (Docker's daemon/update.go): new resource limits for a container. The merged flags
 * are validated as `create` validates them, written into the running container's cgroup
 * (v1 or v2; devices are left alone), then kept in its record, so the next start and
 * `inspect` see them. A stopped container only gets the record.
 */
import { emitContainer } from '../state/events.js';
import { withLock } from '../state/lock.js';
import { findContainer, writeConfig } from '../state/containers.js';
import { readResourceRecord } from '../state/volumes.js';
import { resolveImage } from '../image/index.js';
import { TsdError } from '../sys/errors.js';
import { applyWrites, cgroupHandle } from './cgroups/index.js';
import { v1Writes, v2Writes, type CgroupWrite } from './cgroups/limits.js';
import { planResources, type ResourceOptions } from './resource-plan.js';

/** The flags `update` takes, as ResourceOptions keys. */
export const UPDATE_KEYS = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpuQuota', 'cpuPeriod', 'cpusetCpus', 'pidsLimit'] as const;
export type UpdateOptions = Partial<Pick<ResourceOptions, (typeof UPDATE_KEYS)[number]>>;

/** Docker: --cpus replaces a quota set before, and the other way round, only when told so. */
function merge(cur: ResourceOptions, change: UpdateOptions): ResourceOptions {
  if (change.cpus !== undefined && (cur.cpuQuota !== undefined || cur.cpuPeriod !== undefined) && change.cpuQuota === undefined && change.cpuPeriod === undefined) {
    throw new TsdError('BAD_ARGS', 'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set', { exitCode: 1, hint: 'the container has --cpu-quota/--cpu-period: update those' });
  }
  if ((change.cpuQuota !== undefined || change.cpuPeriod !== undefined) && cur.cpus !== undefined && change.cpus === undefined) {
    throw new TsdError('BAD_ARGS', 'Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set', { exitCode: 1, hint: 'the container has --cpus: update --cpus' });
  }
  return { ...cur, ...change };
}

/** Write the limits; on v1 a memory limit above the current memory+swap limit needs the latter first. */
async function apply(writes: CgroupWrite[], dirs: Record<string, string>): Promise<void> {
  try {
    await applyWrites(writes, dirs);
  } catch (err) {
    const swapFirst = [...writes.filter((w) => w.file.startsWith('memory.memsw')), ...writes.filter((w) => !w.file.startsWith('memory.memsw'))];
    if (!writes.some((w) => w.file.startsWith('memory.memsw'))) throw err;
    await applyWrites(swapFirst, dirs);
  }
}

export async function updateContainer(ref: string, change: UpdateOptions): Promise<void> {
  const { config } = await findContainer(ref);
  await withLock(`ctr-${config.id}`, async () => {
    const v = await findContainer(config.id);
    const resources = merge(v.config.resources as ResourceOptions, change);
    const image = await resolveImage(v.config.image.id).catch(() => ({ config: {}, layerDirs: [] as string[] }));
    const plan = await planResources(resources, image);
    if (v.status === 'running') {
      const rec = await readResourceRecord(config.id);
      const handle = cgroupHandle(config.id, { parent: rec?.cgroupParent });
      const writes = (handle.mode === 'v2' ? v2Writes(plan.limits) : v1Writes(plan.limits)).filter((w) => w.controller !== 'devices');
      const dirs = handle.mode === 'v2' ? Object.fromEntries(['cpuset', 'cpu', 'memory', 'pids'].map((c) => [c, handle.dirs['']!])) : handle.dirs;
      await apply(writes, dirs);
    }
    await writeConfig({ ...v.config, resources: resources as Record<string, unknown> });
    emitContainer(v.config, 'update');
  });
}
