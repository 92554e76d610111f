/** `network ls` and `volume ls`: rows as docker/cli's networkContext/volumeContext; their filters are src/query/resources.ts. */
import { goTime } from '../format.js';
import { struct, type ListSpec } from '../template/index.js';
import type { NetworkSummary, VolumeSummary } from '../../query/resources.js';

export const NETWORK_SPEC: ListSpec = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
};

export const VOLUME_SPEC: ListSpec = {
  table: 'table {{.Driver}}\t{{.Name}}',
  headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
  quiet: '{{.Name}}',
};

const joinLabels = (l: Record<string, string>) => Object.keys(l).sort().map((k) => `${k}=${l[k]}`).join(',');

export function networkRow(n: NetworkSummary, trunc: boolean) {
  return struct('*formatter.networkContext', {
    CreatedAt: goTime(n.created),
    Driver: n.driver,
    ID: trunc ? n.id.slice(0, 12) : n.id,
    IPv6: String(n.ipv6),
    Internal: String(n.internal),
    Labels: joinLabels(n.labels),
    Name: n.name,
    Scope: n.scope,
    Label: (k: string) => n.labels[k] ?? '',
  });
}

export function volumeRow(v: VolumeSummary) {
  return struct('*formatter.volumeContext', {
    Driver: v.Driver,
    Labels: joinLabels(v.Labels ?? {}),
    Links: 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: 'N/A',
    Label: (k: string) => v.Labels?.[k] ?? '',
  });
}

