/** /_ping, /version and /info, in Docker's shapes, from this host and tsdocker's state. */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { API_VERSION, MIN_API_VERSION, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import type { ServerResponse } from 'node:http';
import { rootDir } from '../state/paths.js';
import { projectDir } from '../sys/project.js';

function projectVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${projectDir()}/package.json`, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function goArch(): string {
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

async function ping(req: Request, res: ServerResponse): Promise<void> {
  const body = req.method === 'HEAD' ? '' : 'OK';
  res.writeHead(200, {
    'API-Version': API_VERSION,
    'Docker-Experimental': 'false',
    OSType: 'linux',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function versionBody(): Record<string, unknown> {
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

async function info(_req: Request, res: ServerResponse): Promise<void> {
  const { listContainers } = await import('../state/containers.js');
  const { listImages } = await import('../image/index.js');
  const { reconcile } = await import('../runtime/lifecycle.js');
  await reconcile();
  const views = await listContainers();
  const running = views.filter((v) => v.status === 'running').length;
  const images = new Set((await listImages()).map((i) => i.id)).size;
  const cgroup2 = (() => {
    try {
      readFileSync('/sys/fs/cgroup/cgroup.controllers');
      return true;
    } catch {
      return false;
    }
  })();
  sendJson(res, 200, {
    ID: '',
    Containers: views.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: views.length - running,
    Images: images,
    Driver: 'overlay2',
    DriverStatus: [],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none', 'overlay'], Authorization: null, Log: ['cri'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: readFlag('/proc/sys/net/ipv4/ip_forward'),
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    // the monitor writes the CRI log format (runtime/logs.ts), not a dockerd driver's
    LoggingDriver: 'cri',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroup2 ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSVersion: '',
    OSType: 'linux',
    Architecture: goArch() === 'amd64' ? 'x86_64' : goArch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: rootDir(),
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: projectVersion(),
    Runtimes: { tsdocker: { path: 'tsdocker' } },
    DefaultRuntime: 'tsdocker',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: ['name=seccomp,profile=default'],
    Warnings: [],
  });
}

export const systemRoutes: Route[] = [
  ['GET', /^\/_ping$/, ping],
  ['GET', /^\/version$/, async (_req, res) => sendJson(res, 200, versionBody())],
  ['GET', /^\/info$/, info],
];
