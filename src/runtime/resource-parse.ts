/**
 * Parsing of the resource flags, Docker's grammar: sizes (`-m 512m`, `--memory-swap -1`),
 * CPU counts (`--cpus 1.5`), cpu lists (`--cpuset-cpus 0-1,3`), pids limits, and
 * `--ulimit NAME=SOFT[:HARD]`. Pure functions: bad input is a TsdError (exit 125) naming
 * the flag and the value.
 */
import { TsdError } from '../sys/errors.js';

function bad(flag: string, value: unknown, why: string, hint?: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid argument "${String(value)}" for "${flag}" flag: ${why}`, { hint });
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's RAMInBytes: `1024`, `64k`, `512m`, `1.5g`, `2GiB`, `10MB` (binary units throughout). */
export function parseBytes(value: string | number, flag: string): number {
  const s = String(value).trim();
  const m = /^(\d+(?:\.\d+)?) ?([kmgtpb]?)(?:i?b)?$/i.exec(s);
  if (!m) throw bad(flag, value, 'expected a size such as 512m, 1g or 1048576 (units b, k, m, g, t, p)');
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw bad(flag, value, 'size too large');
  return bytes;
}

/** --memory-swap: a size, or -1 for unlimited swap. */
export function parseSwap(value: string | number, flag: string): number {
  if (String(value).trim() === '-1') return -1;
  return parseBytes(value, flag);
}

/** --cpus: a positive decimal no larger than the host's CPU count; returns the CFS quota for a 100ms period. */
export function parseCpus(value: string | number, hostCpus: number): { quota: number; period: number } {
  const s = String(value).trim();
  if (!/^\d*\.?\d+$/.test(s)) throw bad('--cpus', value, 'expected a decimal number such as 0.5 or 2');
  const n = Number(s);
  const period = 100_000;
  const quota = Math.round(n * period);
  if (quota < 1000) throw bad('--cpus', value, `range of CPUs is from 0.01 to ${hostCpus}.00`);
  if (n > hostCpus) {
    throw new TsdError('RESOURCE', `range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`, {
      hint: `use --cpus ${hostCpus} or less`,
    });
  }
  return { quota, period };
}

/** --cpu-shares: 2..262144 (0 means the default, 1024). */
export function parseCpuShares(value: string | number): number | undefined {
  const s = String(value).trim();
  if (!/^\d+$/.test(s)) throw bad('--cpu-shares', value, 'expected a whole number');
  const n = Number(s);
  if (n === 0) return undefined;
  if (n < 2 || n > 262144) throw bad('--cpu-shares', value, 'cpu shares must be between 2 and 262144');
  return n;
}

/** A cpu list `0-2,4` as the sorted set of cpus it names. */
export function cpuListSet(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad cpu list element "${part}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 4096) throw new Error(`bad cpu range "${part}"`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** --cpuset-cpus: a cpu list whose cpus all exist on the host (`available`, e.g. "0-1"). */
export function parseCpuset(value: string, available: string): string {
  let want: number[];
  try {
    want = cpuListSet(value);
  } catch (err) {
    throw bad('--cpuset-cpus', value, (err as Error).message, 'expected a cpu list such as 0-1 or 0,2');
  }
  if (want.length === 0) throw bad('--cpuset-cpus', value, 'empty cpu list');
  const have = new Set(cpuListSet(available));
  const missing = want.filter((c) => !have.has(c));
  if (missing.length) {
    throw new TsdError('RESOURCE', `requested CPUs are not available - requested ${value}, available: ${available.trim()}`, {
      hint: `choose cpus from ${available.trim()}`,
    });
  }
  return want.join(',');
}

/** --pids-limit: a positive count; 0 and -1 (Docker's spelling) mean unlimited; other negatives are refused. */
export function parsePidsLimit(value: string | number): number {
  const s = String(value).trim();
  if (s === '-1' || s === '0') return 0;
  if (!/^\d+$/.test(s)) {
    throw bad('--pids-limit', value, /^-\d+$/.test(s) ? 'a pids limit cannot be negative' : 'expected a whole number', 'give a positive number of processes, or -1 for no limit');
  }
  return Number(s);
}

/** RLIMIT_* numbers (Linux, x86_64 and arm64 alike) under Docker's --ulimit names. */
export const RLIMITS: Record<string, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9, locks: 10,
  sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

export interface Rlimit {
  name: string;
  resource: number;
  /** -1 = unlimited */
  soft: number;
  hard: number;
}

function parseLimitValue(v: string, spec: string): number {
  if (v === '-1' || v === 'unlimited') return -1;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw bad('--ulimit', spec, `"${v}" is not a number`);
  return Number(v);
}

/** --ulimit NAME=SOFT[:HARD] (HARD defaults to SOFT). */
export function parseUlimit(spec: string): Rlimit {
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(spec.trim());
  if (!m) throw bad('--ulimit', spec, 'expected NAME=SOFT[:HARD], e.g. nofile=1024:2048');
  const name = m[1]!;
  const resource = RLIMITS[name];
  if (resource === undefined) {
    throw bad('--ulimit', spec, `unknown ulimit "${name}"`, `known: ${Object.keys(RLIMITS).join(', ')}`);
  }
  const soft = parseLimitValue(m[2]!, spec);
  const hard = m[3] === undefined ? soft : parseLimitValue(m[3], spec);
  const unl = (x: number) => (x === -1 ? Infinity : x);
  if (unl(soft) > unl(hard)) throw bad('--ulimit', spec, `soft limit ${m[2]} is greater than hard limit ${m[3]}`);
  return { name, resource, soft, hard };
}

/** /proc/<pid>/limits as resource number -> { soft, hard } (-1 = unlimited). */
export function parseProcLimits(text: string): Map<number, { soft: number; hard: number }> {
  const rows: [string, string][] = [
    ['Max cpu time', 'cpu'], ['Max file size', 'fsize'], ['Max data size', 'data'], ['Max stack size', 'stack'],
    ['Max core file size', 'core'], ['Max resident set', 'rss'], ['Max processes', 'nproc'], ['Max open files', 'nofile'],
    ['Max locked memory', 'memlock'], ['Max address space', 'as'], ['Max file locks', 'locks'],
    ['Max pending signals', 'sigpending'], ['Max msgqueue size', 'msgqueue'], ['Max nice priority', 'nice'],
    ['Max realtime priority', 'rtprio'], ['Max realtime timeout', 'rttime'],
  ];
  const out = new Map<number, { soft: number; hard: number }>();
  for (const line of text.split('\n')) {
    const row = rows.find(([label]) => line.startsWith(label));
    if (!row) continue;
    const [soft, hard] = line.slice(row[0].length).trim().split(/\s+/);
    const num = (v: string | undefined) => (v === 'unlimited' ? -1 : Number(v));
    out.set(RLIMITS[row[1]]!, { soft: num(soft), hard: num(hard) });
  }
  return out;
}

/** --cpu-period: the CFS period in µs, 1000..1000000 (0: the default), the daemon's message. */
export function parseCpuPeriod(value: string | number): number | undefined {
  const s = String(value).trim();
  if (!/^-?\d+$/.test(s)) throw bad('--cpu-period', value, 'expected a whole number of microseconds');
  const n = Number(s);
  if (n === 0) return undefined;
  if (n < 1000 || n > 1_000_000) {
    throw new TsdError('BAD_ARGS', 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)', { hint: 'e.g. --cpu-period 100000' });
  }
  return n;
}

/** --cpu-quota: the CFS quota in µs per period, at least 1000; -1 is no quota (0: not set). */
export function parseCpuQuota(value: string | number): number | undefined {
  const s = String(value).trim();
  if (!/^-?\d+$/.test(s)) throw bad('--cpu-quota', value, 'expected a whole number of microseconds');
  const n = Number(s);
  if (n === 0) return undefined;
  if (n !== -1 && n < 1000) throw new TsdError('BAD_ARGS', 'CPU cfs quota can not be less than 1ms (i.e. 1000)', { hint: 'e.g. --cpu-quota 50000 with the default period of 100000' });
  return n;
}

/** --oom-score-adj: -1000..1000 (the daemon's message). */
export function parseOomScoreAdj(value: string | number): number {
  const s = String(value).trim();
  if (!/^-?\d+$/.test(s)) throw bad('--oom-score-adj', value, 'expected a whole number');
  const n = Number(s);
  if (n < -1000 || n > 1000) throw new TsdError('BAD_ARGS', `Invalid value ${n}, range for oom score adj is [-1000, 1000]`, { hint: 'give a value from -1000 to 1000' });
  return n;
}
