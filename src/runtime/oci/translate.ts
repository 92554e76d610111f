/**
 * An OCI config.json turned into the monitor's spec (runtime/spec.ts): the same mount,
 * device, capability and seccomp machinery `tsdocker run` uses, fed from the bundle
 * instead of an image. Pure apart from stat calls on bind sources and namespace paths.
 */
import { readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { defaultDevices, defaultSymlinks, MS, type DeviceEntry, type MountEntry } from '../../rootfs/mounts.js';
import { capMask } from '../caps.js';
import { CLONE, type ContainerSpec, type NsType, type Rlimit } from '../spec.js';
import { invalid, NS_TYPES, PROPAGATION, rlimitNumber, type OciCaps, type OciConfig, type OciMount, type OciProcess } from './config.js';

/** runc's mount option table: name -> [flag, set (true) or clear (false)] */
const FLAGS: Readonly<Record<string, [number, boolean]>> = {
  async: [0x10, false], atime: [MS.NOATIME, false], bind: [MS.BIND, true], defaults: [0, true], dev: [MS.NODEV, false],
  diratime: [0x800, false], dirsync: [0x80, true], exec: [MS.NOEXEC, false], mand: [0x40, true], noatime: [MS.NOATIME, true],
  nodev: [MS.NODEV, true], nodiratime: [0x800, true], noexec: [MS.NOEXEC, true], nomand: [0x40, false],
  norelatime: [MS.RELATIME, false], nostrictatime: [MS.STRICTATIME, false], nosuid: [MS.NOSUID, true],
  rbind: [MS.BIND | MS.REC, true], relatime: [MS.RELATIME, true], remount: [0x20, true], ro: [MS.RDONLY, true],
  rw: [MS.RDONLY, false], strictatime: [MS.STRICTATIME, true], suid: [MS.NOSUID, false], sync: [0x10, true],
};
/** options that are the runtime's business, never the filesystem's */
const IGNORED = new Set(['tmpcopyup', 'idmap', 'ridmap', 'nosymfollow', 'rro']);

export function mountFlags(options: readonly string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f) flags = f[1] ? flags | f[0] : flags & ~f[0];
    else if (o in PROPAGATION) flags |= PROPAGATION[o]!;
    else if (!IGNORED.has(o)) data.push(o);
  }
  return { flags, data: data.join(',') };
}

function toMount(m: OciMount, bundle: string, cgroupDirs: Record<string, string>): MountEntry[] {
  const { flags, data } = mountFlags(m.options ?? []);
  const type = m.type ?? (flags & MS.BIND ? 'bind' : 'none');
  if (type === 'cgroup') {
    // the container's own cgroup directories, read-only, under a tmpfs (runc's v1 layout)
    const out: MountEntry[] = [{ source: 'tmpfs', destination: m.destination, fstype: 'tmpfs', flags: flags & ~(MS.RDONLY | MS.BIND | MS.REC), data: 'mode=755' }];
    for (const [controller, dir] of Object.entries(cgroupDirs)) {
      const name = controller === '' ? 'unified' : controller;
      out.push({ source: dir, destination: `${m.destination}/${name}`, fstype: 'bind', flags: MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, data: '' });
    }
    return out;
  }
  const bind = type === 'bind' || (flags & MS.BIND) !== 0;
  let source = m.source ?? type;
  if (bind && !isAbsolute(source)) source = resolve(bundle, source);
  return [{ source, destination: m.destination, fstype: bind ? 'bind' : type, flags: bind ? flags | MS.BIND : flags, data }];
}

const S_IF: Readonly<Record<string, number>> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

export function devices(config: OciConfig): DeviceEntry[] {
  const own: DeviceEntry[] = (config.linux?.devices ?? []).map((d) => ({
    path: d.path,
    mode: S_IF[d.type]! | ((d.fileMode ?? 0o666) & 0o7777),
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  }));
  return [...defaultDevices().filter((d) => !own.some((o) => o.path === d.path)), ...own];
}

export function capSets(c: OciCaps): NonNullable<ContainerSpec['caps5']> {
  const mask = (l?: string[] | null) => capMask(l ?? []);
  return { bounding: mask(c.bounding), effective: mask(c.effective), inheritable: mask(c.inheritable), permitted: mask(c.permitted), ambient: mask(c.ambient) };
}

