/**
 * What `info` and `version` report, in dockerd's shapes (types.Info, types.Version), from this
 * host and tsdocker's state: the one source for the CLI's `info`/`version` and the API's
 * /info and /version.
 */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { readFileSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { rootDir } from '../state/paths.js';
import { listContainers } from '../state/containers.js';
import { listImages } from '../image/index.js';
import { projectDir } from '../sys/project.js';
import { loadSettings } from '../image/registry/settings.js';
import { detectLayout } from './cgroups/layout.js';
import { isPaused } from './pause.js';
import { reconcile } from './lifecycle.js';

/** The Engine API version we serve (docker 20.10's) and the oldest we answer, as dockerd. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

export function projectVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${projectDir()}/package.json`, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[arch()] ?? arch();
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {
    /* none */
  }
  return 'Linux';
}

function readFlag(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** statfs f_type of the root directory, named as dockerd's graphdriver names it. */
function backingFs(dir: string): string {
  const names: Record<number, string> = { 0xef53: 'extfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs', 0x6969: 'nfs' };
  // the nearest directory that exists: the root is made by the first command that stores something
  for (let d = dir; ; d = dirname(d)) {
    try {
      return names[statfsSync(d).type] ?? '<unknown>';
    } catch {
      if (d === dirname(d)) return '<unknown>';
    }
  }
}

function cgroupVersion(): string {
  try {
    return detectLayout().mode === 'v2' ? '2' : '1';
  } catch {
    return '1';
  }
}

/** types.Version (GET /version; `version`'s Server section). */
export function engineVersion(): Record<string, unknown> {
  const version = projectVersion();
  const details = { ApiVersion: API_VERSION, Arch: goArch(), BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux' };
  return {
    Platform: { Name: 'tsdocker' },
    Components: [{ Name: 'Engine', Version: version, Details: details }],
    Version: version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: details.GoVersion,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

/** types.Info (GET /info; `info`'s Server section). */
export async function engineInfo(): Promise<Record<string, unknown>> {
  await reconcile();
  const views = await listContainers();
  const running = views.filter((v) => v.status === 'running');
  const paused = running.filter(isPaused).length;
  const images = new Set((await listImages()).map((i) => i.id)).size;
  let insecure: string[] = [];
  try {
    insecure = loadSettings().insecure;
  } catch {
    /* a broken daemon.json is reported by the commands that use it */
  }
  const root = rootDir();
  return {
    ID: '',
    Containers: views.length,
    ContainersRunning: running.length - paused,
    ContainersPaused: paused,
    ContainersStopped: views.length - running.length,
    Images: images,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', backingFs(root)], ['Supports d_type', 'true'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['cri'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: readFlag('/proc/sys/net/ipv4/ip_forward'),
    BridgeNfIptables: readFlag('/proc/sys/net/bridge/bridge-nf-call-iptables'),
    BridgeNfIp6tables: readFlag('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    // the monitor writes the CRI log format (runtime/logs.ts), not a dockerd driver's
    LoggingDriver: 'cri',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupVersion(),
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSVersion: '',
    OSType: 'linux',
    Architecture: goArch() === 'amd64' ? 'x86_64' : goArch() === 'arm64' ? 'aarch64' : goArch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      IndexConfigs: Object.fromEntries([
        ['docker.io', { Name: 'docker.io', Mirrors: [], Secure: true, Official: true }],
        ...insecure.filter((i) => !i.includes('/')).map((i) => [i, { Name: i, Mirrors: [], Secure: false, Official: false }]),
      ]),
      InsecureRegistryCIDRs: ['127.0.0.0/8', ...insecure.filter((i) => i.includes('/'))],
      Mirrors: [],
    },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: root,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: projectVersion(),
    Runtimes: { tsdocker: { path: 'tsd-monitor' } },
    DefaultRuntime: 'tsdocker',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: ['name=seccomp,profile=default'],
    Warnings: [],
  };
}
