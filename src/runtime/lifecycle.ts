/**
 * stop, kill, wait, rm, prune, and the cleanup that follows every exit. Cleanup runs once
 * per exit, under the container's own lock, from whoever gets there first: the foreground
 * `run`, the monitor's exit hook (`tsdocker internal cleanup ID`), or the reconcile pass
 * of a later command after a crash. It is idempotent.
 */
import { promises as fsp } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { markerAbandoned, withDirLock } from '../state/lock.js';
import { existsSync, readFileSync } from 'node:fs';
import { isSameProcess } from '../sys/proc.js';
import {
  containerFiles,
  findContainer,
  findEntry,
  listContainers,
  listEntries,
  type ContainerEntry,
  readContainer,
  writeState,
  type ContainerView,
} from '../state/containers.js';
import { detachNetwork, superviseDns } from '../net/index.js';
import { kill as sendSignal, removeTree } from '../native/index.js';
import { TsdError, errorMessage } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { runAll } from '../sys/undo.js';
import { mark } from '../sys/trace.js';
import { releaseContainerResources, recordExitFacts } from './hooks.js';
import { endLeftovers } from './namespaces.js';
import { removeIncomplete, removeUnreadable } from './salvage.js';
import { thawIfPaused } from './pause.js';
import { hasPolicy, markStopped } from './restart-policy.js';
import { emitContainer } from '../state/events.js';
import { releaseName } from '../state/names.js';
import { claimCleanup, waitForExit } from './exit-wait.js';

const lg = log.child({ mod: 'runtime.lifecycle' });

