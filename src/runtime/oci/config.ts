/**
 * config.json as the OCI runtime spec defines it: the subset tsdocker-oci reads, and the
 * checks that refuse an invalid value naming the field (unknown fields are ignored, as
 * the spec asks). Pure: reading the file is the caller's.
 */
import { TsdError } from '../../sys/errors.js';
import { capName } from '../caps.js';
import { RLIMITS } from '../resource-parse.js';

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type HookName = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
export const HOOK_NAMES: readonly HookName[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

export interface OciCaps {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: { uid?: number; gid?: number; umask?: number; additionalGids?: number[]; username?: string };
  args?: string[];
  env?: string[];
  cwd?: string;
  capabilities?: OciCaps;
  rlimits?: { type: string; soft: number; hard: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciIdMap {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number | null;
  minor?: number | null;
  access?: string;
}

export interface OciThrottle {
  major: number;
  minor: number;
  rate: number;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  hugepageLimits?: { pageSize: string; limit: number }[];
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
    throttleReadBpsDevice?: OciThrottle[];
    throttleWriteBpsDevice?: OciThrottle[];
    throttleReadIOPSDevice?: OciThrottle[];
    throttleWriteIOPSDevice?: OciThrottle[];
  };
}

export interface OciConfig {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  process?: OciProcess;
  hostname?: string;
  mounts?: OciMount[];
  hooks?: Partial<Record<HookName, OciHook[]>>;
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: OciNamespace[];
    uidMappings?: OciIdMap[];
    gidMappings?: OciIdMap[];
    devices?: OciDevice[];
    cgroupsPath?: string;
    resources?: OciResources;
    sysctl?: Record<string, string>;
    seccomp?: Record<string, unknown>;
    rootfsPropagation?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

/** spec namespace type -> the name /proc/<pid>/ns and the monitor use */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** The namespace a sysctl belongs to (runc's list), or undefined for one the whole host shares. */
export function sysctlNamespace(name: string): 'ipc' | 'network' | 'uts' | undefined {
  const k = name.replace(/\//g, '.');
  if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) return 'ipc';
  if (k.startsWith('net.')) return 'network';
  if (k === 'kernel.hostname' || k === 'kernel.domainname') return 'uts';
  return undefined;
}

export const NS_TYPES: Readonly<Record<string, 'pid' | 'net' | 'mnt' | 'ipc' | 'uts' | 'user' | 'cgroup'>> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup',
};

export function invalid(field: string, why: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid config.json: ${field}: ${why}`, { exitCode: 1, hint: 'fix the field in the bundle\'s config.json (OCI runtime spec)' });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);

function strings(v: unknown, field: string): void {
  if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) throw invalid(field, 'must be a list of strings');
}

function ints(o: Record<string, unknown> | undefined, keys: string[], field: string): void {
  for (const k of keys) if (o && o[k] !== undefined && o[k] !== null && !isInt(o[k])) throw invalid(`${field}.${k}`, 'must be an integer');
}

function checkProcess(p: OciProcess, field: string): void {
  if (!isObj(p as unknown)) throw invalid(field, 'must be an object');
  strings(p.args, `${field}.args`);
  strings(p.env, `${field}.env`);
  if (!p.args?.length) throw invalid(`${field}.args`, 'must name the command to run');
  if (p.cwd !== undefined && (typeof p.cwd !== 'string' || !p.cwd.startsWith('/'))) throw invalid(`${field}.cwd`, 'must be an absolute path');
  if (p.user !== undefined) {
    if (!isObj(p.user)) throw invalid(`${field}.user`, 'must be an object');
    ints(p.user as Record<string, unknown>, ['uid', 'gid', 'umask'], `${field}.user`);
    if (p.user.additionalGids !== undefined && (!Array.isArray(p.user.additionalGids) || !p.user.additionalGids.every(isInt))) {
      throw invalid(`${field}.user.additionalGids`, 'must be a list of integers');
    }
  }
  for (const [set, names] of Object.entries(p.capabilities ?? {})) {
    strings(names, `${field}.capabilities.${set}`);
    for (const n of (names as string[] | null) ?? []) {
      try {
        capName(n);
      } catch {
        throw invalid(`${field}.capabilities.${set}`, `unknown capability "${n}"`);
      }
    }
  }
  (p.rlimits ?? []).forEach((l, i) => {
    const f = `${field}.rlimits[${i}]`;
    if (!isObj(l) || typeof l.type !== 'string') throw invalid(f, 'must have a type');
    if (rlimitNumber(l.type) === undefined) throw invalid(`${f}.type`, `unknown rlimit "${l.type}"`);
    if (!isInt(l.soft) || !isInt(l.hard)) throw invalid(f, 'soft and hard must be integers');
  });
  if (p.oomScoreAdj !== undefined && (!isInt(p.oomScoreAdj) || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    throw invalid(`${field}.oomScoreAdj`, 'must be an integer from -1000 to 1000');
  }
}

/** RLIMIT_NOFILE -> 7; undefined for an unknown name */
export function rlimitNumber(type: string): number | undefined {
  const m = /^RLIMIT_([A-Z]+)$/.exec(type);
  return m ? RLIMITS[m[1]!.toLowerCase()] : undefined;
}

/** Check what tsdocker-oci reads; returns the config typed. */
export function checkConfig(raw: unknown): OciConfig {
  if (!isObj(raw)) throw invalid('(top level)', 'must be a JSON object');
  const c = raw as unknown as OciConfig;
  if (typeof c.ociVersion !== 'string' || !/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(c.ociVersion)) {
    throw invalid('ociVersion', `"${String(c.ociVersion)}" is not a 1.x version`);
  }
  if (!isObj(c.root) || typeof c.root.path !== 'string' || !c.root.path) throw invalid('root.path', 'must name the root filesystem');
  if (c.process === undefined) throw invalid('process', 'is required to create a container');
  checkProcess(c.process, 'process');
  if (c.hostname !== undefined && typeof c.hostname !== 'string') throw invalid('hostname', 'must be a string');
  (c.mounts ?? []).forEach((m, i) => {
    if (!isObj(m) || typeof m.destination !== 'string' || !m.destination.startsWith('/')) throw invalid(`mounts[${i}].destination`, 'must be an absolute path');
    strings(m.options, `mounts[${i}].options`);
  });
  for (const [name, list] of Object.entries(c.hooks ?? {})) {
    if (!(HOOK_NAMES as string[]).includes(name)) continue; // unknown hook kinds are ignored
    if (!Array.isArray(list)) throw invalid(`hooks.${name}`, 'must be a list');
    list.forEach((h, i) => {
      if (!isObj(h) || typeof h.path !== 'string' || !h.path.startsWith('/')) throw invalid(`hooks.${name}[${i}].path`, 'must be an absolute path');
      strings(h.args, `hooks.${name}[${i}].args`);
      strings(h.env, `hooks.${name}[${i}].env`);
    });
  }
  const l = c.linux ?? {};
  const seen = new Set<string>();
  (l.namespaces ?? []).forEach((ns, i) => {
    if (!isObj(ns) || !(ns.type in NS_TYPES)) throw invalid(`linux.namespaces[${i}].type`, `unknown namespace type "${String(ns?.type)}"`);
    if (seen.has(ns.type)) throw invalid(`linux.namespaces[${i}]`, `namespace ${ns.type} is listed twice`);
    seen.add(ns.type);
    if (ns.path !== undefined && (typeof ns.path !== 'string' || !ns.path.startsWith('/'))) throw invalid(`linux.namespaces[${i}].path`, 'must be an absolute path');
  });
  if (c.hostname && !seen.has('uts')) throw invalid('hostname', 'needs its own UTS namespace (add {"type":"uts"} to linux.namespaces)');
  for (const k of ['uidMappings', 'gidMappings'] as const) {
    (l[k] ?? []).forEach((m, i) => ints(m as unknown as Record<string, unknown>, ['containerID', 'hostID', 'size'], `linux.${k}[${i}]`));
    if (l[k]?.length && !seen.has('user')) throw invalid(`linux.${k}`, 'needs a user namespace');
  }
  (l.devices ?? []).forEach((d, i) => {
    const f = `linux.devices[${i}]`;
    if (!isObj(d) || typeof d.path !== 'string' || !d.path.startsWith('/dev/')) throw invalid(`${f}.path`, 'must be a path under /dev');
    if (!['c', 'b', 'u', 'p'].includes(d.type)) throw invalid(`${f}.type`, `unknown device type "${String(d.type)}"`);
    if (d.type !== 'p' && (!isInt(d.major) || !isInt(d.minor))) throw invalid(f, 'major and minor are required');
    ints(d as unknown as Record<string, unknown>, ['fileMode', 'uid', 'gid'], f);
  });
  if (l.cgroupsPath !== undefined && (typeof l.cgroupsPath !== 'string' || l.cgroupsPath.split('/').includes('..'))) {
    throw invalid('linux.cgroupsPath', 'must be a path without ".."');
  }
  if (l.cgroupsPath && /^[^/]*:[^/]*:/.test(l.cgroupsPath)) {
    throw invalid('linux.cgroupsPath', `"${l.cgroupsPath}" is a systemd slice path; tsdocker-oci manages cgroupfs directly (no --systemd-cgroup)`);
  }
  if (l.rootfsPropagation !== undefined && !(l.rootfsPropagation in PROPAGATION)) {
    throw invalid('linux.rootfsPropagation', `unknown propagation "${l.rootfsPropagation}"`);
  }
  if (l.sysctl !== undefined && (!isObj(l.sysctl) || Object.entries(l.sysctl).some(([k, v]) => typeof v !== 'string' || !/^[a-zA-Z0-9_.\-/]+$/.test(k) || k.includes('..')))) {
    throw invalid('linux.sysctl', 'must map sysctl names to string values');
  }
  // a sysctl is written through the container's /proc: outside a namespace of its own it would change the host's
  for (const k of Object.keys(l.sysctl ?? {})) {
    const ns = sysctlNamespace(k);
    if (!ns) throw invalid(`linux.sysctl.${k}`, 'is not namespaced: setting it would change the host');
    if (!seen.has(ns)) throw invalid(`linux.sysctl.${k}`, `needs its own ${ns} namespace (add {"type":"${ns}"} to linux.namespaces)`);
  }
  strings(l.maskedPaths, 'linux.maskedPaths');
  strings(l.readonlyPaths, 'linux.readonlyPaths');
  return c;
}

/** MS_* propagation flags by name (mount options and linux.rootfsPropagation) */
export const PROPAGATION: Readonly<Record<string, number>> = {
  private: 0x40000, rprivate: 0x44000, shared: 0x100000, rshared: 0x104000,
  slave: 0x80000, rslave: 0x84000, unbindable: 0x20000, runbindable: 0x24000,
};
