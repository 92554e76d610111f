/**
 * --pid, --ipc, --uts, --cgroupns and --shm-size: which namespaces a container gets of its
 * own, which it shares with the host or another container, and its /dev/shm, as Docker 20.10:
 *   --pid host | container:X         the host's or X's pid namespace (X running at each start)
 *   --ipc private (default) | shareable | host | container:X | none
 *        shareable: /dev/shm is a tmpfs on the host (<container dir>/shm) that containers with
 *        --ipc container:X bind, with X's IPC namespace; host: the host's /dev/shm; none: no /dev/shm
 *   --uts host                       the host's hostname (with -h refused)
 *   --cgroupns private (default) | host
 * Validated at create (Docker's messages); X is looked up at every start.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsdError } from '../sys/errors.js';
import { exec } from '../sys/exec.js';
import { findContainer } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { bindMount, type MountEntry } from '../rootfs/mounts.js';
import { parseBytes } from './resource-parse.js';
import { CLONE, type NsType } from './spec.js';
import { cgroupPids } from './cgroups/freezer.js';
import { containerCgroup } from './pause.js';
import { kill } from '../native/index.js';

export interface NsOptions {
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  shmSize?: string;
}

/** What the record keeps (ContainerConfig.ns); absent fields are Docker's defaults. */
export interface NsConfig {
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  /** bytes */
  shmSize?: number;
}

const DEFAULT_SHM = 64 * 1024 * 1024;
const bad = (msg: string, hint: string) => new TsdError('BAD_ARGS', msg, { hint });
const joins = (v: string | undefined) => v?.startsWith('container:') ?? false;

/** Docker's validation (docker/cli's and the daemon's messages). */
export function planNamespaces(o: NsOptions, ctx: { hostnameGiven: boolean }): NsConfig {
  const ns: NsConfig = {};
  if (o.pid !== undefined && o.pid !== '') {
    if (o.pid !== 'host' && !(joins(o.pid) && o.pid.length > 10)) throw bad('--pid: invalid PID mode', 'use --pid host or --pid container:NAME');
    ns.pid = o.pid;
  }
  if (o.ipc !== undefined && o.ipc !== '') {
    if (!['host', 'private', 'shareable', 'none'].includes(o.ipc) && !(joins(o.ipc) && o.ipc.length > 10)) {
      throw bad('--ipc: invalid IPC mode', 'use --ipc private, shareable, host, none or container:NAME');
    }
    if (o.ipc !== 'private') ns.ipc = o.ipc;
  }
  if (o.uts !== undefined && o.uts !== '') {
    if (o.uts !== 'host') throw bad('--uts: invalid UTS mode', 'use --uts host');
    if (ctx.hostnameGiven) throw bad('conflicting options: hostname and the UTS mode', 'leave out -h with --uts host');
    ns.uts = 'host';
  }
  if (o.cgroupns !== undefined && o.cgroupns !== '') {
    if (o.cgroupns !== 'host' && o.cgroupns !== 'private') throw bad('--cgroupns: invalid CGROUP mode', 'use --cgroupns host or private');
    if (o.cgroupns === 'host') ns.cgroupns = 'host';
  }
  if (o.shmSize !== undefined) {
    const n = parseBytes(o.shmSize, '--shm-size');
    if (n > 0) ns.shmSize = n;
  }
  return ns;
}

/** inspect's HostConfig fields. */
export function inspectNamespaces(ns: NsConfig | undefined): Record<string, unknown> {
  return {
    PidMode: ns?.pid ?? '',
    IpcMode: ns?.ipc ?? 'private',
    UTSMode: ns?.uts ?? '',
    CgroupnsMode: ns?.cgroupns ?? 'private',
    ShmSize: ns?.shmSize ?? DEFAULT_SHM,
  };
}

