/**
 * `inspect`: a container as JSON in Docker 20.10's shape (field names and order), where the
 * fields mean the same. The image's labels, exposed ports and volumes are merged into Config
 * as Docker does; tsdocker's own addition is `Monitor` (the native monitor's pid).
 */
import { containerFiles, type ContainerView } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { exitCodeOf } from './lifecycle.js';
import { dockerState, isPaused } from './pause.js';
import { networkSettings } from '../net/index.js';
import { plannedNetworkEntries } from '../net/settings.js';
import { inspectHostConfig, inspectMounts } from './resources.js';
import { inspectNamespaces } from './namespaces.js';
import { resolveImage, type ImageRecord } from '../image/index.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

async function imageOf(id: string): Promise<ImageRecord | undefined> {
  try {
    return await resolveImage(id);
  } catch {
    return undefined; // removed with `rmi -f`: Docker shows the container all the same
  }
}

/** The container ports of -p/--expose (plan.publish, resources.expose) as Docker's "80/tcp" keys. */
function exposedPorts(v: ContainerView, img: ImageRecord | undefined): Record<string, object> | undefined {
  if (v.config.exposedPorts) return Object.fromEntries(v.config.exposedPorts.map((k) => [k, {}])); // merged at create
  const out: Record<string, object> = { ...(img?.config.ExposedPorts ?? {}) };
  const plan = v.config.network as { publish?: { containerPort: number; proto: string }[] };
  for (const p of plan.publish ?? []) out[`${p.containerPort}/${p.proto}`] = {};
  for (const e of ((v.config.resources as { expose?: string[] }).expose ?? [])) out[e.includes('/') ? e : `${e}/tcp`] = {};
  return Object.keys(out).length ? out : undefined;
}

export async function inspectContainer(v: ContainerView): Promise<Record<string, unknown>> {
  const c = v.config;
  const dirs = containerDirs(c.id);
  const running = v.status === 'running';
  const plan = c.network as { mode?: string };
  const img = await imageOf(c.image.id);
  const exposed = exposedPorts(v, img);
  return {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: {
      Status: dockerState(v),
      Running: running,
      Paused: isPaused(v),
      Restarting: false,
      OOMKilled: v.exit?.oomKilled ?? false,
      Dead: false,
      Pid: running ? v.state!.pid : 0,
      ExitCode: running || v.status === 'created' ? 0 : exitCodeOf(v),
      Error: '',
      StartedAt: v.state?.startedAt ?? ZERO_TIME,
      FinishedAt: running ? ZERO_TIME : (v.exit?.finishedAt ?? ZERO_TIME),
    },
    Image: c.image.id,
    ResolvConfPath: dirs.resolvConf,
    HostnamePath: dirs.hostname,
    HostsPath: dirs.hosts,
    LogPath: containerFiles.log(c.id),
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      NetworkMode: plan.mode ?? 'none',
      AutoRemove: c.autoRemove,
      // the monitor writes the CRI log format (runtime/logs.ts), as /info's LoggingDriver says; docker-compose shows no logs without a type
      LogConfig: { Type: 'cri', Config: {} },
      ...(c.init ? { Init: true } : {}),
      PublishAllPorts: Boolean(c.publishAll),
      ...inspectNamespaces(c.ns),
      GroupAdd: c.groupAdd ?? null,
      Links: c.links ? c.links.map((l) => `/${l.name}:/${c.name}/${l.alias}`) : null,
      VolumesFrom: c.volumesFrom ?? null,
      ...(c.sysctls ? { Sysctls: c.sysctls } : {}),
      ...inspectHostConfig(c.resources), // resources: Docker's HostConfig fields (runtime/resources.ts)
    },
    GraphDriver: {
      Data: {
        LowerDir: (img?.layerDirs ?? []).slice().reverse().join(':'),
        MergedDir: dirs.rootfs,
        UpperDir: dirs.upper,
        WorkDir: dirs.work,
      },
      Name: 'overlay2',
    },
    Mounts: inspectMounts(c.id),
    Config: {
      Hostname: c.hostname,
      Domainname: c.domainname ?? '',
      User: c.user,
      AttachStdin: c.interactive,
      AttachStdout: false,
      AttachStderr: false,
      ...(exposed ? { ExposedPorts: exposed } : {}),
      ...(c.macAddress ? { MacAddress: c.macAddress } : {}),
      Tty: c.tty,
      OpenStdin: c.interactive,
      StdinOnce: c.interactive,
      Env: c.env,
      Cmd: c.cmd ?? c.args,
      Image: c.image.ref,
      Volumes: img?.config.Volumes ?? null,
      WorkingDir: c.workingDir,
      Entrypoint: c.entrypoint ?? null,
      OnBuild: null,
      Labels: { ...(img?.config.Labels ?? {}), ...(c.labels ?? {}) },
      ...(c.stopSignal !== undefined ? { StopSignal: c.stopSignal } : {}),
      ...(c.stopTimeout !== undefined ? { StopTimeout: c.stopTimeout } : {}),
    },
    NetworkSettings: running ? networkSettings(v.state?.network, c.id) : { ...networkSettings(undefined, c.id), Networks: plannedNetworkEntries(c.network) },
    Monitor: v.state ? { Pid: running ? v.state.monitorPid : 0 } : undefined,
  };
}
