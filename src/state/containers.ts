/**
 * Container records. `config.json` is what the container was created with (written once,
 * atomically, under the containers lock, which also keeps names unique); `state.json` is
 * what is running (pids and their start times); `exit.json` is written by the native
 * monitor when the container exits. Status is derived, never stored: a container is
 * running only while its recorded pid is alive with the recorded start time, so a reused
 * pid or a dead monitor can never make it look alive.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './paths.js';
import { readJsonIfExistsSync, writeJsonAtomic } from '../sys/fs.js';
import { isAlive, isSameProcess } from '../sys/proc.js';
import { TsdError, isErrno } from '../sys/errors.js';
import { containerSchemas as schemas, isCorruptRecord, readRecordSync, reportSkipped } from './records.js';

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
  /** Docker's Config.StopSignal and StopTimeout (stop's signal and wait when it is given none) */
  stopSignal?: string;
  stopTimeout?: number;
  /** --restart (runtime/restart-policy.ts); absent = no */
  restartPolicy?: RestartPolicy;
  /** Docker's Config.Healthcheck, the flags merged over the image's (runtime/health.ts) */
  healthcheck?: HealthConfig;
  /** Config.ExposedPorts, merged at create (image EXPOSE, --expose, -p), sorted; -P: HostConfig.PublishAllPorts */
  exposedPorts?: string[];
  publishAll?: boolean;
  /** --pid, --ipc, --uts, --cgroupns, --shm-size as planned at create (runtime/namespaces.ts) */
  ns?: { pid?: string; ipc?: string; uts?: string; cgroupns?: string; shmSize?: number };
  /** --sysctl (HostConfig.Sysctls), --group-add (HostConfig.GroupAdd), --domainname (Config.Domainname) */
  sysctls?: Record<string, string>;
  groupAdd?: string[];
  domainname?: string;
  /** --link (HostConfig.Links), --volumes-from (HostConfig.VolumesFrom) */
  links?: { id: string; name: string; alias: string }[];
  volumesFrom?: string[];
  /** --mac-address (Config.MacAddress) */
  macAddress?: string;
  /** --init: the command runs under /sbin/docker-init (HostConfig.Init) */
  init?: boolean;
}

/** Docker's HealthConfig (durations in ns; zero fields left out) */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface RestartPolicy {
  name: string;
  maximumRetryCount: number;
}

/** restart.json, written by the monitor after an exit under a restart policy (native/src/restart.c) */
export interface RestartRecord {
  count: number;
  timeoutMs: number;
  restarting: boolean;
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
  /** exited, and its monitor waits out the back-off before a restart (Docker's State.Restarting) */
  restarting?: boolean;
  /** RestartCount, from restart.json */
  restartCount?: number;
}

// paths by concatenation: a listing builds several per container, and join() normalises each one
export const containerFiles = {
  config: (id: string) => `${paths.container(id)}/config.json`,
  state: (id: string) => `${paths.container(id)}/state.json`,
  exit: (id: string) => `${paths.container(id)}/exit.json`,
  log: (id: string) => `${paths.container(id)}/ctr.log`,
  spec: (id: string) => `${paths.container(id)}/spec.bin`,
  /** the published ports' IPv6 side, written before `go`, read by the monitor (native/src/proxy6.c) */
  proxy6: (id: string) => `${paths.container(id)}/proxy6`,
  /** held by a `create` from its directory's mkdir until its config.json is written (runtime/create.ts) */
  creating: (id: string) => `${paths.container(id)}/.creating`,
  /** held (flock) by a `run --rm` until its start is over (state/lock.ts holdMarker) */
  starting: (id: string) => `${paths.container(id)}/.starting`,
  /** held by a `restart` between its stop and its start: a --rm container stays (as Docker) */
  restarting: (id: string) => `${paths.container(id)}/.restarting`,
  /** the monitor's restart record, and the marker of a stop by hand (runtime/restart-policy.ts) */
  restart: (id: string) => `${paths.container(id)}/restart.json`,
  stopped: (id: string) => `${paths.container(id)}/.stopped`,
  /** made by `pause` before it freezes, removed after a thaw: only where it exists is the freezer read (runtime/pause.ts) */
  paused: (id: string) => `${paths.container(id)}/.paused`,
  /** "PID STARTTIME" of a live CLI that cleans up after the exit itself: the monitor skips its hook (native/src/claim.c) */
  cleanupClaim: (id: string) => `${paths.container(id)}/.cleanup-claim`,
  /** State.Health, written by the monitor (native/src/health.c) */
  health: (id: string) => `${paths.container(id)}/health.json`,
  dir: (id: string) => paths.container(id),
  /** the monitor's attach socket, in the container's runtime dir (a short id: sun_path is 108 bytes) */
  attach: (id: string) => join(containerFiles.runtime(id), 'attach.sock'),
  /** the container's runtime dir (its monitor removes it at the exit; rm too, after a killed monitor) */
  runtime: (id: string) => join(paths.run(), 'containers', id.slice(0, 12)),
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
  // The monitor is checked by its start time (a reused pid is not it). While the real one
  // lives, the container's pid is its child, which no other process can take before the
  // monitor reaps it and writes exit.json: a signal 0 tells enough there, and ps of 200
  // running containers reads 200 /proc/PID/stat (~20 us each here), not 400. (A zombie
  // the monitor is about to reap counts as running, for the moment before its exit record.)
  if (state && isSameProcess(state.monitorPid, state.monitorStartTime) && isAlive(state.pid)) {
    // the monitor has written exit.json just before it goes: a record newer than the start means exited
    if (exit && exitIsFrom(exit, state.startedAt)) return 'exited';
    return 'running';
  }
  if (state || exit) return 'exited';
  return 'created';
}

