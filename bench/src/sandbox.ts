/**
 * A throwaway network + mount namespace that plays "the host" for one runtime:
 * `unshare --net --mount --propagation private sleep infinity`, held by its pid; commands
 * enter it with nsenter. When it is closed, whatever the runtime left running inside is
 * reported and ended (all of it was started by this bench), then the holder is ended and the
 * kernel frees the namespaces with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from './log.js';
import { background, must, run, sleep, stop, type Background, type RunOptions } from './proc.js';
import { mntNsOf, netNsOf, sandboxTree } from './procfs.js';

export interface Sandbox {
  name: string;
  pid: number;
  dir: string;
  /** argv that runs `argv` inside the sandbox (network and mount namespace) */
  enter(argv: readonly string[]): string[];
  /** argv that runs `argv` in the sandbox's network namespace only (host filesystem view) */
  enterNet(argv: readonly string[]): string[];
  sh(argv: readonly string[], opts?: RunOptions): Promise<string>;
  close(): Promise<string[]>;
}

export interface SandboxOptions {
  /** mount a fresh tmpfs over these host paths, inside the sandbox only */
  tmpfsOver?: string[];
  /** keep the temp dir (debugging) */
  keepDir?: boolean;
}

export async function openSandbox(name: string, opts: SandboxOptions = {}): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), `tsd-bench-${name}-`));
  const holder: Background = background(['unshare', '--net', '--mount', '--propagation', 'private', 'sleep', 'infinity']);
  const hostNet = netNsOf('self');
  for (let i = 0; i < 100 && netNsOf(holder.pid) === hostNet; i++) await sleep(10);
  if (netNsOf(holder.pid) === hostNet) {
    await stop(holder.pid);
    throw new Error('unshare --net --mount did not give a new namespace');
  }
  const pid = holder.pid;
  const ns = [`--net=/proc/${pid}/ns/net`, `--mount=/proc/${pid}/ns/mnt`];
  const enter = (argv: readonly string[]): string[] => ['nsenter', ...ns, '--', ...argv];
  const enterNet = (argv: readonly string[]): string[] => ['nsenter', `--net=/proc/${pid}/ns/net`, '--', ...argv];
  const sh = (argv: readonly string[], o?: RunOptions): Promise<string> => must(enter(argv), o);
  await sh(['ip', 'link', 'set', 'lo', 'up']);
  for (const p of opts.tmpfsOver ?? []) {
    await sh(['mkdir', '-p', p]);
    await sh(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'tsd-bench', p]);
  }
  const close = async (): Promise<string[]> => {
    const left: string[] = [];
    // late teardown (monitors, helpers) gets up to 10 s to finish on its own
    for (let i = 0; i < 40 && sandboxTree(pid).runtime.length + sandboxTree(pid).containers.length > 0; i++) await sleep(250);
    for (let round = 0; round < 3; round++) {
      const t = sandboxTree(pid);
      const all = [...t.containers, ...t.runtime];
      if (all.length === 0) break;
      if (round === 0) left.push(...all.map((p) => `${p.comm}(${p.pid})`));
      // every one of these descends from our own holder or was started inside our namespace
      await Promise.all(all.map((p) => stop(p.pid, 2000)));
    }
    if (left.length) log(`sandbox ${name}: ended leftover processes: ${left.join(', ')}`);
    await stop(pid, 1000);
    if (!opts.keepDir) {
      const r = await run(['rm', '-rf', '--one-file-system', dir]);
      if (r.code !== 0) rmSync(dir, { recursive: true, force: true });
    }
    return left;
  };
  log(`sandbox ${name}: holder pid ${pid}, mnt ${mntNsOf(pid)}, dir ${dir}`);
  return { name, pid, dir, enter, enterNet, sh, close };
}
