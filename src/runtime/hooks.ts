/**
 * The points where the lifecycle hands over to the resource module (cgroups, volumes,
 * seccomp): one place, so the lifecycle reads the same whichever features are present.
 */
import type { ContainerConfig } from '../state/containers.js';
import type { MountEntry } from '../rootfs/mounts.js';
import type { Rlimit } from './spec.js';

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
  undo: () => Promise<void>;
}

export async function prepareContainerResources(config: ContainerConfig, _image: ImageView): Promise<PreparedResources> {
  // resources: cgroups, volumes, seccomp and capabilities are prepared here (runtime/resources.ts)
  const securityOpt = (config.resources.securityOpt as string[] | undefined) ?? [];
  return {
    mounts: [],
    rlimits: [],
    noNewPrivileges: securityOpt.some((o) => /^no-new-privileges(:true|=true)?$/.test(o)),
    readonlyRootfs: false,
    privileged: false,
    undo: async () => {},
  };
}

/** The privileges a process in the container runs with (for exec: the same as the container's). */
export function securityFor(config: ContainerConfig): Omit<PreparedResources, 'mounts' | 'undo' | 'readonlyRootfs'> {
  // resources: capabilities, seccomp and rlimits of an existing container are derived here
  const securityOpt = (config.resources.securityOpt as string[] | undefined) ?? [];
  return {
    rlimits: [],
    noNewPrivileges: securityOpt.some((o) => /^no-new-privileges(:true|=true)?$/.test(o)),
    privileged: false,
  };
}

export async function joinContainerCgroups(_id: string, _pid: number): Promise<void> {
  // resources: the container's first process joins its cgroups here, before `go`
}

export async function releaseContainerResources(_id: string, _opts: { removeVolumes: boolean }): Promise<void> {
  // resources: cgroups and anonymous volumes are released here (runtime/resources.ts)
}

export async function recordExitFacts(_id: string): Promise<void> {
  // resources: the OOM verdict is added to exit.json here (runtime/resources.ts)
}