function readConfig(id: string): ContainerConfig | undefined {
  return readRecordSync<ContainerConfig>(containerFiles.config(id), schemas.config, (c) =>
    c.id !== id ? `its id ${String(c.id).slice(0, 12)} is not the directory's` : typeof c.image.id !== 'string' ? 'field "image.id" is not a string' : undefined,
  );
}

/**
 * The container's records, checked; undefined when it has no config.json; throws CorruptRecord.
 * Synchronous inside (small local files, as sys/fs.ts reads them): a listing of 200
 * containers makes no thousand promises for it.
 */
function readContainerSync(id: string): ContainerView | undefined {
  const config = readConfig(id);
  if (!config) return undefined;
  const state = readRecordSync<ContainerState>(containerFiles.state(id), schemas.state);
  // a running container has no exit.json: one access() instead of a failed open and its exception
  const exitFile = containerFiles.exit(id);
  let exit = existsSync(exitFile) ? readRecordSync<ExitRecord>(exitFile, schemas.exit) : undefined;
  if (exit && state && !exitIsFrom(exit, state.startedAt)) exit = undefined; // from an earlier run
  const status = deriveStatus(state, exit);
  if (!config.restartPolicy) return { config, state, exit, status };
  const rec = readRestartRecord(id);
  // the monitor that ran it is still there, waiting out the back-off
  const restarting = status === 'exited' && rec?.restarting === true && state !== undefined && isSameProcess(state.monitorPid, state.monitorStartTime);
  return { config, state, exit, status, restarting, restartCount: rec?.count ?? 0 };
}

export async function readContainer(id: string): Promise<ContainerView | undefined> {
  return readContainerSync(id);
}

export function readRestartRecord(id: string): RestartRecord | undefined {
  try {
    const r = readJsonIfExistsSync<RestartRecord>(containerFiles.restart(id));
    return r && typeof r.count === 'number' ? r : undefined;
  } catch {
    return undefined; // never blocks a listing: the monitor rewrites it at the next exit
  }
}

/**
 * What a container directory holds: a readable container, one with a corrupt record, or
 * an incomplete directory (no config.json: a `create` killed before it wrote the record).
 */
export type ContainerEntry =
  | { id: string; view: ContainerView }
  | { id: string; corrupt: TsdError }
  | { id: string; incomplete: true };

function readEntrySync(id: string): ContainerEntry | undefined {
  try {
    const view = readContainerSync(id);
    if (view) return { id, view };
  } catch (err) {
    if (isCorruptRecord(err)) return { id, corrupt: err };
    throw err;
  }
  return existsSync(containerFiles.dir(id)) ? { id, incomplete: true } : undefined;
}

export async function readEntry(id: string): Promise<ContainerEntry | undefined> {
  return readEntrySync(id);
}

