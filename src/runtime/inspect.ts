/** `inspect`: a container as JSON shaped like Docker's, where the fields mean the same. */
import { containerFiles, type ContainerView } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { exitCodeOf } from './lifecycle.js';
import { networkSettings } from '../net/index.js';
import { inspectHostConfig, inspectMounts } from './resources.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function inspectContainer(v: ContainerView): Record<string, unknown> {
  const c = v.config;
  const dirs = containerDirs(c.id);
  const running = v.status === 'running';
  const plan = c.network as { mode?: string };
  return {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: {
      Status: v.status,
      Running: running,
      Paused: false,
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
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      NetworkMode: plan.mode ?? 'none',
      AutoRemove: c.autoRemove,
      ...inspectHostConfig(c.resources), // resources: Docker's HostConfig fields (runtime/resources.ts)
    },
    Mounts: inspectMounts(c.id),
    Config: {
      Hostname: c.hostname,
      User: c.user,
      Tty: c.tty,
      OpenStdin: c.interactive,
      Env: c.env,
      Cmd: c.cmd ?? c.args,
      Entrypoint: c.entrypoint ?? null,
      WorkingDir: c.workingDir,
      Image: c.image.ref,
      Labels: c.labels ?? {},
    },
    NetworkSettings: networkSettings(running ? v.state?.network : undefined),
    Monitor: v.state ? { Pid: running ? v.state.monitorPid : 0 } : undefined,
  };
}
