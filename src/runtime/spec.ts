/**
 * The spec file the monitor reads (native/PROTOCOL.md): a typed ContainerSpec, rendered
 * as a flat sequence of NUL-terminated strings, a key followed by its fields. Keys come
 * out in one fixed order, mounts before devices before symlinks, as the monitor applies them.
 */
import { TsdError } from '../sys/errors.js';
import type { DeviceEntry, MountEntry, SymlinkEntry } from '../rootfs/mounts.js';

/** CLONE_NEW* flags (linux/sched.h) */
export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export type NsType = 'net' | 'ipc' | 'uts' | 'pid' | 'mnt' | 'cgroup' | 'user';

export interface Rlimit {
  resource: number;
  /** -1 = unlimited */
  soft: number;
  hard: number;
}

export interface ContainerSpec {
  /** container id (64 hex) */
  id: string;
  /** CLONE_NEW* flags for the container (run mode) */
  cloneFlags?: number;
  /** namespaces to join before clone, in order (exec mode: all of the target's, mnt last) */
  join?: { type: NsType; path: string }[];
  /** directory that becomes / (run mode) */
  rootfs?: string;
  /** overlay on rootfs; lower is top layer first */
  overlay?: { lower: string[]; upper: string; work: string };
  mounts?: MountEntry[];
  devices?: DeviceEntry[];
  symlinks?: SymlinkEntry[];
  /** made in the rootfs before any mount (what Docker's init layer holds) */
  rootSymlinks?: SymlinkEntry[];
  masked?: string[];
  readonly?: string[];
  rootfsReadonly?: boolean;
  hostname?: string;
  /** --domainname: setdomainname in the container's UTS namespace */
  domainname?: string;
  /** bring lo up (own network namespace) */
  loopback?: boolean;
  cwd?: string;
  user?: { uid: number; gid: number; groups?: number[] };
  env: string[];
  /** argv; argv[0] is looked up in the container's PATH */
  args: string[];
  /** hex capability mask (caps.ts capMask) */
  caps?: string;
  noNewPrivileges?: boolean;
  rlimits?: Rlimit[];
  oomScoreAdj?: number;
  /** path of a rendered seccomp spec */
  seccomp?: string;
  tty?: boolean;
  /** -i: the container reads stdin */
  stdin?: boolean;
  /** detached: CRI log file; absent: stdio handed to the container */
  logPath?: string;
  /** foreground with a log: the monitor also copies the output to its own stdout/stderr */
  logTee?: boolean;
  /** the attach socket the monitor serves while the container runs */
  attach?: string;
  /** hex bytes: the foreground pty relay detaches on this sequence */
  detachKeys?: string;
  /** exit record path */
  exitPath?: string;
  /** write the exit record without fsync (a --rm container: the CLI reads it at once, then it goes) */
  exitNoSync?: boolean;
  /** exit hook argv, exec'd by the monitor unless Node acks the exit */
  hook?: string[];
  /** OCI: no death signal; the monitor leaves once the process is ready (run) or exec'd (exec) */
  orphan?: boolean;
  /** OCI create: the init blocks opening this FIFO for writing until `start` reads it */
  fifo?: string;
  /** OCI --console-socket: the pty master goes there */
  console?: string;
  /** OCI: hex masks of the five capability sets (replaces `caps`) */
  caps5?: { bounding: string; effective: string; inheritable: string; permitted: string; ambient: string };
  umask?: number;
  /** sysctls of the container's own namespaces, written after pivot_root (Docker's net.* defaults, OCI linux.sysctl) */
  sysctl?: [string, string][];
  /** MS_* propagation of / before the rootfs is bound (default MS_REC|MS_PRIVATE) */
  rootPropagation?: number;
  /** a daemon the monitor keeps alive while the container runs (the embedded DNS) */
  supervise?: { intervalMs: number; pidFile: string; match: string; argv: string[] };
  /** restart policy the monitor applies after the exit (native/src/restart.c); argv restarts the container */
  restart?: { policy: string; max: number; count: number; timeoutMs: number; record: string; marker: string; argv: string[] };
  /** healthcheck the monitor runs (native/src/health.c): probeSpec is an exec-mode spec */
  /** where the monitor keeps compiled seccomp filters (native/src/seccomp.c) */
  seccompCache?: string;
  /** cgroup.procs files the container's first process joins right after the clone, before `pid` */
  cgroupProcs?: string[];
  health?: { intervalMs: number; timeoutMs: number; startPeriodMs: number; retries: number; record: string; probeSpec: string; cgroupProcs: string[] };
  /** the file Node writes before `go` with the published ports' IPv6 side (native/src/proxy6.c) */
  proxy6?: string;
}

