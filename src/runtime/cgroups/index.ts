/**
 * Per-container cgroups: created before the container runs its first instruction, joined
 * by its first process (before `go`), read for OOM kills and stats, removed on `rm`.
 * Paths are derived from (layout, parent, id), so a crashed run can always be cleaned up.
 *   v1/hybrid: <controller mount>/<parent>/<id> for each wanted controller that is mounted
 *              (+ <unified>/<parent>/<id> without controllers in hybrid mode, as runc does)
 *   v2:        <unified>/<parent>/<id>, its controllers enabled in every ancestor's subtree_control
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, write, writeFileSync, writeSync, promises as fsp } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsdError, errorMessage, isErrno } from '../../sys/errors.js';
import { cgroupParent, detectLayout, type CgroupLayout, type CgroupMode } from './layout.js';
import { requiredControllers, v1Writes, v2Writes, V1_WANTED, V2_WANTED, type CgroupLimits, type CgroupWrite } from './limits.js';
import { exists, readText } from './files.js';

export type { CgroupLimits } from './limits.js';
export { oomKillCount, sampleCgroup, cgroupExists, type CgroupSample } from './read.js';

export interface CgroupHandle {
  mode: CgroupMode;
  /** controller -> directory; '' is the cgroup2 directory (v2 and hybrid) */
  dirs: Record<string, string>;
}

export interface CgroupOptions {
  layout?: CgroupLayout;
  parent?: string;
}

/** Every directory the container's cgroup may have (created or not): what `remove` looks at. */
export function cgroupHandle(id: string, opts: CgroupOptions = {}): CgroupHandle {
  const layout = opts.layout ?? detectLayout();
  const parent = opts.parent ?? cgroupParent();
  const dirs: Record<string, string> = {};
  if (layout.mode !== 'v2') {
    for (const c of V1_WANTED) if (layout.v1[c]) dirs[c] = join(layout.v1[c], parent, id);
  }
  if (layout.unified) dirs[''] = join(layout.unified, parent, id);
  return { mode: layout.mode, dirs };
}

/** mkdir -p that returns the directories it created (deepest last), for undo. */
export async function mkdirs(dir: string, created: string[]): Promise<void> {
  try {
    mkdirSync(dir);
    created.push(dir);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return;
    if (!isErrno(err, 'ENOENT')) throw err;
    await mkdirs(dirname(dir), created);
    await mkdirs(dir, created);
  }
}

/** rmdir that waits briefly for exiting processes (EBUSY) and accepts "already gone". */
export async function rmdirPatiently(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      if (!isErrno(err, 'EBUSY') || i >= 40) throw err;
      await sleep(50);
    }
  }
}

/** v1 cpuset: a new cgroup starts with empty cpus/mems and refuses tasks until they are set. */
export async function initCpuset(root: string, cpusetDir: string): Promise<void> {
  // every level below the mount root, not only the ones we made: a parent made by a
  // concurrent run may not have been filled yet
  const chain: string[] = [];
  for (const part of relative(root, cpusetDir).split('/').filter(Boolean)) chain.push(join(chain[chain.length - 1] ?? root, part));
  for (const dir of chain) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (((await readText(join(dir, f))) ?? '').trim() === '') {
        writeFileSync(join(dir, f), ((await readText(join(dirname(dir), f))) ?? '').trim());
      }
    }
  }
}

/** v2: make `controllers` available in `dir` by enabling them in every ancestor up to the mount root. */
export async function enableV2(root: string, dir: string, controllers: string[]): Promise<void> {
  const chain = [root];
  for (const part of relative(root, dirname(dir)).split('/').filter(Boolean)) chain.push(join(chain[chain.length - 1]!, part));
  for (const level of chain) {
    const enabled = new Set(((await readText(join(level, 'cgroup.subtree_control'))) ?? '').split(/\s+/).filter(Boolean));
    for (const c of controllers) {
      if (enabled.has(c)) continue;
      try {
        writeFileSync(join(level, 'cgroup.subtree_control'), `+${c}`);
      } catch (err) {
        throw new TsdError('RESOURCE', `cannot enable the ${c} cgroup controller in ${level}: ${errorMessage(err)}`, {
          hint: isErrno(err, 'EBUSY')
            ? 'that cgroup has processes of its own (cgroup v2 forbids controllers there): set TSDOCKER_CGROUP_PARENT to a cgroup without processes'
            : 'delegate the controller to this cgroup (systemd: Delegate=yes) or run tsdocker as root on the host',
          cause: err,
        });
      }
    }
  }
}

