/**
 * From a container's record to the monitor's spec: the plan as data (runc's "config.json"
 * moment). Pure apart from reading the image's passwd file for -u names.
 */
import { posix } from 'node:path';
import { initPath, projectDir } from '../native/paths.js';
import { paths, rootDir } from '../state/paths.js';
import { containerFiles, type ContainerConfig } from '../state/containers.js';
import type { ContainerDirs } from '../rootfs/prepare.js';
import {
  type MountEntry,
  bindMount,
  defaultDevices,
  defaultMounts,
  defaultSymlinks,
  maskedPaths,
  readonlyPaths,
} from '../rootfs/mounts.js';
import { dnsWatch, publishes, type NetworkPlan } from '../net/index.js';
import { capMask, DEFAULT_CAPS } from './caps.js';
import { CLONE, type ContainerSpec, type NsType } from './spec.js';
import { mergeEnv, resolveUser } from './options.js';
import { cgroupMounts } from './cgroups/mounts.js';
import type { PreparedResources } from './hooks.js';
import type { ResolvedNamespaces } from './namespaces.js';
import { resolveGroupAdd } from './extras.js';

export interface RunSpecInput {
  config: ContainerConfig;
  image: { layerDirs: string[] };
  dirs: ContainerDirs;
  plan: NetworkPlan;
  resources: PreparedResources;
  /** --pid/--ipc/--uts/--cgroupns/--shm-size, resolved at start (namespaces.ts) */
  ns?: ResolvedNamespaces;
  /** --link: the variables of the linked containers (the container's own env wins) */
  linkEnv?: string[];
  /** detached: capture output here */
  logPath?: string;
  logTee?: boolean;
  /** the restart policy and where its back-off stands (runtime/restart-policy.ts) */
  restart?: { policy: string; max: number; count: number; timeoutMs: number };
  /** the healthcheck (runtime/health.ts healthSpecInput) */
  health?: ContainerSpec['health'];
  /** hex: the foreground relay's detach sequence */
  detachKeys?: string;
}

const tsdocker = (...args: string[]) => [process.execPath, `${projectDir()}/bin/tsdocker`, '--root', rootDir(), ...args];

/** The exit hook: `tsdocker --root R internal cleanup ID`, run by the monitor after the exit. */
export function exitHook(id: string): string[] {
  return tsdocker('internal', 'cleanup', id);
}

/** How often (ms) a monitor checks that the embedded DNS still runs. */
const DNS_CHECK_MS = 3000;

const DOCKER_NET_SYSCTLS: [string, string][] = [
  ['net.ipv4.ip_unprivileged_port_start', '0'],
  ['net.ipv4.ping_group_range', '0 2147483647'],
];

/** Container env plus what Docker adds: HOSTNAME, TERM=xterm with a terminal (-t), and HOME from the user's passwd entry. */
function withDefaults(env: string[], hostname: string, home: string, tty: boolean): string[] {
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  return [
    ...env,
    ...(has('HOSTNAME') ? [] : [`HOSTNAME=${hostname}`]),
    ...(tty && !has('TERM') ? ['TERM=xterm'] : []),
    ...(has('HOME') ? [] : [`HOME=${home}`]),
  ];
}

/** Where --init's init lives in the container, as in Docker. */
const DOCKER_INIT = '/sbin/docker-init';

/** --init: the static tsdocker-init, bound read-only over /sbin/docker-init (Docker's path). */
function initMount(config: ContainerConfig) {
  return config.init ? [bindMount(initPath(), DOCKER_INIT, { readonly: true, recursive: false })] : [];
}

/** --ipc host/shareable/container:X bind another /dev/shm, none has none. */
function withShm(mounts: MountEntry[], ns: ResolvedNamespaces | undefined): MountEntry[] {
  if (ns?.shm === undefined) return mounts;
  return mounts.flatMap((m) => (m.destination !== '/dev/shm' ? [m] : ns.shm ? [ns.shm] : []));
}

