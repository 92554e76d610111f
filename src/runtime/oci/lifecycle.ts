/**
 * The OCI lifecycle on tsdocker's native core: create (the init exists in its namespaces
 * and cgroups, blocked on exec.fifo, parented to the caller's subreaper), start (read the
 * FIFO: the init execs), kill, delete, and run (create + start + wait, with the monitor
 * staying as the parent, as `tsdocker run` does).
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, constants as fsc, writeFileSync } from 'node:fs';
import { constants as osc } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kill as sendSignal, mknod } from '../../native/index.js';
import { ociPaths } from '../../state/paths.js';
import { TsdError, errorMessage, isErrno } from '../../sys/errors.js';
import { writeFileAtomicSync } from '../../sys/fs.js';
import { processStartTime } from '../../sys/proc.js';
import { startMonitor, type MonitorHandle } from '../monitor.js';
import { parseProfile, renderProfile } from '../seccomp.js';
import { checkConfig, type OciConfig } from './config.js';
import { cgroupPids, createOciCgroup, freeze, joinOciCgroup, removeOciCgroup } from './cgroups.js';
import { runHooks } from './hooks.js';
import { checkId, readRecord, stateJson, statusOf, writeRecord, type OciRecord } from './state.js';
import { mountsAt, sharesMounts, unmountSharedRoot } from './shared-root.js';
import { containerSpec } from './translate.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
}

const fail = (msg: string, hint?: string) => new TsdError('STATE', msg, { exitCode: 1, hint });

function loadConfig(bundle: string): OciConfig {
  let text: string;
  try {
    text = readFileSync(join(bundle, 'config.json'), 'utf8');
  } catch (err) {
    throw new TsdError('BAD_ARGS', `cannot read ${join(bundle, 'config.json')}: ${errorMessage(err)}`, { exitCode: 1, hint: 'give the bundle directory with --bundle (tsdocker-oci spec writes a config.json)' });
  }
  try {
    return checkConfig(JSON.parse(text));
  } catch (err) {
    if (err instanceof TsdError) throw err;
    throw new TsdError('BAD_ARGS', `invalid config.json: ${errorMessage(err)}`, { exitCode: 1 });
  }
}

/** Write the pid as runc does: the bare number, no newline. */
export function writePidFile(path: string | undefined, pid: number): void {
  if (path) writeFileAtomicSync(resolve(path), String(pid), 0o644);
}

function writeIdMaps(pid: number, config: OciConfig): void {
  const l = config.linux ?? {};
  const lines = (m: { containerID: number; hostID: number; size: number }[]) => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join('');
  try {
    if (l.uidMappings?.length) writeFileSync(`/proc/${pid}/uid_map`, lines(l.uidMappings));
    if (l.gidMappings?.length) writeFileSync(`/proc/${pid}/gid_map`, lines(l.gidMappings));
  } catch (err) {
    throw new TsdError('RESOURCE', `cannot write the user namespace mappings of ${pid}: ${errorMessage(err)}`, { exitCode: 1, cause: err });
  }
}

export interface Created {
  record: OciRecord;
  handle: MonitorHandle;
}

/**
 * create (waitForStart) or the first half of run (the monitor stays the parent and reports
 * the exit). On failure nothing is left: the init is killed, cgroups and state removed.
 */
export async function createContainer(o: CreateOptions, mode: 'create' | 'run'): Promise<Created> {
  const id = checkId(o.id);
  const bundle = resolve(o.bundle ?? '.');
  const config = loadConfig(bundle);
  const orphan = mode === 'create';
  if (config.process!.terminal && orphan && !o.consoleSocket) {
    throw new TsdError('BAD_ARGS', 'process.terminal is true but no --console-socket was given', { exitCode: 1, hint: 'give --console-socket PATH, or set terminal to false' });
  }
  mkdirSync(o.root, { recursive: true, mode: 0o700 });
  const dir = ociPaths.container(o.root, id);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw fail(`container "${id}" already exists`, 'choose another id, or delete it first');
    throw err;
  }
  let handle: MonitorHandle | undefined;
  let pid = 0;
  let cgroup: Awaited<ReturnType<typeof createOciCgroup>> | undefined;
  // no mount namespace: the mounts at the rootfs before ours, so delete takes only what we stack
  const sharedRoot = sharesMounts(config.linux?.namespaces ?? []) ? mountsAt(resolve(bundle, config.root!.path)) : undefined;
  let rootfs = '';
  try {
    const fifo = ociPaths.fifo(o.root, id);
    if (orphan) {
      mknod(fifo, fsc.S_IFIFO | 0o622, 0, 0);
      chmodSync(fifo, 0o622); // any container uid may open it for writing
    }
    cgroup = await createOciCgroup(id, config);
    let seccompPath: string | undefined;
    if (config.linux?.seccomp) {
      seccompPath = ociPaths.seccomp(o.root, id);
      const profile = parseProfile(JSON.stringify(config.linux.seccomp), 'linux.seccomp');
      writeFileSync(seccompPath, renderProfile(profile, { caps: [] }), { mode: 0o600 });
    }
    const spec = {
      ...containerSpec({ id, bundle, config, cgroupDirs: cgroup.dirs, seccompPath }),
      orphan,
      fifo: orphan ? fifo : undefined,
      console: o.consoleSocket ? resolve(o.consoleSocket) : undefined,
    };
    rootfs = spec.rootfs!;
    handle = await startMonitor({ spec, specPath: ociPaths.spec(o.root, id), mode: 'run', stdio: [0, 1, 2] });
    pid = await handle.pid;
    await joinOciCgroup(cgroup, pid);
    writeIdMaps(pid, config);
    const record: OciRecord = {
      id,
      bundle,
      rootfs: spec.rootfs!,
      pid,
      pidStartTime: processStartTime(pid) ?? 0,
      created: new Date().toISOString(),
      config: {
        hooks: config.hooks,
        annotations: config.annotations,
        process: config.process,
        namespaces: config.linux?.namespaces ?? [],
        seccomp: seccompPath !== undefined,
      },
      cgroup,
      ...(sharedRoot !== undefined ? { sharedRoot } : {}),
    };
    writeRecord(o.root, record);
    // the suite (hooks_stdin) wants `created` here, with the pid, though the process is not ready yet
    const creating = stateJson(o.root, record, 'created');
    await runHooks('prestart', config.hooks?.prestart, creating);
    await runHooks('createRuntime', config.hooks?.createRuntime, creating);
    handle.go();
    await handle.started;
    await runHooks('createContainer', config.hooks?.createContainer, stateJson(o.root, record, 'created'), { inContainer: pid });
    writePidFile(o.pidFile, pid);
    return { record, handle };
  } catch (err) {
    handle?.detach(); // before `go` the monitor kills the init when we leave
    if (pid) sendSignal(pid, 9);
    if (cgroup) await removeOciCgroup(cgroup);
    if (sharedRoot !== undefined && rootfs) await unmountSharedRoot(rootfs, sharedRoot);
    rmSync(dir, { recursive: true, force: true });
    if (err instanceof TsdError && err.exitCode !== 1) throw new TsdError(err.code, err.message, { exitCode: 1, hint: err.hint, cause: err });
    throw err;
  }
}