function str(key: string, v: string): string {
  if (v.includes('\0')) throw new TsdError('BAD_ARGS', `${key}: value contains a NUL byte`);
  return v;
}

function int(key: string, v: number): string {
  if (!Number.isSafeInteger(v)) throw new TsdError('INTERNAL', `spec ${key}: ${v} is not an integer`);
  return String(v);
}

function bool(v: boolean | undefined): string {
  return v ? '1' : '0';
}

/** The spec as [key, ...fields] records, in the order they are written. */
export function specRecords(s: ContainerSpec): string[][] {
  const r: string[][] = [['version', '1'], ['id', s.id]];
  if (s.cloneFlags !== undefined) r.push(['clone', int('clone', s.cloneFlags)]);
  for (const j of s.join ?? []) r.push(['join', j.type, j.path]);
  if (s.rootfs) r.push(['rootfs', s.rootfs]);
  if (s.overlay) {
    for (const l of [...s.overlay.lower, s.overlay.upper, s.overlay.work]) {
      if (/[:,]/.test(l)) throw new TsdError('BAD_ARGS', `overlay directory ${l} contains ':' or ','`);
    }
    r.push(['overlay', s.overlay.lower.join(':'), s.overlay.upper, s.overlay.work]);
  }
  for (const m of s.mounts ?? []) r.push(['mount', m.source, m.destination, m.fstype, int('mount', m.flags), m.data]);
  for (const d of s.devices ?? []) {
    const f = [d.path, int('device', d.mode), int('device', d.major), int('device', d.minor)];
    if (d.uid === undefined && d.gid === undefined) r.push(['device', ...f]);
    else r.push(['odevice', ...f, int('device', d.uid ?? 0), int('device', d.gid ?? 0)]);
  }
  for (const l of s.symlinks ?? []) r.push(['symlink', l.target, l.path]);
  for (const l of s.rootSymlinks ?? []) r.push(['rootlink', l.target, l.path]);
  for (const p of s.masked ?? []) r.push(['mask', p]);
  for (const p of s.readonly ?? []) r.push(['readonly', p]);
  if (s.rootfsReadonly !== undefined) r.push(['rootfs_ro', bool(s.rootfsReadonly)]);
  if (s.hostname !== undefined) r.push(['hostname', s.hostname]);
  if (s.domainname) r.push(['domainname', s.domainname]);
  if (s.loopback !== undefined) r.push(['lo', bool(s.loopback)]);
  if (s.cwd !== undefined) r.push(['cwd', s.cwd]);
  if (s.user) r.push(['user', int('user', s.user.uid), int('user', s.user.gid), (s.user.groups ?? []).map((g) => int('user', g)).join(',')]);
  for (const e of s.env) r.push(['env', e]);
  if (s.args.length === 0) throw new TsdError('BAD_ARGS', 'no command to run', { hint: 'give a command, or use an image with a CMD' });
  for (const a of s.args) r.push(['arg', a]);
  if (s.caps !== undefined) {
    if (!/^[0-9a-f]+$/i.test(s.caps)) throw new TsdError('INTERNAL', `spec caps: "${s.caps}" is not a hex mask`);
    r.push(['caps', s.caps]);
  }
  if (s.noNewPrivileges !== undefined) r.push(['nnp', bool(s.noNewPrivileges)]);
  for (const l of s.rlimits ?? []) r.push(['rlimit', int('rlimit', l.resource), int('rlimit', l.soft), int('rlimit', l.hard)]);
  if (s.oomScoreAdj !== undefined) r.push(['oom_score_adj', int('oom_score_adj', s.oomScoreAdj)]);
  if (s.seccomp) r.push(['seccomp', s.seccomp]);
  if (s.seccompCache) r.push(['seccomp_cache', s.seccompCache]);
  if (s.tty !== undefined) r.push(['tty', bool(s.tty)]);
  if (s.stdin !== undefined) r.push(['stdin', bool(s.stdin)]);
  if (s.logPath) r.push(['log', s.logPath]);
  if (s.logTee) r.push(['logtee', '1']);
  if (s.attach) r.push(['attach', s.attach]);
  if (s.detachKeys) r.push(['detach_keys', s.detachKeys]);
  if (s.exitPath) r.push(['exit', s.exitPath]);
  if (s.exitNoSync) r.push(['exit_nosync', '1']);
  for (const h of s.hook ?? []) r.push(['hook', h]);
  if (s.orphan !== undefined) r.push(['orphan', bool(s.orphan)]);
  if (s.fifo) r.push(['fifo', s.fifo]);
  if (s.console) r.push(['console', s.console]);
  if (s.caps5) {
    const c = s.caps5;
    const masks = [c.bounding, c.effective, c.inheritable, c.permitted, c.ambient];
    if (!masks.every((m) => /^[0-9a-f]+$/i.test(m))) throw new TsdError('INTERNAL', 'spec caps5: not hex masks');
    r.push(['caps5', ...masks]);
  }
  if (s.umask !== undefined) r.push(['umask', int('umask', s.umask)]);
  for (const [k, v] of s.sysctl ?? []) r.push(['sysctl', k, v]);
  if (s.rootPropagation !== undefined) r.push(['rootprop', int('rootprop', s.rootPropagation)]);
  if (s.supervise) {
    r.push(['supervise', int('supervise', s.supervise.intervalMs), s.supervise.pidFile, s.supervise.match]);
    for (const a of s.supervise.argv) r.push(['supervise_arg', a]);
  }
  for (const p of s.cgroupProcs ?? []) r.push(['cgroup', p]);
  if (s.health) {
    const h = s.health;
    r.push(['health', int('health', h.intervalMs), int('health', h.timeoutMs), int('health', h.startPeriodMs), int('health', h.retries), h.record, h.probeSpec]);
    for (const p of h.cgroupProcs) r.push(['health_cgroup', p]);
  }
  if (s.restart) {
    const p = s.restart;
    r.push(['restart', p.policy, int('restart', p.max), int('restart', p.count), int('restart', p.timeoutMs), p.record, p.marker]);
    for (const a of p.argv) r.push(['restart_arg', a]);
  }
  if (s.proxy6) r.push(['proxy6', s.proxy6]);
  return r;
}