export function parseSignal(sig: string | undefined, fallback = 'SIGKILL'): number {
  const s = (sig ?? fallback).toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const n = (osConstants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new TsdError('BAD_ARGS', `invalid signal: ${sig}`, { hint: 'use a signal name such as SIGTERM or TERM, or a number' });
}

function requireRunning(v: ContainerView): asserts v is ContainerView & { state: NonNullable<ContainerView['state']> } {
  if (v.status !== 'running' || !v.state) {
    throw new TsdError('CONTAINER_NOT_RUNNING', `container ${v.config.name} is not running`, {
      hint: 'start it first with `tsdocker start`',
    });
  }
}

export async function killContainer(ref: string, signal?: string): Promise<ContainerView> {
  const v = await findContainer(ref);
  const n = parseSignal(signal);
  // Docker's killWithSignal: SIGKILL and the stop signal (any signal when there is none) stop
  // the container for good (its restart policy is cancelled) and thaw a paused one
  const stop = v.config.stopSignal;
  const final = n === osConstants.signals.SIGKILL || stop === undefined || parseSignal(stop) === n;
  if (v.restarting) {
    // a restarting container counts as running; the signal only cancels the restart
    if (final) await endRestartWait(v.config.id);
    return v;
  }
  requireRunning(v);
  if (final && hasPolicy(v.config)) markStopped(v.config.id);
  sendSignal(v.state.pid, n);
  emitContainer(v.config, 'kill', { signal: n });
  if (final) await thawIfPaused(v.config.id);
  return v;
}

/**
 * Stopped by hand while the monitor waits out its restart back-off: mark it (the monitor and
 * a restart already on its way see that), end the wait (SIGTERM to the monitor), and let a
 * restart that was already under way finish, so the caller finds it running or stopped.
 */
async function endRestartWait(id: string): Promise<void> {
  markStopped(id);
  for (let i = 0; i < 500; i++) {
    const v = await readContainer(id);
    if (!v?.restarting) return;
    if (monitorAlive(v)) sendSignal(v.state!.monitorPid, osConstants.signals.SIGTERM);
    await sleep(10);
  }
}

export { waitForExit };

/**
 * The stop signal (SIGTERM unless the container has one), then SIGKILL after `timeoutSec`
 * (else the container's stop timeout, else 10): Docker's stop. Stopping a stopped container is fine.
 */
export async function stopContainer(ref: string, timeout?: number, sig?: string): Promise<ContainerView> {
  let v = await findContainer(ref);
  if (hasPolicy(v.config)) markStopped(v.config.id); // a stopped container is not restarted
  if (v.restarting) {
    await endRestartWait(v.config.id);
    v = (await readContainer(v.config.id)) ?? v;
  }
  if (v.status !== 'running' || !v.state) return v;
  requireRunning(v);
  // we clean up after the exit: the monitor's exit hook need not (native/src/claim.c)
  const release = claimCleanup(v.config.id);
  try {
    await stopRunning(v, timeout, sig);
  } finally {
    release();
  }
  return v;
}

async function stopRunning(v: ContainerView & { state: NonNullable<ContainerView['state']> }, timeout?: number, sig?: string): Promise<void> {
  const timeoutSec = timeout ?? v.config.stopTimeout ?? 10;
  const signal = sig ?? v.config.stopSignal ?? 'SIGTERM';
  sendSignal(v.state.pid, parseSignal(signal));
  emitContainer(v.config, 'kill', { signal: parseSignal(signal) });
  await thawIfPaused(v.config.id);
  // a negative stop timeout waits as long as it takes (Docker's -1)
  if (!(await waitForExit(v.config.id, timeoutSec < 0 ? Infinity : timeoutSec * 1000))) {
    lg.info({ id: v.config.id }, `container did not stop within ${timeoutSec}s, killing it`);
    sendSignal(v.state.pid, osConstants.signals.SIGKILL);
    emitContainer(v.config, 'kill', { signal: osConstants.signals.SIGKILL });
    await waitForExit(v.config.id, 10_000);
  }
  await cleanupAfterExit(v.config.id);
  emitContainer(v.config, 'stop');
}

/** The exit status as Docker reports it (exit.json written by the monitor; 137 if it died unrecorded). */
export function exitCodeOf(v: ContainerView): number {
  return v.exit?.exitCode ?? (v.state ? 137 : 0);
}

/** Run `fn` under the container's own lock; undefined when the container is already gone. */
function withContainerLock<T>(id: string, fn: () => Promise<T>): Promise<T | undefined> {
  return withDirLock(containerFiles.dir(id), `container ${id.slice(0, 12)}`, fn);
}

function monitorAlive(v: ContainerView): boolean {
  const s = v.state;
  if (!s || !isSameProcess(s.monitorPid, s.monitorStartTime)) return false;
  try {
    return readFileSync(`/proc/${s.monitorPid}/comm`, 'utf8').trim() === 'tsd-monitor';
  } catch {
    return false;
  }
}

/**
 * After the container's exit the monitor still drains its output and writes exit.json into
 * the container's directory; wait for that before the directory goes.
 */
async function settleMonitor(v: ContainerView): Promise<void> {
  const end = Date.now() + 5_000;
  while (monitorAlive(v) && !existsSync(containerFiles.exit(v.config.id)) && Date.now() < end) await sleep(5);
}

/**
 * Release what a container held while it ran (network attachments), once, after it
 * exited; then remove it if it was started with --rm. `fromMonitor`: run by the monitor's
 * exit hook (`tsdocker internal cleanup ID`); it and `inline` (the foreground `run --rm`) remove
 * the directory synchronously (RemoveOptions.inline).
 */
export async function cleanupAfterExit(id: string, opts: { fromMonitor?: boolean; inline?: boolean } = {}): Promise<void> {
  let removed: string | undefined;
  await withContainerLock(id, async () => {
    const v = await readContainer(id);
    if (!v || v.status === 'running') return false;
    // the monitor's hook after its CLI died before the start finished (`run --rm` killed): the
    // container never ran and nobody will start it again, so a --rm record goes now
    if (!v.state) return Boolean(opts.fromMonitor && v.config.autoRemove);
    if (!v.state.cleanedUp) {
      // the one place that sees every exit once (under this lock, before cleanedUp is set)
      emitContainer(v.config, 'die', { exitCode: exitCodeOf(v) });
      await runAll([
        ['detach network', () => detachNetwork(id, v.state!.network)],
        ['record exit', () => recordExitFacts(id)],
        ['end leftover processes', () => (v.config.ns?.pid ? endLeftovers(id) : undefined)],
      ]);
      // a container that goes with --rm needs no record of the cleanup: it is removed next
      if (!v.config.autoRemove || restarting(id)) await writeState(id, { ...v.state, network: undefined, cleanedUp: true });
    }
    if (!v.config.autoRemove || restarting(id)) return;
    // --rm: removed under the same lock, from the view just read (no second lookup and lock)
    await settleMonitor(v);
    await removeLocked(v, { force: false, volumes: true, networkDetached: true, inline: opts.fromMonitor || opts.inline });
    removed = v.config.name;
  });
  if (removed !== undefined) await releaseName(removed, id);
  mark('cleanup: removed');
}

/** A `restart` is between its stop and its start (its marker is held by a live process). */
function restarting(id: string): boolean {
  const marker = containerFiles.restarting(id);
  return existsSync(marker) && !markerAbandoned(marker);
}

export interface RemoveOptions {
  force: boolean;
  volumes: boolean;
  /** the caller has just detached the network (cleanup of a --rm container) */
  networkDetached?: boolean;
  /** remove the directory synchronously (a `run --rm` or `rm` CLI waits for it anyway: ~35 pool
   * trips less); elsewhere (serve) a container's writes may make it large: never stall the loop */
  inline?: boolean;
}

export async function removeContainer(ref: string, opts: RemoveOptions): Promise<string> {
  const e = await findEntry(ref);
  if (!('view' in e)) {
    await removeUnreadable(e, opts);
    return e.id;
  }
  let v = e.view;
  const id = v.config.id;
  if (v.restarting) {
    if (!opts.force) {
      throw new TsdError('CONTAINER_RUNNING', `You cannot remove a restarting container ${id}. Stop the container before attempting removal or force remove`, {
        hint: 'stop it first, or force the removal with `rm -f`',
      });
    }
    if (monitorAlive(v)) sendSignal(v.state!.monitorPid, osConstants.signals.SIGKILL);
    await endRestartWait(id);
    v = (await readContainer(id)) ?? v; // a restart already under way has finished: kill it below
  }
  if (v.status === 'running') {
    if (!opts.force) {
      throw new TsdError(
        'CONTAINER_RUNNING',
        `cannot remove container "${v.config.name}": container is running`,
        { hint: 'stop the container before removing it, or force the removal with `rm -f`' },
      );
    }
    // kill the monitor, not only the container: PDEATHSIG takes the container with it, and
    // no exit hook starts a cleanup that would race this removal
    if (monitorAlive(v)) sendSignal(v.state!.monitorPid, osConstants.signals.SIGKILL);
    sendSignal(v.state!.pid, osConstants.signals.SIGKILL);
    emitContainer(v.config, 'kill', { signal: osConstants.signals.SIGKILL });
    await thawIfPaused(id);
    if (!(await waitForExit(id, 10_000))) {
      throw new TsdError('CONTAINER_RUNNING', `container ${v.config.name} did not die after SIGKILL`, {
        hint: 'it may be stuck in the kernel (uninterruptible sleep); retry shortly',
      });
    }
  }
  await settleMonitor(v);
  const removed = await withContainerLock(id, async () => {
    const cur = await readContainer(id);
    if (cur) await removeLocked(cur, opts); // else someone else removed it meanwhile
    return cur?.config.name;
  });
  if (removed !== undefined) await releaseName(removed, id);
  return id;
}

/** The removal proper, under the container's lock, of an exited container's view read under it. */
async function removeLocked(cur: ContainerView, opts: RemoveOptions): Promise<void> {
  const id = cur.config.id;
  // a container that never started, or was cleaned up after its exit, holds no network
  const attached = cur.state !== undefined && !cur.state.cleanedUp && !opts.networkDetached;
  // an exit nobody cleaned up (rm -f of a running container): its die is recorded here, once
  if (attached) emitContainer(cur.config, 'die', { exitCode: exitCodeOf(cur) });
  await runAll([
    ['detach network', () => (attached ? detachNetwork(id, cur.state?.network) : undefined)],
    ['release resources', () => releaseContainerResources(id, { removeVolumes: opts.volumes, sharedPid: Boolean(cur.config.ns?.pid) })],
    ['remove state', async () => (opts.inline ? removeTree(containerFiles.dir(id)) : fsp.rm(containerFiles.dir(id), { recursive: true, force: true }))],
    ['remove runtime dir', () => removeTree(containerFiles.runtime(id))],
  ]);
  emitContainer(cur.config, 'destroy');
}

/**
 * Clean up containers that exited while nobody was watching (monitor killed, host crash),
 * remove directories a killed `create` left without a record and `run --rm` records whose
 * CLI died before the container ran, and bring back a killed embedded DNS. Returns how
 * many containers it cleaned up or removed. `entries`: a listing the caller made (and reuses
 * when nothing was done).
 */
export async function reconcile(entries?: ContainerEntry[]): Promise<number> {
  let done = 0;
  await superviseDns().catch((err: unknown) => lg.warn({ err: errorMessage(err) }, 'reconcile: cannot start the embedded DNS'));
  for (const e of entries ?? (await listEntries())) {
    try {
      if ('incomplete' in e) done += Number(await removeIncomplete(e.id));
      else if ('view' in e && e.view.status === 'created' && e.view.config.autoRemove && markerAbandoned(containerFiles.starting(e.id))) {
        // a `run --rm` that died before its container ran (before its monitor existed)
        await removeContainer(e.id, { force: true, volumes: true });
        done++;
      } else if ('view' in e && e.view.status === 'exited' && e.view.state && !e.view.state.cleanedUp) {
        await cleanupAfterExit(e.id);
        done++;
      }
    } catch (err) {
      lg.warn({ id: e.id, err: errorMessage(err) }, 'reconcile: cleanup failed');
    }
  }
  return done;
}

export async function pruneContainers(select: (v: ContainerView) => boolean = () => true): Promise<{ removed: string[]; bytes: number }> {
  const { containerSizeRw } = await import('./disk-usage.js');
  const r = { removed: [] as string[], bytes: 0 };
  for (const v of await listContainers()) {
    if (v.status === 'running' || v.restarting || !select(v)) continue;
    // what is reclaimed: the writable layer, measured before it goes (as dockerd's SpaceReclaimed)
    const size = await containerSizeRw(v.config.id);
    r.removed.push(await removeContainer(v.config.id, { force: false, volumes: false }));
    r.bytes += size;
  }
  return r;
}