/** start: open exec.fifo and read the init's byte; then it execs the process. */
export async function startContainer(root: string, id: string): Promise<void> {
  const rec = readRecord(root, id);
  const status = statusOf(root, rec);
  if (status !== 'created') throw fail(`cannot start container "${id}": it is ${status}, not created`);
  await runHooks('startContainer', rec.config.hooks?.startContainer, stateJson(root, rec, 'created'), { inContainer: rec.pid });
  const fifo = ociPaths.fifo(root, id);
  const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, 1, null);
      } catch (err) {
        if (!isErrno(err, 'EAGAIN')) throw err;
      }
      if (n > 0) break;
      if (statusOf(root, rec) === 'stopped') throw fail(`cannot start container "${id}": its init exited`);
      await sleep(1);
    }
  } finally {
    closeSync(fd);
  }
  rmSync(fifo, { force: true });
  await runHooks('poststart', rec.config.hooks?.poststart, stateJson(root, rec, 'running'), { warnOnly: true });
}

/** A signal as runc takes it: a name with or without SIG, or a number. */
export function parseSignal(s: string | undefined): number {
  if (s === undefined || s === '') return osc.signals.SIGTERM;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > 0 && n < 65) return n;
  } else {
    const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
    const n = (osc.signals as Record<string, number>)[name];
    if (n) return n;
  }
  throw new TsdError('BAD_ARGS', `unknown signal "${s}"`, { exitCode: 1, hint: 'give a name such as TERM or KILL, or a number' });
}

export function killContainer(root: string, id: string, signal: string | undefined, all: boolean): void {
  const sig = parseSignal(signal);
  const rec = readRecord(root, id);
  if (statusOf(root, rec) === 'stopped') throw fail(`container "${id}" is not running`);
  if (all) for (const p of cgroupPids(rec.cgroup)) sendSignal(p, sig);
  sendSignal(rec.pid, sig);
}

async function waitStopped(root: string, rec: OciRecord): Promise<void> {
  for (let i = 0; i < 1000 && statusOf(root, rec) !== 'stopped'; i++) await sleep(10);
}

/** What delete removes once the init is gone: poststop hooks, cgroups create made, the state. */
export async function destroy(root: string, rec: OciRecord): Promise<void> {
  await runHooks('poststop', rec.config.hooks?.poststop, stateJson(root, rec, 'stopped'), { warnOnly: true });
  await removeOciCgroup(rec.cgroup);
  if (rec.sharedRoot !== undefined) await unmountSharedRoot(rec.rootfs, rec.sharedRoot);
  rmSync(ociPaths.container(root, rec.id), { recursive: true, force: true });
}

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  let rec: OciRecord;
  try {
    rec = readRecord(root, id);
  } catch (err) {
    if (force && err instanceof TsdError && err.code === 'CONTAINER_NOT_FOUND') return;
    throw err;
  }
  const status = statusOf(root, rec);
  if (status !== 'stopped') {
    if (!force) throw fail(`cannot delete container "${id}": it is ${status}`, 'stop it first (kill), or use delete --force');
    if (status === 'paused') await freeze(rec.cgroup, false);
    for (const p of cgroupPids(rec.cgroup)) sendSignal(p, 9);
    sendSignal(rec.pid, 9);
    await waitStopped(root, rec);
  }
  await destroy(root, rec);
}