function notAvailable(flag: string, controller: string, where: string): TsdError {
  return new TsdError('RESOURCE', `cannot apply ${flag} on this host: the ${controller} cgroup controller is not available in ${where}`, {
    hint: 'enable the controller (cgroup v2: it must not be bound to a v1 hierarchy, and must be delegated), or leave the flag out',
  });
}

/**
 * One write(2) per value, each a rule of its own (v1 devices.allow takes one rule per write);
 * consecutive writes to one file share one open (the 11 default device rules: one, not 11).
 */
export async function applyWrites(writes: CgroupWrite[], dirs: Record<string, string>): Promise<void> {
  let cur: { path: string; fd: number } | undefined;
  const close = (): void => {
    if (cur) closeSync(cur.fd);
    cur = undefined;
  };
  try {
    for (const w of writes) {
      const dir = dirs[w.controller];
      if (!dir) continue; // controller not mounted and not required (checked before)
      const path = join(dir, w.file);
      if (cur?.path !== path) {
        close();
        if (!(await exists(path))) {
          if (w.optional) continue;
          throw new TsdError('RESOURCE', `cannot apply ${w.flag} on this host: ${path} does not exist`, {
            hint: w.file.includes('sw') ? 'the kernel has no swap accounting (boot with swapaccount=1), or leave --memory-swap out' : 'this kernel lacks the feature; leave the flag out',
          });
        }
      }
      try {
        cur ??= { path, fd: openSync(path, 'w') };
        writeSync(cur.fd, w.value);
      } catch (err) {
        throw new TsdError('RESOURCE', `cannot apply ${w.flag}: writing "${w.value}" to ${path}: ${errorMessage(err)}`, { cause: err });
      }
    }
  } finally {
    close();
  }
}

/** Create the container's cgroup(s) and apply the limits. On failure nothing is left behind. */
export async function createCgroup(id: string, limits: CgroupLimits, opts: CgroupOptions = {}): Promise<CgroupHandle> {
  const layout = opts.layout ?? detectLayout();
  const handle = cgroupHandle(id, { ...opts, layout });
  const need = requiredControllers(limits);
  const created: string[] = [];
  try {
    if (layout.mode === 'v2') {
      const root = layout.unified!;
      const available = ((await readText(join(root, 'cgroup.controllers'))) ?? '').split(/\s+/).filter(Boolean);
      for (const [c, flag] of need) if (!available.includes(c)) throw notAvailable(flag, c, `the cgroup v2 hierarchy at ${root}`);
      const dir = handle.dirs['']!;
      await mkdirs(dirname(dir), created);
      await enableV2(root, dir, V2_WANTED.filter((c) => available.includes(c)));
      await mkdirs(dir, created);
      const dirs = Object.fromEntries(V2_WANTED.map((c) => [c, dir]));
      await applyWrites(v2Writes(limits), dirs);
    } else {
      for (const [c, flag] of need) if (!layout.v1[c]) throw notAvailable(flag, c, 'the cgroup v1 hierarchies of this host');
      for (const dir of Object.values(handle.dirs)) await mkdirs(dir, created);
      if (handle.dirs.cpuset) await initCpuset(layout.v1.cpuset!, handle.dirs.cpuset);
      await applyWrites(v1Writes(limits), handle.dirs);
    }
    return handle;
  } catch (err) {
    for (const dir of created.reverse()) await rmdirPatiently(dir).catch(() => undefined);
    throw err;
  }
}

/** The cgroup.procs file of each of the cgroup's directories: where a process is moved into it. */
export function procsFiles(handle: CgroupHandle): string[] {
  return [...new Set(Object.values(handle.dirs))].map((d) => join(d, 'cgroup.procs'));
}

/**
 * Move `pid` into every directory of the cgroup from Node (a container's own processes are
 * moved by their monitor: spec `cgroup`). A migration takes the kernel's
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (~10-20 ms here):
 * the writes go through the thread pool, so the event loop is not blocked.
 */
