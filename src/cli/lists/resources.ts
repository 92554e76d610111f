/** `network ls` and `volume ls`: rows as docker/cli's networkContext/volumeContext, and their filters. */
import { goTime } from '../format.js';
import { struct, type ListSpec } from '../template/index.js';
import { boolFilter, exact, invalidFilter, match, matchLabels, values, type Filters } from '../filters.js';

export const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type'] as const;
export const VOLUME_FILTERS = ['dangling', 'driver', 'label', 'name'] as const;

export const NETWORK_SPEC: ListSpec = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' },
};

export const VOLUME_SPEC: ListSpec = {
  table: 'table {{.Driver}}\t{{.Name}}',
  headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
  quiet: '{{.Name}}',
};

export interface NetworkSummary { id: string; name: string; driver: string; scope: string; internal: boolean; ipv6: boolean; labels: Record<string, string>; created: string; builtin: boolean }

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

export function filterNetworks(nets: NetworkSummary[], f: Filters): NetworkSummary[] {
  for (const t of values(f, 'type')) if (t !== 'custom' && t !== 'builtin') throw invalidFilter('type', t);
  return nets.filter((n) =>
    exact(f, 'driver', n.driver) && match(f, 'name', n.name) && match(f, 'id', n.id) && matchLabels(f, 'label', n.labels) &&
    exact(f, 'scope', n.scope) && exact(f, 'type', n.builtin ? 'builtin' : 'custom'));
}

export interface VolumeSummary { Name: string; Driver: string; Scope: string; Mountpoint: string; Labels: Record<string, string> }

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

export function filterVolumes<V extends VolumeSummary>(vols: V[], f: Filters, inUse: (name: string) => boolean): V[] {
  const dangling = boolFilter(f, 'dangling');
  return vols.filter((v) =>
    match(f, 'name', v.Name) && exact(f, 'driver', v.Driver) && matchLabels(f, 'label', v.Labels) &&
    (dangling === undefined || inUse(v.Name) !== dangling));
}
