/**
 * Per-start counts, from `strace -f` of one `run --rm busybox true` (after a warm-up start):
 * processes that exec'd (node, the monitor, the container's `true`, and any helper), syscalls of
 * all tasks, and helper execs (everything that is not the runtime's own CLI, its monitor or
 * the container's command). Counts, not times: they do not move with the machine's load.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, failure } from '../proc.js';
import { summarize, type Summary } from '../stats.js';
import type { NetMode, Runtime } from '../runtimes/types.js';

export interface StartCounts {
  procs: Summary;
  syscalls: Summary;
  helpers: Summary;
  /** the helper programs of the last traced start, by name */
  helperNames: string[];
}

/** `strace -f -o FILE` put after nsenter's `--`, so the trace starts at the runtime's CLI */
function traced(argv: string[], out: string): string[] {
  const i = argv.indexOf('--');
  const inner = ['strace', '-f', '-qq', '-o', out];
  return i < 0 ? [...inner, ...argv] : [...argv.slice(0, i + 1), ...inner, ...argv.slice(i + 1)];
}

export function parseTrace(text: string, own: RegExp): { procs: number; syscalls: number; helpers: string[] } {
  const lines = text.split('\n').filter(Boolean);
  const syscalls = lines.filter((l) => !/resumed>|^\d+ +\+\+\+|^\d+ +---/.test(l)).length;
  const lastPath = new Map<string, string>();
  const progs: { pid: string; path: string }[] = [];
  for (const l of lines) {
    const m = l.match(/^(\d+) +execve\("([^"]+)"/);
    if (m) {
      lastPath.set(m[1]!, m[2]!);
      if (/\)\s+= 0$/.test(l)) progs.push({ pid: m[1]!, path: m[2]! });
      continue;
    }
    const r = l.match(/^(\d+) +<\.\.\. execve resumed>.*\)\s+= 0$/);
    if (r && lastPath.has(r[1]!)) progs.push({ pid: r[1]!, path: lastPath.get(r[1]!)! });
  }
  // processes: tasks that exec'd (the launcher's #! and env's exec of node are one process)
  const procs = new Set(progs.map((p) => p.pid)).size;
  const names = progs.map((p) => p.path.split('/').pop()!);
  return { procs, syscalls, helpers: names.filter((n) => !own.test(n)) };
}

export async function startCounts(rt: Runtime, net: NetMode, runs = 3): Promise<StartCounts> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdb-strace-'));
  const own = /^(node|tsdocker|tsdocker-monitor|true|runc|exe|docker|podman)$/; // exe: runc init (/proc/self/exe)
  try {
    const argv = rt.runArgv({ rm: true, net, cmd: ['true'] });
    const warm = await run(argv, { timeoutMs: 120_000 });
    if (warm.code !== 0) throw failure(argv, warm);
    const got: { procs: number; syscalls: number; helpers: string[] }[] = [];
    for (let i = 0; i < runs; i++) {
      const out = join(dir, `t${i}`);
      const t = traced(argv, out);
      const r = await run(t, { timeoutMs: 120_000 });
      if (r.code !== 0) throw failure(t, r);
      got.push(parseTrace(readFileSync(out, 'utf8'), own));
    }
    return {
      procs: summarize(got.map((g) => g.procs), 'count'),
      syscalls: summarize(got.map((g) => g.syscalls), 'count'),
      helpers: summarize(got.map((g) => g.helpers.length), 'count'),
      helperNames: got[got.length - 1]!.helpers,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