/** The running state of a container from its state.json alone (sync: for net/ readers); undefined if unreadable. */
export function isRunningSync(id: string): boolean | undefined {
  try {
    const st = readRecordSync<ContainerState>(containerFiles.state(id), schemas.state);
    if (!st) return false;
    return isSameProcess(st.pid, st.pidStartTime) && isSameProcess(st.monitorPid, st.monitorStartTime);
  } catch (err) {
    if (isCorruptRecord(err)) return undefined;
    throw err;
  }
}

export function listContainerIds(): string[] {
  try {
    return readdirSync(paths.containers()).filter((d) => /^[0-9a-f]{64}$/.test(d));
  } catch {
    return [];
  }
}

export async function listEntries(): Promise<ContainerEntry[]> {
  const entries: ContainerEntry[] = [];
  for (const id of listContainerIds()) {
    const e = readEntrySync(id);
    if (e) entries.push(e);
  }
  return entries;
}

/** Every readable container (of `entries`, a listing just made), newest first; a corrupt one is skipped with a one-line warning. */
export async function listContainers(entries?: ContainerEntry[]): Promise<ContainerView[]> {
  const views: ContainerView[] = [];
  for (const e of entries ?? (await listEntries())) {
    if ('view' in e) views.push(e.view);
    else if ('corrupt' in e) reportSkipped(e.corrupt);
  }
  // RFC 3339 times of one shape sort as text; localeCompare would load ICU's collator (~10 ms)
  return views.sort((a, b) => (a.config.created < b.config.created ? 1 : a.config.created > b.config.created ? -1 : 0));
}

/**
 * The id of the container named `name`: the configs are read until it is found (names are
 * unique), the one the names index points to first. A config whose text holds neither the name as JSON writes it nor an escape is not
 * parsed: `inspect NAME` among 200 containers parses one config, not a hundred.
 */
function idOfName(name: string, ids: string[]): string | undefined {
  const quoted = JSON.stringify(name);
  const hint = indexedId(name);
  for (const id of hint !== undefined && ids.includes(hint) ? [hint, ...ids] : ids) {
    let text: string;
    try {
      text = readFileSync(containerFiles.config(id), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) continue;
      throw err;
    }
    if (!text.includes(quoted) && !text.includes('\\')) continue;
    let cfg: ContainerConfig | undefined;
    try {
      cfg = JSON.parse(text) as ContainerConfig;
    } catch {
      continue; // reported by the listings; its name is unknown
    }
    if (cfg?.name === name) return id;
  }
  return undefined;
}

/** The names index's entry for `name` (state/names.ts): a hint, checked as any config is. */
function indexedId(name: string): string | undefined {
  try {
    return readlinkSync(paths.name(name));
  } catch {
    return undefined; // no entry, no index, or not a link
  }
}

function notFound(ref: string): TsdError {
  return new TsdError('CONTAINER_NOT_FOUND', `No such container: ${ref}`, { hint: 'see `tsdocker ps -a` for the containers that exist' });
}

/** Find a container directory by full id, name, or unique id prefix (Docker's rules), whatever its records hold. */
export async function findEntry(ref: string): Promise<ContainerEntry> {
  const ids = listContainerIds();
  const byId = async (id: string) => {
    const e = await readEntry(id);
    if (!e) throw notFound(ref);
    return e;
  };
  if (/^[0-9a-f]{64}$/.test(ref) && ids.includes(ref)) return byId(ref);
  const byName = idOfName(ref.replace(/^\//, ''), ids);
  if (byName) {
    const e = await readEntry(byName);
    if (e) return e;
  }
  if (/^[0-9a-f]+$/.test(ref)) {
    const matches = ids.filter((id) => id.startsWith(ref));
    if (matches.length > 1) {
      throw new TsdError('CONTAINER_NOT_FOUND', `multiple containers match the id prefix ${ref}`, {
        hint: 'give more characters of the id, or the name',
      });
    }
    if (matches.length === 1) return byId(matches[0]!);
  }
  throw notFound(ref);
}

/** Find a readable container (see findEntry); a corrupt one is a CorruptRecord error, an incomplete one is not found. */
export async function findContainer(ref: string): Promise<ContainerView> {
  const e = await findEntry(ref);
  if ('view' in e) return e.view;
  if ('corrupt' in e) throw e.corrupt;
  throw notFound(ref);
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
  // two files: no thread-pool trips (sys/fs.ts)
  rmSync(containerFiles.state(id), { force: true });
  rmSync(containerFiles.exit(id), { force: true });
}
