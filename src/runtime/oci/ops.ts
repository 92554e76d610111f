/**
 * The OCI commands on a container that exists: exec (a process joining every namespace
 * and cgroup of the init), ps, pause/resume (the freezer), update (linux.resources on
 * the live cgroups), and run (create + start + wait, the monitor staying the parent).
 */
import { readFileSync } from 'node:fs';
import { constants as osc } from 'node:os';
import { kill as sendSignal } from '../../native/index.js';
import { ociPaths } from '../../state/paths.js';
import { TsdError, errorMessage } from '../../sys/errors.js';
import { exec } from '../../sys/exec.js';
import { startMonitor } from '../monitor.js';
import type { NsType } from '../spec.js';
import { NS_TYPES, type OciProcess, type OciResources } from './config.js';
import { cgroupPids, freeze, joinOciCgroup, updateOciCgroup } from './cgroups.js';
import { runHooks } from './hooks.js';
import { createContainer, destroy, startContainer, writePidFile, type CreateOptions } from './lifecycle.js';
import { readRecord, statusOf, stateJson } from './state.js';
import { JOIN_ORDER, processSpec } from './translate.js';

const fail = (msg: string, hint?: string) => new TsdError('STATE', msg, { exitCode: 1, hint });

function readJson<T>(source: string, what: string): T {
  try {
    return JSON.parse(readFileSync(source === '-' ? 0 : source, 'utf8')) as T;
  } catch (err) {
    throw new TsdError('BAD_ARGS', `cannot read ${what} from ${source === '-' ? 'stdin' : source}: ${errorMessage(err)}`, { exitCode: 1 });
  }
}

export interface ExecOptions {
  process?: string;
  args: string[];
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
}

/** Forward the signals a person sends us to the container's process while we wait. */
function forwardSignals(pid: number): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = sigs.map((s) => [s, () => void sendSignal(pid, osc.signals[s])] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return () => handlers.forEach(([s, h]) => process.off(s, h));
}

/** exec: returns the process's exit status, or 0 once it runs with --detach. */
export async function execProcess(root: string, id: string, o: ExecOptions): Promise<number> {
  const rec = readRecord(root, id);
  const status = statusOf(root, rec);
  if (status !== 'running' && status !== 'created') throw fail(`cannot exec in container "${id}": it is ${status}`);
  const base = rec.config.process ?? {};
  let proc: OciProcess;
  if (o.process) proc = readJson<OciProcess>(o.process, 'the process JSON');
  else {
    if (!o.args.length) throw new TsdError('BAD_ARGS', 'exec needs a command (or --process FILE)', { exitCode: 1 });
    const [uid, gid] = (o.user ?? '').split(':');
    proc = {
      ...base,
      args: o.args,
      env: [...(base.env ?? []), ...o.env],
      cwd: o.cwd ?? base.cwd,
      terminal: o.tty,
      user: o.user ? { uid: Number(uid), gid: Number(gid ?? 0) } : base.user,
    };
  }
  proc.capabilities ??= base.capabilities;
  if (!proc.args?.length) throw new TsdError('BAD_ARGS', 'process.args: must name the command to run', { exitCode: 1 });
  if (proc.terminal && o.detach && !o.consoleSocket) throw new TsdError('BAD_ARGS', 'a detached terminal needs --console-socket', { exitCode: 1 });
  const join: { type: NsType; path: string }[] = JOIN_ORDER.filter((t) => rec.config.namespaces.some((n) => n.type === t)).map((t) => ({
    type: NS_TYPES[t]!,
    path: `/proc/${rec.pid}/ns/${NS_TYPES[t]}`,
  }));
  const spec = {
    id,
    join,
    ...processSpec(proc, rec.config.seccomp ? ociPaths.seccomp(root, id) : undefined),
    orphan: o.detach,
    console: o.consoleSocket,
  };
  const handle = await startMonitor({ spec, specPath: ociPaths.spec(root, id, `exec-${process.pid}`), mode: 'exec', stdio: [0, 1, 2] });
  let pid = 0;
  try {
    pid = await handle.pid;
    await joinOciCgroup(rec.cgroup, pid);
    handle.go();
    await handle.started;
  } catch (err) {
    handle.detach();
    if (pid) sendSignal(pid, 9);
    throw err instanceof TsdError ? new TsdError(err.code, err.message, { exitCode: 1, hint: err.hint }) : err;
  }
  writePidFile(o.pidFile, pid);
  if (o.detach) return 0;
  const stop = forwardSignals(pid);
  try {
    return await handle.exit;
  } finally {
    stop();
  }
}

/** run: create without the FIFO, the monitor staying as the parent; waits and cleans up. */
export async function runContainer(o: CreateOptions & { detach: boolean }): Promise<number> {
  if (o.detach) {
    await createContainer(o, 'create');
    await startContainer(o.root, o.id);
    return 0;
  }
  const { record, handle } = await createContainer(o, 'run');
  const stop = forwardSignals(record.pid);
  try {
    await runHooks('poststart', record.config.hooks?.poststart, stateJson(o.root, record, 'running'), { warnOnly: true });
    return await handle.exit.catch(() => 255);
  } finally {
    stop();
    for (const p of cgroupPids(record.cgroup)) sendSignal(p, 9);
    await destroy(o.root, record);
  }
}

export async function psContainer(root: string, id: string, format: string, psArgs: string[]): Promise<string> {
  const rec = readRecord(root, id);
  const pids = cgroupPids(rec.cgroup);
  if (format === 'json') return `${JSON.stringify(pids)}\n`;
  const out = (await exec(['ps', ...(psArgs.length ? psArgs : ['-ef'])])).stdout.split('\n');
  const header = out[0] ?? '';
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new TsdError('BAD_ARGS', 'the ps output has no PID column', { exitCode: 1 });
  const set = new Set(pids);
  const rows = out.slice(1).filter((l) => set.has(Number(l.trim().split(/\s+/)[col])));
  return `${[header, ...rows].join('\n')}\n`;
}

export async function pauseContainer(root: string, id: string, frozen: boolean): Promise<void> {
  const rec = readRecord(root, id);
  const status = statusOf(root, rec);
  if (frozen && status !== 'running') throw fail(`cannot pause container "${id}": it is ${status}`);
  if (!frozen && status !== 'paused') throw fail(`cannot resume container "${id}": it is ${status}, not paused`);
  await freeze(rec.cgroup, frozen);
}

export async function updateContainer(root: string, id: string, resources: string): Promise<void> {
  const rec = readRecord(root, id);
  if (statusOf(root, rec) === 'stopped') throw fail(`cannot update container "${id}": it is stopped`);
  await updateOciCgroup(rec.cgroup, readJson<OciResources>(resources, 'the resources JSON'));
}
