/**
 * `run` = create + start, then either detach (print the id, leave the monitor in charge)
 * or stay in the foreground: forward signals, pass window-size changes to the pty, wait
 * for the exit status, clean up, and return the container's status as ours.
 */
import { constants as osConstants } from 'node:os';
import { createContainerWithImage } from './create.js';
import { startContainer, terminalSize, type StartedContainer } from './start.js';
import { cleanupAfterExit, removeContainer } from './lifecycle.js';
import { kill as sendSignal } from '../native/index.js';
import { log } from '../sys/log.js';
import type { RunOptions } from './types.js';
import { mark } from '../sys/trace.js';
import { primeCgroupMigration } from './cgroups/index.js';
import { hasPolicy } from './restart-policy.js';
import { parseDetachKeys } from './detach-keys.js';

const lg = log.child({ mod: 'runtime.run' });

export interface RunHooks {
  onDetached(id: string): void;
  /** the record exists (before the start): --cidfile */
  onCreated?(id: string): void;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface SignalForwarder {
  /** from now on, deliver to this pid (and deliver what arrived before) */
  target(pid: number): void;
  stop(): void;
}

/**
 * Catch the signals a user sends to `tsdocker run` from the moment it starts, so none is
 * lost (or kills us) while the container is still being set up; once the container's pid
 * is known they are forwarded to it. pid 1 ignores signals it has no handler for, so a
 * third Ctrl-C kills the container.
 */
export function forwardSignals(): SignalForwarder {
  let pid: number | undefined;
  const pending: NodeJS.Signals[] = [];
  let interrupts = 0;
  const deliver = (sig: NodeJS.Signals) => {
    if (sig === 'SIGINT' && ++interrupts >= 3) {
      process.stderr.write('tsdocker: got 3 interrupts, killing the container\n');
      sendSignal(pid!, osConstants.signals.SIGKILL);
      return;
    }
    sendSignal(pid!, osConstants.signals[sig]);
  };
  const onSignal = (sig: NodeJS.Signals) => (pid === undefined ? pending.push(sig) : deliver(sig));
  for (const s of FORWARDED) process.on(s, onSignal);
  return {
    target(p) {
      pid = p;
      for (const sig of pending.splice(0)) deliver(sig);
    },
    stop() {
      for (const s of FORWARDED) process.off(s, onSignal);
    },
  };
}

export async function runContainer(opts: RunOptions, hooks: RunHooks): Promise<number> {
  // checked before anything is made
  const detachKeys = opts.tty && opts.interactive && !opts.detach ? parseDetachKeys(opts.detachKeys).toString('hex') : undefined;
  const signals = opts.detach || opts.sigProxy === false ? undefined : forwardSignals();
  try {
    mark('run: begin');
    // a cgroup v1/v2 migration waits for an RCU grace period unless one passed just before:
    // this no-op move of ourselves starts that wait now, and the one in prepareResources keeps
    // it open, so the monitor's move of the container (spec `cgroup`) does not wait (~8 ms)
    primeCgroupMigration();
    const created = await createContainerWithImage(opts, { markStarting: opts.rm });
    const { config, image } = created;
    mark('run: created');
    hooks.onCreated?.(config.id);
    let started: StartedContainer;
    try {
      const ttySize = opts.tty && !opts.detach ? terminalSize() : undefined;
      started = await startContainer(config, { foreground: !opts.detach, ttySize, detachKeys, ...(opts.attach ? { attach: opts.attach } : {}) }, image);
      created.started();
    } catch (err) {
      created.started();
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
    return await attachForeground(started, { tty: opts.tty, cleanup: true, signals, restarts: hasPolicy(config) });
  } finally {
    signals?.stop();
  }
}

/** Forward our signals and window size to the container until it exits; returns its status. */
export async function attachForeground(
  started: { id: string; pid: number; handle: StartedContainer['handle'] },
  opts: { tty: boolean; cleanup: boolean; signals: SignalForwarder | undefined; restarts?: boolean },
): Promise<number> {
  const { handle, pid } = started;
  opts.signals?.target(pid);
  const onResize = () => {
    const size = terminalSize();
    if (size) handle.resize(size.rows, size.cols);
  };
  // the initial size went with `go`; later changes follow SIGWINCH
  if (opts.tty) process.on('SIGWINCH', onResize);
  try {
    const status = await Promise.race([handle.exit, handle.detached.then(() => 'detached' as const)]);
    if (status === 'detached') {
      // the detach keys: the container runs on with its monitor, which cleans up after it (Docker exits 0)
      handle.detach();
      return 0;
    }
    mark('container exited');
    // a restart policy: the monitor carries on (cleanup, back-off, restart), as Docker's daemon
    // does while `docker run` returns the first exit status
    if (opts.restarts) {
      handle.detach();
      return status;
    }
    handle.ack();
    if (opts.cleanup) await cleanupAfterExit(started.id, { inline: true });
    mark('cleaned up');
    return status;
  } finally {
    process.off('SIGWINCH', onResize);
  }
}
