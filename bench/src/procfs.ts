/** Reading /proc: who is in which namespace, who descends from whom, how much memory. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  start: string;
  mnt: string;
  net: string;
  pidns: string;
}

function nsOf(pid: number | 'self', kind: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return '';
  }
}

export const hostPidNs = (): string => nsOf('self', 'pid');
export const mntNsOf = (pid: number): string => nsOf(pid, 'mnt');
export const netNsOf = (pid: number | 'self'): string => nsOf(pid, 'net');

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      out.push({ pid, ppid: Number(f[1]), comm, start: f[19] ?? '', mnt: nsOf(pid, 'mnt'), net: nsOf(pid, 'net'), pidns: nsOf(pid, 'pid') });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export interface Tree {
  /** runtime processes: in the sandbox's mount namespace or below one, in the host pid namespace */
  runtime: Proc[];
  /** container processes: below a sandbox process, in another pid namespace */
  containers: Proc[];
}

/**
 * Everything the sandbox (pid `holder`) started, split into runtime processes (monitors,
 * shims, conmon, daemons) and container processes. `exclude` are pids not to count (our own
 * transient commands, the holder itself).
 */
export function sandboxTree(holder: number, exclude: ReadonlySet<number> = new Set()): Tree {
  const procs = listProcs();
  const mnt = mntNsOf(holder);
  const hostPid = hostPidNs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const inside = new Map<number, boolean>();
  const isInside = (p: Proc): boolean => {
    const known = inside.get(p.pid);
    if (known !== undefined) return known;
    inside.set(p.pid, false);
    let r = mnt !== '' && p.mnt === mnt;
    if (!r) {
      const parent = byPid.get(p.ppid);
      r = parent !== undefined && parent.pid > 1 && isInside(parent);
    }
    inside.set(p.pid, r);
    return r;
  };
  const runtime: Proc[] = [];
  const containers: Proc[] = [];
  for (const p of procs) {
    if (p.pid === holder || exclude.has(p.pid) || !isInside(p)) continue;
    (p.pidns === hostPid ? runtime : containers).push(p);
  }
  return { runtime, containers };
}

export interface Mem {
  rssKiB: number;
  pssKiB: number;
}

export function memOf(pid: number): Mem {
  let rssKiB = 0;
  let pssKiB = 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    rssKiB = Number(m?.[1] ?? 0);
    const p = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    pssKiB = Number(p?.[1] ?? 0);
  } catch {
    /* exited */
  }
  return { rssKiB, pssKiB };
}

export function memSum(procs: readonly Proc[]): Mem {
  let rssKiB = 0;
  let pssKiB = 0;
  for (const p of procs) {
    const m = memOf(p.pid);
    rssKiB += m.rssKiB;
    pssKiB += m.pssKiB;
  }
  return { rssKiB, pssKiB };
}
