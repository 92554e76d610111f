/**
 * Waiting for a container's exit (stop, rm -f, wait) without sleeping and looking again: the
 * kernel says when a process exits (a pidfd, read through a pipe on the event loop; see
 * native/src/exitwatch.c), and inotify when the monitor has put the exit record in place. A
 * polling loop answered 5-50 ms late and woke up for nothing.
 */
import { nodeNet } from '../sys/lazy-net.js';
import { rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitWatch } from '../native/index.js';
import { isSameProcess, processStartTime } from '../sys/proc.js';
import { containerFiles, readContainer } from '../state/containers.js';

export interface WatchedProcess {
  pid: number;
  /** its start time (/proc/PID/stat), which tells it from a later process with the same pid */
  startTime: number | undefined;
}

interface Watch {
  /** resolves once one of the processes has exited */
  exited: Promise<void>;
  close(): void;
}

/** A watch on `procs`; 'exited' when one is gone already; undefined when this kernel has no pidfds. */
function watchExit(procs: readonly WatchedProcess[]): Watch | 'exited' | undefined {
  const w = exitWatch(procs.map((p) => p.pid));
  if (w === 'unsupported') return undefined;
  if (w === 'gone') return 'exited';
  // node:net on first use only: every start loads this module, few watch an exit
  const stream = new (nodeNet().Socket)({ fd: w.fd, readable: true, writable: false });
  // the pidfds were opened after the caller looked: if a pid was reused meanwhile, the
  // process the caller saw has exited (and the watch would wait on a stranger)
  if (!procs.every((p) => isSameProcess(p.pid, p.startTime))) {
    stream.destroy();
    return 'exited';
  }
  // one byte, then EOF: the thread wrote and left; an error is no exit, but the caller looks again
  const exited = new Promise<void>((resolve) => {
    stream.once('data', () => resolve());
    stream.once('end', () => resolve());
    stream.once('error', () => resolve());
  });
  return { exited, close: () => stream.destroy() }; // closing our end makes the watching thread leave
}

function timeout(ms: number): { done: Promise<void>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    if (Number.isFinite(ms)) timer = setTimeout(resolve, Math.max(0, ms));
  });
  return { done, clear: () => timer && clearTimeout(timer) };
}

/**
 * Resolves true once any of `procs` has exited (at once if one is gone already), false after
 * `timeoutMs`; undefined when this kernel cannot watch a pid (the caller polls instead).
 */
export async function waitForAnyExit(procs: readonly WatchedProcess[], timeoutMs: number): Promise<boolean | undefined> {
  const w = watchExit(procs);
  if (w === undefined || w === 'exited') return w && true;
  const t = timeout(timeoutMs);
  try {
    return await Promise.race([w.exited.then(() => true), t.done.then(() => false)]);
  } finally {
    t.clear();
    w.close();
  }
}

/**
 * After a container's exit its monitor writes the exit record (`name`, renamed into `dir`):
 * resolves when a record newer than `sinceMs` is there, when the monitor exits, or after
 * `timeoutMs`, whichever comes first. The caller reads the record again.
 */
async function waitForRecord(dir: string, name: string, sinceMs: number, monitor: WatchedProcess, timeoutMs: number): Promise<void> {
  let watcher: FSWatcher | undefined;
  const fresh = (): boolean => {
    try {
      return statSync(join(dir, name)).mtimeMs >= sinceMs;
    } catch {
      return false;
    }
  };
  const put = new Promise<void>((resolve) => {
    try {
      watcher = watch(dir, (_event, file) => file === name && resolve());
      watcher.on('error', () => resolve());
    } catch {
      resolve(); // the directory is gone: nothing to wait for
    }
  });
  const w = watchExit([monitor]);
  const t = timeout(timeoutMs);
  try {
    // armed first, then looked at: a record put in between is not missed
    if (!fresh()) await Promise.race([put, t.done, w === 'exited' ? undefined : (w?.exited ?? sleep(5))]);
  } finally {
    t.clear();
    watcher?.close();
    if (w && w !== 'exited') w.close();
  }
}

/**
 * Wait until the container is no longer running, and its monitor has recorded the exit
 * (what `wait` prints and `stop`'s die event says); returns false on timeout. Running = the
 * container and its monitor alive: woken when either exits (polled on kernels without pidfds).
 */
export async function waitForExit(id: string, timeoutMs = Infinity): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  let settled = false;
  for (;;) {
    const v = await readContainer(id);
    if (!v) return true;
    const s = v.state;
    const monitor = s && { pid: s.monitorPid, startTime: s.monitorStartTime };
    if (v.status !== 'running') {
      if (settled || v.exit || !s || !monitor || !isSameProcess(monitor.pid, monitor.startTime)) return true;
      await waitForRecord(containerFiles.dir(id), 'exit.json', Date.parse(s.startedAt), monitor, 5_000);
      settled = true;
      continue;
    }
    if (Date.now() >= deadline) return false;
    if ((await waitForAnyExit([{ pid: s!.pid, startTime: s!.pidStartTime }, monitor!], deadline - Date.now())) !== undefined) continue;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * `stop` cleans up after the exit itself, but it is not the CLI that started the container
 * and cannot send the monitor `ack`: it claims the cleanup in the container's directory, so
 * the monitor skips its exit hook (a Node process that would find the work done) while we
 * live (native/src/claim.c). Returns the release.
 */
export function claimCleanup(id: string): () => void {
  const path = containerFiles.cleanupClaim(id);
  try {
    writeFileSync(path, `${process.pid} ${processStartTime(process.pid)}\n`, { mode: 0o600 });
  } catch {
    return () => undefined; // no claim: the hook runs, as it would anyway
  }
  return () => rmSync(path, { force: true });
}