export async function joinCgroup(handle: CgroupHandle, pid: number): Promise<void> {
  await Promise.all(
    procsFiles(handle).map(async (file) => {
      try {
        await fsp.writeFile(file, String(pid));
      } catch (err) {
        throw new TsdError('RESOURCE', `cannot move process ${pid} into cgroup ${dirname(file)}: ${errorMessage(err)}`, { cause: err });
      }
    }),
  );
}

/** Remove the container's cgroup directories; idempotent; keeps going and reports every failure. */
export async function removeCgroup(handle: CgroupHandle): Promise<void> {
  const errors: string[] = [];
  for (const dir of new Set(Object.values(handle.dirs))) {
    await rmdirPatiently(dir).catch((err: unknown) => errors.push(`${dir}: ${errorMessage(err)}`));
  }
  if (errors.length) throw new TsdError('RESOURCE', `cannot remove cgroup ${errors.join('; ')}`, { hint: 'a process still runs in it' });
}

/** Check, without creating anything, that this host can apply the limits (plan time: bad input leaves nothing behind). */
export async function checkCgroupSupport(limits: CgroupLimits, layout: CgroupLayout = detectLayout()): Promise<void> {
  const need = requiredControllers(limits);
  if (layout.mode === 'v2') {
    const available = ((await readText(join(layout.unified!, 'cgroup.controllers'))) ?? '').split(/\s+/);
    for (const [c, flag] of need) if (!available.includes(c)) throw notAvailable(flag, c, `the cgroup v2 hierarchy at ${layout.unified}`);
  } else {
    for (const [c, flag] of need) if (!layout.v1[c]) throw notAvailable(flag, c, 'the cgroup v1 hierarchies of this host');
    if (limits.memorySwap !== undefined && layout.v1.memory && !(await exists(join(layout.v1.memory, 'memory.memsw.limit_in_bytes')))) {
      throw new TsdError('RESOURCE', 'cannot apply --memory-swap on this host: the kernel has no swap accounting', {
        hint: 'boot with swapaccount=1, or leave --memory-swap out',
      });
    }
  }
}

/** Remove a cgroup parent (e.g. a test's) from every hierarchy; only empty ones go, "already gone" is fine. */
export async function removeCgroupParent(parent: string, layout: CgroupLayout = detectLayout()): Promise<void> {
  const mounts = new Set([...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])]);
  for (const m of mounts) {
    try {
      rmdirSync(join(m, parent));
    } catch {
      /* not there, or not empty: only empty parents go */
    }
  }
}

/**
 * Start the kernel's wait for the cgroup migration lock early. Every write to cgroup.procs
 * takes cgroup_threadgroup_rwsem for writing, whose first taker waits for an RCU grace
 * period (~10-20 ms here); takers during or just after that period do not wait again. Moving
 * our own process into the cgroup it is already in (a no-op) from the thread pool, while the
 * container is being prepared, lets the container's own move find the wait already paid.
 * Best effort: any error is ignored.
 */
export function primeCgroupMigration(layout: CgroupLayout = detectLayout()): void {
  try {
    const target = (ownProcs ??= { file: ownProcsFile(layout) }).file;
    // opened here, written on the thread pool in one step: with fs.promises.writeFile the
    // open took a pool trip of its own and the write began only when the main thread next
    // turned its event loop, often just before the container's move (which then waited anyway)
    if (target) {
      const fd = openSync(target, 'w');
      write(fd, String(process.pid), () => closeSync(fd));
    }
  } catch {
    /* priming is an optimisation only */
  }
}

/** This process's own cgroup.procs (priming writes us where we are: we never move). */
let ownProcs: { file: string | undefined } | undefined;

function ownProcsFile(layout: CgroupLayout): string | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  if (layout.mode === 'v2' && layout.unified) {
    const path = lines.find((l) => l.startsWith('0::'))?.slice(3);
    return path === undefined ? undefined : join(layout.unified, path, 'cgroup.procs');
  }
  if (!layout.v1.pids) return undefined;
  const path = lines.find((l) => l.split(':')[1] === 'pids')?.split(':')[2];
  return path === undefined ? undefined : join(layout.v1.pids, path, 'cgroup.procs');
}
