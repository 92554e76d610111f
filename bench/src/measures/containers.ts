/** Starting detached containers and finding their processes, for any runtime. */
import { readFileSync } from 'node:fs';
import { failure, must, run, sleep } from '../proc.js';
import { netNsOf, sandboxTree } from '../procfs.js';
import type { Runtime, RunSpec } from '../runtimes/types.js';

/** Container processes below the sandbox, as pids. */
export function containerPids(rt: Runtime): Set<number> {
  return new Set(sandboxTree(rt.sandbox.pid).containers.map((p) => p.pid));
}

/**
 * `run -d` one container and find its first process (in its own pid namespace, below the
 * sandbox) by what is new; with a network, wait until it sits in its own network namespace.
 */
export async function startOne(rt: Runtime, spec: RunSpec): Promise<number> {
  const before = containerPids(rt);
  const argv = rt.runArgv({ ...spec, detach: true });
  const r = await run(argv, { timeoutMs: 120_000 });
  if (r.code !== 0) throw failure(argv, r);
  const sbNet = netNsOf(rt.sandbox.pid);
  for (let i = 0; i < 100; i++) {
    const fresh = sandboxTree(rt.sandbox.pid).containers.filter((p) => !before.has(p.pid) && p.net !== sbNet);
    fresh.sort((a, b) => a.pid - b.pid);
    if (fresh[0]) return fresh[0].pid;
    await sleep(50);
  }
  throw new Error(`${rt.name} run -d: no container process with its own network namespace appeared`);
}

/** The container's global IPv4 address, read from inside its network namespace. */
export async function ipv4Of(pid: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const out = await must(['nsenter', `--net=/proc/${pid}/ns/net`, 'ip', '-4', '-o', 'addr', 'show', 'scope', 'global']);
    const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out);
    if (m?.[1]) return m[1];
    await sleep(50);
  }
  throw new Error(`container pid ${pid} has no global IPv4 address`);
}

/** Removes containers by name (one `rm -f` with every name); returns its wall time. */
export async function removeAll(rt: Runtime, names: readonly string[]): Promise<number> {
  if (names.length === 0) return 0;
  const argv = rt.rmArgv([...names]);
  const r = await run(argv, { timeoutMs: 600_000 });
  if (r.code !== 0) throw failure(argv, r);
  return r.ms;
}

/** Mount points in the sandbox's mount namespace. */
export function mountsOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4] ?? '');
  } catch {
    return [];
  }
}
