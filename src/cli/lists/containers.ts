/**
 * `ps`: its rows as docker/cli's containerContext (the fields a --format template sees, and
 * `{{json .}}`); which containers it lists is src/query/containers.ts.
 */
import { goTime, humanSize, truncate } from '../format.js';
import { struct, type ListSpec } from '../template/index.js';
import { ago } from '../../query/human.js';
import { containerNetworks, publishedPorts, statusText } from '../../query/containers.js';
import type { ContainerView } from '../../state/containers.js';
import { dockerState } from '../../runtime/pause.js';
import { inspectMounts } from '../../runtime/resources.js';
import { portsColumn } from '../../net/expose.js';
import type { PublishedPort } from '../../net/ports.js';

export const PS_SPEC: ListSpec = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  headers: {
    ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
    Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Names: 'NAMES',
  },
};

/**
 * docker/cli's containerContext for one container. `size` (ps -s): the writable layer's bytes and, with the image's, the virtual size; without it Size is 0B, as docker's ps.
 */
export function containerRow(v: ContainerView, trunc: boolean, size?: { rw: number; rootFs: number }) {
  const c = v.config;
  const mounts = inspectMounts(c.id);
  const labels = c.labels ?? {};
  const command = [c.path, ...c.args].join(' ');
  return struct('*formatter.containerContext', {
    Command: JSON.stringify(trunc ? truncate(command, 20) : command),
    CreatedAt: goTime(c.created),
    ID: trunc ? c.id.slice(0, 12) : c.id,
    Image: c.image.ref,
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    LocalVolumes: String(mounts.filter((m) => m.Type === 'volume').length),
    Mounts: mounts.map((m) => (trunc ? truncate(m.Name ?? m.Source, 15) : (m.Name ?? m.Source))).join(','),
    Names: c.name,
    Networks: containerNetworks(v).join(','),
    Ports: v.status === 'running' ? portsColumn(c.exposedPorts ?? [], publishedPorts(v) as PublishedPort[]) : '',
    RunningFor: ago(c.created),
    Size: size ? (size.rootFs > 0 ? `${humanSize(size.rw)} (virtual ${humanSize(size.rootFs)})` : humanSize(size.rw)) : '0B',
    State: dockerState(v),
    Status: statusText(v),
    Label: (name: string) => labels[name] ?? '',
  });
}