export function rlimits(p: OciProcess): Rlimit[] {
  const unl = (v: number) => (v < 0 || v >= 2 ** 53 ? -1 : v);
  return (p.rlimits ?? []).map((l) => ({ resource: rlimitNumber(l.type)!, soft: unl(l.soft), hard: unl(l.hard) }));
}

/** A namespace path must be a namespace of the type it is listed as (runc refuses the mismatch). */
function checkNsPath(type: string, path: string, index: number): void {
  const want = NS_TYPES[type]!;
  let target: string | undefined;
  try {
    target = readlinkSync(path); // /proc/<pid>/ns/<x> -> "<x>:[inode]"
  } catch {
    try {
      statSync(path);
    } catch {
      throw invalid(`linux.namespaces[${index}].path`, `${path} does not exist`);
    }
  }
  const got = target ? /^([a-z_]+):\[/.exec(target)?.[1] : undefined;
  const norm = got === 'pid_for_children' ? 'pid' : got === 'time_for_children' ? 'time' : got;
  if (norm && norm !== want) throw invalid(`linux.namespaces[${index}].path`, `${path} is a ${norm} namespace, not ${type}`);
}

export interface Namespaces {
  cloneFlags: number;
  join: { type: NsType; path: string }[];
  newNet: boolean;
}

const CLONE_OF: Readonly<Record<string, number>> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC, uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP,
};
/** setns order: the user namespace first (it owns the others), the mount namespace last */
export const JOIN_ORDER = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'mount'];

export function namespaces(config: OciConfig): Namespaces {
  const list = config.linux?.namespaces ?? [];
  let cloneFlags = 0;
  const join: { type: NsType; path: string }[] = [];
  for (const t of JOIN_ORDER) {
    const i = list.findIndex((n) => n.type === t);
    if (i < 0) continue;
    const ns = list[i]!;
    if (ns.path) {
      checkNsPath(t, ns.path, i);
      join.push({ type: NS_TYPES[t]!, path: ns.path });
    } else cloneFlags |= CLONE_OF[t]!;
  }
  return { cloneFlags, join, newNet: list.some((n) => n.type === 'network' && !n.path) };
}

export interface TranslateInput {
  id: string;
  bundle: string;
  config: OciConfig;
  cgroupDirs: Record<string, string>;
  seccompPath?: string;
}

/** The process-level part, shared by create and exec. */
export function processSpec(p: OciProcess, seccompPath: string | undefined): Omit<ContainerSpec, 'id'> {
  return {
    cwd: p.cwd ?? '/',
    user: { uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0, groups: p.user?.additionalGids ?? [] },
    umask: p.user?.umask,
    env: p.env ?? [],
    args: p.args ?? [],
    ...(p.capabilities ? { caps5: capSets(p.capabilities) } : {}),
    noNewPrivileges: p.noNewPrivileges ?? false,
    rlimits: rlimits(p),
    oomScoreAdj: p.oomScoreAdj,
    seccomp: seccompPath,
    tty: p.terminal ?? false,
    stdin: true, // the runtime's own stdin goes to the container untouched
  };
}

export function containerSpec(input: TranslateInput): ContainerSpec {
  const { config, bundle } = input;
  const ns = namespaces(config);
  const l = config.linux ?? {};
  return {
    id: input.id,
    cloneFlags: ns.cloneFlags,
    join: ns.join,
    rootfs: resolve(bundle, config.root!.path),
    mounts: (config.mounts ?? []).flatMap((m) => toMount(m, bundle, input.cgroupDirs)),
    devices: devices(config),
    symlinks: defaultSymlinks().filter((s) => s.path !== '/dev/core'),
    masked: l.maskedPaths ?? [],
    readonly: l.readonlyPaths ?? [],
    rootfsReadonly: config.root!.readonly ?? false,
    hostname: config.hostname,
    loopback: ns.newNet,
    sysctl: Object.entries(l.sysctl ?? {}),
    rootPropagation: l.rootfsPropagation ? PROPAGATION[l.rootfsPropagation] : undefined,
    ...processSpec(config.process!, input.seccompPath),
  };
}

export const bundlePath = (bundle: string, p: string) => (isAbsolute(p) ? p : join(bundle, p));
