/**
 * Container records. `config.json` is what the container was created with (written once,
 * atomically, under the containers lock, which also keeps names unique); `state.json` is
 * what is running (pids and their start times); `exit.json` is written by the native
 * monitor when the container exits. Status is derived, never stored: a container is
 * running only while its recorded pid is alive with the recorded start time, so a reused
 * pid or a dead monitor can never make it look alive.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './paths.js';
import { readJsonIfExists, readJsonIfExistsSync, writeJsonAtomic } from '../sys/fs.js';
import { isSameProcess } from '../sys/proc.js';
import { TsdError } from '../sys/errors.js';

export interface ContainerConfig {
  id: string;
  name: string;
  created: string;
  image: { id: string; ref: string };
  /** the process: entrypoint + cmd, resolved at create time */
  path: string;
  args: string[];
  env: string[];
  workingDir: string;
  user: string;
  hostname: string;
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  entrypoint?: string[];
  cmd?: string[];
  /** opaque to the runtime: the network module's plan (net/index.ts) */
  network: Record<string, unknown>;
  /** opaque to the runtime: resource options (limits, mounts, security) */
  resources: Record<string, unknown>;
  labels?: Record<string, string>;
}

export interface ContainerState {
  monitorPid: number;
  monitorStartTime: number;
  pid: number;
  pidStartTime: number;
  startedAt: string;
  /** the host-side network state attached at start (net/index.ts) */
  network?: Record<string, unknown>;
  /** set once the post-exit cleanup (network detach) has run */
  cleanedUp?: boolean;
}

export interface ExitRecord {
  exitCode: number;
  signal?: number;
  finishedAt: string;
  oomKilled?: boolean;
}

export type Status = 'created' | 'running' | 'exited';

export interface ContainerView {
  config: ContainerConfig;
  state: ContainerState | undefined;
  exit: ExitRecord | undefined;
  status: Status;
}

export const containerFiles = {
  config: (id: string) => join(paths.container(id), 'config.json'),
  state: (id: string) => join(paths.container(id), 'state.json'),
  exit: (id: string) => join(paths.container(id), 'exit.json'),
  log: (id: string) => join(paths.container(id), 'ctr.log'),
  spec: (id: string) => join(paths.container(id), 'spec.bin'),
  dir: (id: string) => paths.container(id),
};

/** Nanoseconds since the epoch of an RFC 3339 UTC time with any number of fraction digits. */
export function timeNs(iso: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  if (!m) return BigInt(Date.parse(iso) || 0) * 1_000_000n;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
}

/** Did this exit record come from the run that started at `startedAt` (not an earlier one)? */
function exitIsFrom(exit: ExitRecord, startedAt: string): boolean {
  return timeNs(exit.finishedAt) >= timeNs(startedAt);
}

export function deriveStatus(state: ContainerState | undefined, exit: ExitRecord | undefined): Status {
  if (state && isSameProcess(state.pid, state.pidStartTime) && isSameProcess(state.monitorPid, state.monitorStartTime)) {
    // the monitor has written exit.json just before it goes: a record newer than the start means exited
    if (exit && exitIsFrom(exit, state.startedAt)) return 'exited';
    return 'running';
  }
  if (state || exit) return 'exited';
  return 'created';
}

export async function readContainer(id: string): Promise<ContainerView | undefined> {
  const config = await readJsonIfExists<ContainerConfig>(containerFiles.config(id));
  if (!config) return undefined;
  const state = await readJsonIfExists<ContainerState>(containerFiles.state(id));
  let exit = await readJsonIfExists<ExitRecord>(containerFiles.exit(id));
  if (exit && state && !exitIsFrom(exit, state.startedAt)) exit = undefined; // from an earlier run
  return { config, state, exit, status: deriveStatus(state, exit) };
}

export function listContainerIds(): string[] {
  try {
    return readdirSync(paths.containers()).filter((d) => /^[0-9a-f]{64}$/.test(d));
  } catch {
    return [];
  }
}

export async function listContainers(): Promise<ContainerView[]> {
  const views = await Promise.all(listContainerIds().map((id) => readContainer(id)));
  return views.filter((v): v is ContainerView => v !== undefined).sort((a, b) => b.config.created.localeCompare(a.config.created));
}

/** Names of every container, from their config files (for uniqueness checks under the lock). */
export function containerNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const id of listContainerIds()) {
    const cfg = readJsonIfExistsSync<ContainerConfig>(containerFiles.config(id));
    if (cfg) names.set(cfg.name, id);
  }
  return names;
}

/** Find a container by full id, name, or unique id prefix (Docker's rules). */
export async function findContainer(ref: string): Promise<ContainerView> {
  const ids = listContainerIds();
  if (/^[0-9a-f]{64}$/.test(ref) && ids.includes(ref)) return (await readContainer(ref))!;
  const byName = containerNames().get(ref.replace(/^\//, ''));
  if (byName) {
    const v = await readContainer(byName);
    if (v) return v;
  }
  if (/^[0-9a-f]+$/.test(ref)) {
    const matches = ids.filter((id) => id.startsWith(ref));
    if (matches.length > 1) {
      throw new TsdError('CONTAINER_NOT_FOUND', `multiple containers match the id prefix ${ref}`, {
        hint: 'give more characters of the id, or the name',
      });
    }
    if (matches.length === 1) {
      const v = await readContainer(matches[0]!);
      if (v) return v;
    }
  }
  throw new TsdError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { hint: 'see `tsdocker ps -a` for the containers that exist' });
}

export async function writeConfig(config: ContainerConfig): Promise<void> {
  // fsync for a kept container: it must still exist after a crash or reboot (`ps -a`, `start`).
  // A --rm container ends with its run: a crash cannot lose anything of the user's with it.
  await writeJsonAtomic(containerFiles.config(config.id), config, { durable: !config.autoRemove });
}

export async function writeState(id: string, state: ContainerState): Promise<void> {
  // runtime facts (pids): worthless after a reboot, so no fsync on the start path
  await writeJsonAtomic(containerFiles.state(id), state, { durable: false });
}

export async function clearRunState(id: string): Promise<void> {
  await fsp.rm(containerFiles.state(id), { force: true });
  await fsp.rm(containerFiles.exit(id), { force: true });
}
