/** `tsdocker attach`, and `start -a/-i` (attach to a container as it starts). */
import { Option, type Command } from 'commander';
import { requireRoot } from './common.js';
import { ExitError, TsdError } from '../../sys/errors.js';
import type { AttachEnd, AttachSession } from '../../runtime/attach.js';

interface AttachFlags {
  stdin?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

/** Docker's exit for how an attach ended: the container's status, or 1 and its message on detach. */
function finish(end: AttachEnd, detachIsError: boolean): number {
  if (end.kind === 'exit') return end.status;
  if (end.kind === 'detached') {
    if (!detachIsError) return 0;
    process.stderr.write('read escape sequence\n');
    return 1;
  }
  throw new TsdError('STATE', 'the attach connection closed before the container exited', { exitCode: 1, hint: '`tsdocker ps -a` shows whether it still runs; attach again' });
}

async function attachRunning(ref: string, f: AttachFlags): Promise<number> {
  const { findContainer } = await import('../../state/containers.js');
  const { isPaused } = await import('../../runtime/pause.js');
  const { parseDetachKeys } = await import('../../runtime/detach-keys.js');
  const { connectStdio, pipeStdio, proxySignals } = await import('../attach.js');
  const v = await findContainer(ref);
  if (v.status !== 'running') throw new TsdError('CONTAINER_NOT_RUNNING', 'You cannot attach to a stopped container, start it first', { exitCode: 1, hint: '`tsdocker start -a` starts it attached' });
  if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', 'You cannot attach to a paused container, unpause it first', { exitCode: 1, hint: '`tsdocker unpause` it' });
  const stdin = f.stdin !== false && v.config.interactive;
  if (stdin && v.config.tty && !process.stdin.isTTY) throw new TsdError('BAD_ARGS', 'the input device is not a TTY', { exitCode: 1, hint: 'use --no-stdin, or attach from a terminal' });
  const o = { stdin, stdout: true, stderr: true, tty: v.config.tty, detachKeys: parseDetachKeys(f.detachKeys, 1), closeStdin: false };
  const signals = proxySignals({ sigProxy: f.sigProxy !== false, tty: o.tty });
  try {
    const session = await connectStdio(v.config.id, o);
    return finish(await pipeStdio(session, { ...o, signals, pid: v.state!.pid }), true);
  } finally {
    signals?.stop();
  }
}

/** start -a / -i: attached before `go`, so nothing the container prints is missed. */
export async function startAttached(ref: string, f: AttachFlags & { attach?: boolean; interactive?: boolean }): Promise<number> {
  const { findContainer } = await import('../../state/containers.js');
  const { startExisting } = await import('../../runtime/restart.js');
  const { parseDetachKeys } = await import('../../runtime/detach-keys.js');
  const { connectStdio, pipeStdio, proxySignals } = await import('../attach.js');
  const v = await findContainer(ref);
  const stdin = Boolean(f.interactive) && v.config.interactive;
  if (stdin && v.config.tty && !process.stdin.isTTY) throw new TsdError('BAD_ARGS', 'the input device is not a TTY', { exitCode: 1, hint: 'drop -i when stdin is a pipe or a file' });
  const o = { stdin, stdout: true, stderr: true, tty: v.config.tty, detachKeys: parseDetachKeys(f.detachKeys, 1), closeStdin: true };
  const signals = proxySignals({ sigProxy: f.sigProxy !== false, tty: o.tty });
  try {
    let session: AttachSession | undefined;
    const attach = async (id: string) => void (session = await connectStdio(id, o));
    const id = await startExisting(ref, { beforeGo: attach });
    if (!session) await attach(id); // it was running already
    const now = await findContainer(id);
    return finish(await pipeStdio(session!, { ...o, signals, pid: now.state?.pid ?? 0 }), false);
  } finally {
    signals?.stop();
  }
}

export function register(program: Command): void {
  program
    .command('attach')
    .description('Attach local standard input, output, and error streams to a running container (detach with ctrl-p,ctrl-q)')
    .option('--no-stdin', 'do not attach STDIN')
    .option('--sig-proxy', 'proxy all received signals to the process, without a pty (default true; --sig-proxy=false)')
    .addOption(new Option('--no-sig-proxy').hideHelp())
    .option('--detach-keys <keys>', 'override the key sequence for detaching a container (default "ctrl-p,ctrl-q")')
    .argument('<container>')
    .action(async (ref: string, f: AttachFlags) => {
      requireRoot();
      const code = await attachRunning(ref, f);
      if (code !== 0) throw new ExitError(code);
    });
}
