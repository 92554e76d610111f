/**
 * The points where the lifecycle hands over to the resource module (cgroups, volumes,
 * seccomp): one place, so the lifecycle reads the same whichever features are present.
 */
import type { ContainerConfig } from '../state/containers.js';
import type { DeviceEntry, MountEntry } from '../rootfs/mounts.js';
import type { Rlimit } from './spec.js';
import { containerFiles } from '../state/containers.js';
import * as res from './resources.js';
import { endLeftovers, releaseNamespaces } from './namespaces.js';
import { procsFiles } from './cgroups/index.js';
import { containerCgroup } from './pause.js';

export interface ImageView {
  id: string;
  config: { Volumes?: Record<string, object> };
  layerDirs: string[];
}

/** What the resource module contributes to the container's spec. */
export interface PreparedResources {
  mounts: MountEntry[];
  rlimits: Rlimit[];
  /** hex mask; undefined means Docker's default set */
  capsMask?: string;
  noNewPrivileges: boolean;
  seccompPath?: string;
  readonlyRootfs: boolean;
  privileged: boolean;
  /** device nodes beyond the defaults (every host device when privileged) */
  devices?: DeviceEntry[];
  /** --oom-score-adj */
  oomScoreAdj?: number;
  /** the container's cgroup.procs files (run): the monitor moves the first process there before `pid` */
  cgroupProcs?: string[];
  undo: () => Promise<void>;
}

/**
 * Plans made at create, by the options object they were made from: `run` creates and starts
 * in one process with the same config, so the start reuses the plan instead of reading the
 * host's limits and mounts again. A later `start` (another process) plans afresh.
 */
const planned = new WeakMap<object, Promise<res.ResourcePlan>>();

export async function prepareContainerResources(config: ContainerConfig, image: ImageView): Promise<PreparedResources> {
  // resources: cgroups, volumes, seccomp and capabilities are prepared here (runtime/resources.ts)
  const plan = await (planned.get(config.resources) ?? res.planResources(config.resources as res.ResourceOptions, image));
  planned.delete(config.resources);
  return res.prepareResources(config.id, plan, image, { autoRemove: config.autoRemove });
}

/** Validate the resource flags at create time (no side effects; TsdError exit 125). */
export async function validateContainerResources(resources: Record<string, unknown>, image: ImageView): Promise<void> {
  const plan = res.planResources(resources as res.ResourceOptions, image);
  planned.set(resources, plan);
  await plan;
}

/** The privileges a process in the container runs with (for exec: the same as the container's). */
export function securityFor(config: ContainerConfig): Omit<PreparedResources, 'mounts' | 'undo' | 'readonlyRootfs'> {
  // resources: capabilities, seccomp and rlimits of an existing container are derived here
  return res.securityForExec(config.id, config.resources as res.ResourceOptions);
}

/** The cgroup.procs files of a running container's cgroups: an exec's (or a probe's) monitor moves its process there (spec `cgroup`). */
export function containerCgroupProcs(id: string): string[] {
  return procsFiles(containerCgroup(id));
}

export async function releaseContainerResources(id: string, opts: { removeVolumes: boolean; sharedPid?: boolean }): Promise<void> {
  // resources: cgroups and anonymous volumes are released here (runtime/resources.ts)
  // --pid host/container:X (or a record lost: unknown): what the command left behind; a
  // container of its own pid namespace has nothing there that the kernel did not end
  if (opts.sharedPid !== false) await endLeftovers(id);
  await res.releaseResources(id, opts);
  await releaseNamespaces(id); // --ipc shareable: its /dev/shm on the host
}

export async function recordExitFacts(id: string): Promise<void> {
  // resources: the OOM verdict is added to exit.json here (runtime/resources.ts)
  await res.recordOomVerdict(containerFiles.exit(id), id);
}
