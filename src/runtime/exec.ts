/**
 * `exec`: a second monitor joins every namespace of the running container (mount last),
 * forks into its pid namespace, joins its cgroups and execs the command with the
 * container's privileges. The exit status is the command's.
 */
import { emitContainer } from '../state/events.js';
import { refuseIfPaused } from './pause.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolveImage } from '../image/index.js';
import { containerFiles, findContainer } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';
import { superviseDns } from '../net/index.js';
import { startMonitor } from './monitor.js';
import { closeFd, socketpair } from '../native/index.js';
import { buildExecSpec } from './build-spec.js';
import { containerCgroupProcs, securityFor } from './hooks.js';
import { primeCgroupMigration } from './cgroups/index.js';
import { attachForeground, forwardSignals } from './run.js';
import { terminalSize } from './start.js';
import { mark } from '../sys/trace.js';
import { newContainerId } from './names.js';

export interface ExecOptions {
  command: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  workdir?: string;
  user?: string;
  /** the API's exec: the process's stdio (-1 = /dev/null), its size, and what it learns as it starts; no signal of ours is forwarded */
  io?: { stdio: [number, number, number]; size?: { rows: number; cols: number }; onStart(pid: number, resize: (rows: number, cols: number) => void): void };
}

/** The API's exec stdio: socketpairs, [ours, theirs]; theirs go to the monitor (io.stdio) and are closed with closeFd. */
export function stdioPair(): [number, number] {
  return socketpair();
}

export { closeFd };

export async function execInContainer(ref: string, opts: ExecOptions): Promise<number> {
  mark('exec: begin');
  // the command joins the container's cgroups before it runs (its monitor moves it): the kernel's
  // wait for that (one RCU grace period, 6-16 ms here) starts now, while the exec is prepared
  primeCgroupMigration();
  const v = await findContainer(ref);
  mark('exec: container found');
  if (v.status !== 'running' || !v.state) {
    throw new TsdError('CONTAINER_NOT_RUNNING', `container ${v.config.name} is not running`, {
      hint: 'start it first with `tsdocker start`',
    });
  }
  await refuseIfPaused(ref, v);
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new TsdError('BAD_ARGS', `the working directory '${opts.workdir}' is invalid, it needs to be an absolute path`, {
      hint: 'give -w an absolute path',
    });
  }
  // a process started now may look names up at once: the embedded DNS must be there
  await superviseDns();
  const image = await resolveImage(v.config.image.id);
  const security = securityFor(v.config);
  const spec = buildExecSpec({
    config: v.config,
    image,
    targetPid: v.state.pid,
    command: opts.command,
    env: opts.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)),
    workdir: opts.workdir,
    user: opts.user,
    tty: opts.tty,
    interactive: opts.interactive,
    resources: { ...security, cgroupProcs: containerCgroupProcs(v.config.id), mounts: [], readonlyRootfs: false, undo: async () => {} },
  });
  mark('exec: spec built');
  // dockerd's exec events: the action names the command ("exec_start: sh -c date")
  const execID = newContainerId();
  const specPath = join(containerFiles.dir(v.config.id), `exec-${execID.slice(0, 12)}.spec`);
  const what = `${opts.command[0]} ${opts.command.slice(1).join(' ')}`;
  emitContainer(v.config, `exec_create: ${what}`, { execID });
  const signals = opts.detach || opts.io ? undefined : forwardSignals();
  try {
    const handle = await startMonitor({
      spec,
      specPath,
      mode: 'exec',
      stdio: opts.io?.stdio ?? (opts.detach ? [-1, -1, -1] : [opts.interactive ? 0 : -1, 1, 2]),
    });
    mark('exec: monitor spawned');
    // the monitor moved the process into the container's cgroups before it sent `pid`
    const pid = await handle.pid;
    mark('exec: cgroups joined');
    const size = opts.io ? opts.io.size : opts.tty && !opts.detach ? terminalSize() : undefined;
    if (size) handle.resize(size.rows, size.cols);
    handle.go();
    try {
      await handle.started;
    } catch (err) {
      // Docker's exec of a command that is not there exits 126 (127 is `run`'s)
      if (err instanceof TsdError && err.code === 'CMD_NOT_FOUND') throw new TsdError('CMD_NOT_FOUND', err.message, { exitCode: 126, hint: err.hint });
      throw err;
    }
    mark('exec: exec ok');
    emitContainer(v.config, `exec_start: ${what}`, { execID });
    opts.io?.onStart(pid, (rows, cols) => handle.resize(rows, cols));
    if (opts.detach) {
      handle.detach();
      return 0;
    }
    const code = await attachForeground({ id: v.config.id, pid, handle }, { tty: opts.tty, cleanup: false, signals });
    emitContainer(v.config, 'exec_die', { execID, exitCode: code });
    return code;
  } finally {
    signals?.stop();
    rmSync(specPath, { force: true });
  }
}