export interface ResolvedNamespaces {
  /** CLONE_NEW* flags the container does not get */
  drop: number;
  /** namespaces to join at clone (container:X) */
  joins: { type: NsType; path: string }[];
  /** what replaces the default /dev/shm tmpfs: a bind, or null for none; undefined keeps it */
  shm?: MountEntry | null;
  shmSize: number;
}

const shmDir = (id: string) => join(containerDirs(id).dir, 'shm');

function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

async function runningPid(ref: string, what: 'PID' | 'IPC'): Promise<{ pid: number; ns?: NsConfig; id: string }> {
  const x = await findContainer(ref);
  if (x.status !== 'running' || !x.state) {
    throw new TsdError('CONTAINER_NOT_RUNNING', `cannot join ${what} of a non running container: ${ref}`, { hint: `start ${ref} first` });
  }
  return { pid: x.state.pid, ns: (x.config as { ns?: NsConfig }).ns, id: x.config.id };
}

/** At start: X's namespaces as they are now; the shareable /dev/shm mounted on the host. */
export async function resolveNamespaces(id: string, ns: NsConfig | undefined): Promise<ResolvedNamespaces> {
  const out: ResolvedNamespaces = { drop: 0, joins: [], shmSize: ns?.shmSize ?? DEFAULT_SHM };
  if (!ns) return out;
  if (ns.pid === 'host') out.drop |= CLONE.NEWPID;
  else if (ns.pid) {
    const x = await runningPid(ns.pid.slice('container:'.length), 'PID');
    out.drop |= CLONE.NEWPID;
    out.joins.push({ type: 'pid', path: `/proc/${x.pid}/ns/pid` });
  }
  if (ns.uts === 'host') out.drop |= CLONE.NEWUTS;
  if (ns.cgroupns === 'host') out.drop |= CLONE.NEWCGROUP;
  if (ns.ipc === 'host') {
    out.drop |= CLONE.NEWIPC;
    out.shm = bindMount('/dev/shm', '/dev/shm');
  } else if (ns.ipc === 'none') out.shm = null;
  else if (ns.ipc === 'shareable') out.shm = bindMount(await mountShm(id, out.shmSize), '/dev/shm');
  else if (ns.ipc) {
    const ref = ns.ipc.slice('container:'.length);
    const x = await runningPid(ref, 'IPC');
    if (x.ns?.ipc !== 'shareable' || !isMountPoint(shmDir(x.id))) {
      throw new TsdError('CONTAINER_NOT_RUNNING', 'non-shareable IPC (hint: use IpcMode:shareable for the donor container)', { hint: `create ${ref} with --ipc shareable` });
    }
    out.drop |= CLONE.NEWIPC;
    out.joins.push({ type: 'ipc', path: `/proc/${x.pid}/ns/ipc` });
    out.shm = bindMount(shmDir(x.id), '/dev/shm');
  }
  return out;
}

/** --ipc shareable: the container's /dev/shm tmpfs on the host, mounted once, kept until rm. */
async function mountShm(id: string, size: number): Promise<string> {
  const dir = shmDir(id);
  if (existsSync(dir) && isMountPoint(dir)) return dir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await exec(['mount', '-t', 'tmpfs', '-o', `mode=1777,size=${Math.floor(size / 1024)}k,nosuid,nodev,noexec`, 'shm', dir]);
  return dir;
}

/**
 * After the exit, and on rm: what the command left in the container's cgroup is killed, as
 * runc does when the pid namespace is shared (--pid host or container:X: the kernel does not
 * end them with the command). A container of its own pid namespace has nothing left there.
 */
export async function endLeftovers(id: string): Promise<void> {
  const cg = containerCgroup(id);
  for (let i = 0; i < 100; i++) {
    const pids = cgroupPids(cg);
    if (!pids.length) return;
    for (const pid of pids) kill(pid, 9);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** On rm: the shareable /dev/shm goes. Idempotent. */
export async function releaseNamespaces(id: string): Promise<void> {
  const dir = shmDir(id);
  if (existsSync(dir) && isMountPoint(dir)) await exec(['umount', '-l', dir]);
}
