/**
 * `run` = create + start, then either detach (print the id, leave the monitor in charge)
 * or stay in the foreground: forward signals, pass window-size changes to the pty, wait
 * for the exit status, clean up, and return the container's status as ours.
 */
import { constants as osConstants } from 'node:os';
import { createContainer } from './create.js';
import { startContainer, type StartedContainer } from './start.js';
import { cleanupAfterExit, removeContainer } from './lifecycle.js';
import { kill as sendSignal } from '../native/index.js';
import { log } from '../sys/log.js';
import type { RunOptions } from './types.js';

const lg = log.child({ mod: 'runtime.run' });

export interface RunHooks {
  onDetached(id: string): void;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function runContainer(opts: RunOptions, hooks: RunHooks): Promise<number> {
  const config = await createContainer(opts);
  let started: StartedContainer;
  try {
    started = await startContainer(config, { foreground: !opts.detach });
  } catch (err) {
    // nothing half-made: a container that never ran is removed, --rm or not
    await removeContainer(config.id, { force: true, volumes: true }).catch((e) =>
      lg.warn({ err: (e as Error).message }, 'removing the failed container'),
    );
    throw err;
  }
  if (opts.detach) {
    started.handle.detach();
    hooks.onDetached(config.id);
    return 0;
  }
  return attachForeground(started, { tty: opts.tty, cleanup: true });
}

/** Forward our signals and window size to the container until it exits; returns its status. */
export async function attachForeground(
  started: { id: string; pid: number; handle: StartedContainer['handle'] },
  opts: { tty: boolean; cleanup: boolean },
): Promise<number> {
  const tty = opts.tty;
  const { handle, pid } = started;
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (sig === 'SIGINT' && ++interrupts >= 3) {
      // pid 1 ignores signals it has no handler for; a third Ctrl-C means "really stop"
      process.stderr.write('tsdocker: got 3 interrupts, killing the container\n');
      sendSignal(pid, osConstants.signals.SIGKILL);
      return;
    }
    sendSignal(pid, osConstants.signals[sig]);
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  const onResize = () => {
    const [cols, rows] = process.stdout.isTTY ? process.stdout.getWindowSize() : [0, 0];
    if (rows && cols) handle.resize(rows, cols);
  };
  if (tty) {
    onResize();
    process.on('SIGWINCH', onResize);
  }
  try {
    const status = await handle.exit;
    handle.ack();
    if (opts.cleanup) await cleanupAfterExit(started.id);
    return status;
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal);
    process.off('SIGWINCH', onResize);
  }
}