/** NUL-separated encoding the monitor reads. */
export function renderSpec(spec: ContainerSpec): Buffer {
  const parts: Buffer[] = [];
  for (const rec of specRecords(spec)) for (const f of rec) parts.push(Buffer.from(str(rec[0]!, f) + '\0', 'utf8'));
  return Buffer.concat(parts);
}

/** Fields per key, for decodeSpec (and the unit test that keeps both sides in step). */
export const SPEC_ARITY: Readonly<Record<string, number>> = {
  version: 1, id: 1, clone: 1, join: 2, rootfs: 1, overlay: 3, mount: 5, device: 4, symlink: 2,
  rootlink: 2, mask: 1, readonly: 1, rootfs_ro: 1, hostname: 1, domainname: 1, lo: 1, cwd: 1, user: 3, env: 1, arg: 1,
  caps: 1, nnp: 1, rlimit: 3, oom_score_adj: 1, seccomp: 1, tty: 1, stdin: 1, log: 1, logtee: 1, sysctl: 2, exit: 1, exit_nosync: 1, hook: 1,
  odevice: 6, orphan: 1, fifo: 1, console: 1, caps5: 5, umask: 1, rootprop: 1,
  supervise: 3, supervise_arg: 1, proxy6: 1, restart: 6, restart_arg: 1, health: 6, health_cgroup: 1, cgroup: 1, seccomp_cache: 1, attach: 1, detach_keys: 1,
};

/** Parse a rendered spec back into records (debugging, tests). */
export function decodeSpec(buf: Buffer): string[][] {
  if (buf.length && buf[buf.length - 1] !== 0) throw new TsdError('INTERNAL', 'spec does not end with NUL');
  const words = buf.length ? buf.subarray(0, buf.length - 1).toString('utf8').split('\0') : [];
  const out: string[][] = [];
  for (let i = 0; i < words.length; ) {
    const key = words[i]!;
    const n = SPEC_ARITY[key];
    if (n === undefined) throw new TsdError('INTERNAL', `spec: unknown key ${key}`);
    if (i + n >= words.length) throw new TsdError('INTERNAL', `spec: key ${key} is short of fields`);
    out.push(words.slice(i, i + 1 + n));
    i += 1 + n;
  }
  return out;
}