export function buildRunSpec(input: RunSpecInput): ContainerSpec {
  const { config, image, dirs, plan, resources } = input;
  const creds = resolveUser(config.user, image.layerDirs);
  const privileged = resources.privileged;
  const watch = dnsWatch(plan);
  let cloneFlags = CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWCGROUP;
  if (plan.newNetns) cloneFlags |= CLONE.NEWNET;
  cloneFlags &= ~(input.ns?.drop ?? 0);
  const join: { type: NsType; path: string }[] = [...(plan.joinNetns ? [{ type: 'net' as NsType, path: plan.joinNetns }] : []), ...(input.ns?.joins ?? [])];
  const cg = cgroupMounts(config.id, privileged);
  // the generated files go after the user's mounts, so a tmpfs or volume on /etc (or an
  // image VOLUME whose path links to /etc) cannot hide them; a user's own mount on one of
  // these paths wins, as in Docker
  const userTargets = new Set(resources.mounts.map((m) => posix.normalize(m.destination)));
  const etc = [
    bindMount(dirs.hostname, '/etc/hostname'),
    bindMount(dirs.hosts, '/etc/hosts'),
    bindMount(dirs.resolvConf, '/etc/resolv.conf'),
  ].filter((m) => !userTargets.has(m.destination));
  return {
    id: config.id,
    cloneFlags,
    join,
    rootfs: dirs.rootfs,
    cgroupProcs: resources.cgroupProcs,
    overlay: { lower: [...image.layerDirs].reverse(), upper: dirs.upper, work: dirs.work },
    mounts: [...withShm(defaultMounts({ privileged, shmSize: input.ns?.shmSize }), input.ns), ...cg.mounts, ...resources.mounts, ...etc, ...initMount(config)],
    devices: [...defaultDevices(), ...(resources.devices ?? [])], // resources: host devices when privileged
    // Docker's init layer links /etc/mtab to /proc/mounts (an image's own /etc/mtab is kept)
    symlinks: [...defaultSymlinks(), ...cg.symlinks],
    rootSymlinks: [{ target: '/proc/mounts', path: '/etc/mtab' }],
    masked: maskedPaths({ privileged }),
    readonly: [...readonlyPaths({ privileged }), ...cg.readonly],
    rootfsReadonly: resources.readonlyRootfs,
    // --uts host: the host's own name stays as it is
    ...(cloneFlags & CLONE.NEWUTS ? { hostname: config.hostname, domainname: config.domainname } : {}),
    loopback: plan.loopbackUp,
    // Docker's defaults in a network namespace of the container's own: any port, ICMP sockets for all
    sysctl: [...(plan.newNetns ? DOCKER_NET_SYSCTLS : []), ...Object.entries(config.sysctls ?? {})], // --sysctl after Docker's defaults: it wins
    cwd: config.workingDir,
    user: { uid: creds.uid, gid: creds.gid, groups: [...creds.groups, ...resolveGroupAdd(config.groupAdd ?? [], image.layerDirs)] },
    env: withDefaults(input.linkEnv?.length ? mergeEnv(input.linkEnv, config.env) : config.env, config.hostname, creds.home, config.tty),
    args: [...(config.init ? [DOCKER_INIT, '--'] : []), config.path, ...config.args],
    caps: resources.capsMask ?? capMask(DEFAULT_CAPS),
    noNewPrivileges: resources.noNewPrivileges,
    rlimits: resources.rlimits,
    ...(resources.oomScoreAdj !== undefined ? { oomScoreAdj: resources.oomScoreAdj } : {}),
    seccomp: resources.seccompPath,
    ...(resources.seccompPath ? { seccompCache: paths.seccompCache() } : {}),
    tty: config.tty,
    stdin: config.interactive,
    logPath: input.logPath,
    ...(input.logTee ? { logTee: true } : {}),
    attach: containerFiles.attach(config.id),
    ...(input.detachKeys ? { detachKeys: input.detachKeys } : {}),
    exitPath: containerFiles.exit(config.id),
    exitNoSync: config.autoRemove,
    hook: exitHook(config.id),
    // a container on a user network needs the embedded DNS: its monitor brings it back if killed
    ...(watch ? { supervise: { intervalMs: DNS_CHECK_MS, ...watch, argv: tsdocker('internal', 'dns') } } : {}),
    ...(input.health ? { health: input.health } : {}),
    ...(input.restart ? { restart: { ...input.restart, record: containerFiles.restart(config.id), marker: containerFiles.stopped(config.id), argv: tsdocker('internal', 'restart', config.id) } } : {}),
    ...(publishes(plan) ? { proxy6: containerFiles.proxy6(config.id) } : {}),
  };
}

export interface ExecSpecInput {
  config: ContainerConfig;
  image: { layerDirs: string[] };
  targetPid: number;
  command: string[];
  env: string[];
  workdir?: string;
  user?: string;
  tty: boolean;
  interactive: boolean;
  resources: PreparedResources;
  logPath?: string;
}

/** `exec`: join every namespace of the container's first process (mnt last), same privileges. */
export function buildExecSpec(input: ExecSpecInput): ContainerSpec {
  const { config, targetPid } = input;
  const creds = resolveUser(input.user ?? config.user, input.image.layerDirs);
  const plan = config.network as unknown as NetworkPlan;
  const ownNet = plan.newNetns || plan.targetId !== undefined || plan.joinNetns !== undefined; // container:X: X's, which the container holds
  const types: NsType[] = ['ipc', 'uts', ...(ownNet ? (['net'] as NsType[]) : []), 'pid', 'cgroup', 'mnt'];
  return {
    id: config.id,
    join: types.map((type) => ({ type, path: `/proc/${targetPid}/ns/${type}` })),
    cwd: input.workdir ?? config.workingDir,
    user: { uid: creds.uid, gid: creds.gid, groups: creds.groups },
    env: withDefaults([...config.env.filter((e) => !input.env.some((o) => o.split('=')[0] === e.split('=')[0])), ...input.env], config.hostname, creds.home, input.tty),
    args: input.command,
    caps: input.resources.capsMask ?? capMask(DEFAULT_CAPS),
    noNewPrivileges: input.resources.noNewPrivileges,
    rlimits: input.resources.rlimits,
    seccomp: input.resources.seccompPath,
    ...(input.resources.seccompPath ? { seccompCache: paths.seccompCache() } : {}),
    // exec: its monitor moves the process into the container's cgroups before `pid`, as a start's
    ...(input.resources.cgroupProcs ? { cgroupProcs: input.resources.cgroupProcs } : {}),
    tty: input.tty,
    stdin: input.interactive,
    logPath: input.logPath,
  };
}
