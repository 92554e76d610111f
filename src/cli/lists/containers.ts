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
 * Each field is a getter: a row computes only what the format shows (ps's table reads no
 * mount record, no label, no creation time in Go's form), and `{{json .}}` still gets them all.
 */
export function containerRow(v: ContainerView, trunc: boolean, size?: { rw: number; rootFs: number }) {
  const c = v.config;
  let mountList: ReturnType<typeof inspectMounts> | undefined;
  const mounts = () => (mountList ??= inspectMounts(c.id));
  const labels = c.labels ?? {};
  return struct('*formatter.containerContext', {
    get Command() {
      const command = [c.path, ...c.args].join(' ');
      return JSON.stringify(trunc ? truncate(command, 20) : command);
    },
    get CreatedAt() {
      return goTime(c.created);
    },
    ID: trunc ? c.id.slice(0, 12) : c.id,
    Image: c.image.ref,
    get Labels() {
      return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
    },
    get LocalVolumes() {
      return String(mounts().filter((m) => m.Type === 'volume').length);
    },
    get Mounts() {
      return mounts().map((m) => (trunc ? truncate(m.Name ?? m.Source, 15) : (m.Name ?? m.Source))).join(',');
    },
    Names: c.name,
    get Networks() {
      return containerNetworks(v).join(',');
    },
    get Ports() {
      return v.status === 'running' ? portsColumn(c.exposedPorts ?? [], publishedPorts(v) as PublishedPort[]) : '';
    },
    get RunningFor() {
      return ago(c.created);
    },
    Size: size ? (size.rootFs > 0 ? `${humanSize(size.rw)} (virtual ${humanSize(size.rootFs)})` : humanSize(size.rw)) : '0B',
    get State() {
      return dockerState(v);
    },
    get Status() {
      return statusText(v);
    },
    Label: (name: string) => labels[name] ?? '',
  });
}
