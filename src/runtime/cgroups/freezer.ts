/**
 * The freezer (pause/unpause of `tsdocker` and `tsdocker-oci`): v1's freezer.state, v2's
 * cgroup.freeze, each waited on until the kernel reports the change done; and the host pids
 * in a container's cgroup (top, kill --all).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsdError } from '../../sys/errors.js';

/** What these need of a container's cgroup (CgroupHandle and OciCgroup both are one). */
export interface FreezerCgroup {
  mode: 'v1' | 'v2' | 'hybrid';
  /** controller -> directory ('' = the cgroup2 directory) */
  dirs: Record<string, string>;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** freeze (pause) or thaw (resume), and wait until the kernel says it is done. */
export async function freeze(cg: FreezerCgroup, frozen: boolean): Promise<void> {
  const v1 = cg.dirs.freezer;
  const v2 = cg.dirs[''];
  if (!v1 && !v2) throw new TsdError('RESOURCE', 'no freezer cgroup for this container', { exitCode: 1, hint: 'mount the freezer controller (cgroup v1) or use cgroup v2' });
  const file = v1 ? join(v1, 'freezer.state') : join(v2!, 'cgroup.freeze');
  const want = v1 ? (frozen ? 'FROZEN' : 'THAWED') : frozen ? '1' : '0';
  writeFileSync(file, want);
  for (let i = 0; i < 400 && isFrozen(cg) !== frozen; i++) {
    await sleep(5);
    if (v1) writeFileSync(file, want); // v1 may stay FREEZING: ask again
  }
}

export function isFrozen(cg: FreezerCgroup): boolean {
  if (cg.dirs.freezer) return readOr(join(cg.dirs.freezer, 'freezer.state'), '').trim() === 'FROZEN';
  if (cg.dirs['']) return /^frozen 1$/m.test(readOr(join(cg.dirs[''], 'cgroup.events'), ''));
  return false;
}

/** Host pids in the container's cgroup (the pids hierarchy when there is one). */
export function cgroupPids(cg: FreezerCgroup): number[] {
  const dir = cg.dirs.pids ?? cg.dirs.memory ?? cg.dirs[''] ?? Object.values(cg.dirs)[0];
  if (!dir) return [];
  return readOr(join(dir, 'cgroup.procs'), '').split('\n').filter(Boolean).map(Number);
}
