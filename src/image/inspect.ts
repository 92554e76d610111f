/** `image inspect`: an image in Docker's shape (docker image inspect of Docker 20.10). */
import type { ImageRecord } from './ops.js';

const CONFIG_DEFAULTS = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
  Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
  WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
};

export function inspectImage(img: ImageRecord): Record<string, unknown> {
  const raw = img.imageConfig ?? {};
  const cfg = { ...CONFIG_DEFAULTS, ...((raw.config ?? {}) as Record<string, unknown>) };
  const str = (k: string): string => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests ?? [],
    Parent: '',
    Comment: str('comment'),
    Created: img.created,
    Container: str('container'),
    ContainerConfig: { ...CONFIG_DEFAULTS, ...((raw.container_config ?? {}) as Record<string, unknown>) },
    DockerVersion: str('docker_version'),
    Author: str('author'),
    Config: cfg,
    Architecture: raw.architecture ?? '',
    ...(typeof raw.variant === 'string' ? { Variant: raw.variant } : {}),
    Os: raw.os ?? 'linux',
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: { Data: { LowerDir: img.layerDirs.slice().reverse().join(':') }, Name: 'overlay2' },
    RootFS: { Type: raw.rootfs?.type ?? 'layers', Layers: img.diffIds },
    Metadata: { LastTagTime: img.loadedAt ?? '0001-01-01T00:00:00Z' },
  };
}
