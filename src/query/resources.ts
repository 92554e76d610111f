/** Which networks and volumes a list selects: Docker's filters for them. Used by `network ls`, `volume ls` and the API. */
import { boolFilter, exact, invalidFilter, match, matchLabels, values, type Filters } from './filters.js';
import { log } from '../sys/log.js';
import type { NetworkRecord } from '../net/store.js';

export const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type'] as const;
export const VOLUME_FILTERS = ['dangling', 'driver', 'label', 'name'] as const;

export interface NetworkSummary { id: string; name: string; driver: string; scope: string; internal: boolean; ipv6: boolean; labels: Record<string, string>; created: string; builtin: boolean }

export interface VolumeSummary { Name: string; Driver: string; Scope: string; Mountpoint: string; Labels: Record<string, string> }

/** Every network a list shows, sorted by name: the default bridge made if missing, a cluster's overlays synced (as last known when the store is down). */
export async function networkSummaries(): Promise<(NetworkSummary & { rec?: NetworkRecord })[]> {
  const { resolveNetwork } = await import('../net/networks.js');
  const { allNetworks } = await import('../net/settings.js');
  await resolveNetwork('bridge'); // the default network always exists, as Docker's
  const { clusterConfigured } = await import('../net/overlay/config.js');
  if (clusterConfigured()) {
    const { syncOverlayRecords } = await import('../net/overlay/cluster.js');
    await syncOverlayRecords().catch((err: Error) => log.warn(`${err.message}: overlay networks as last known`));
  }
  return allNetworks()
    .map((n) => ({ ...n, scope: n.driver === 'overlay' ? 'global' : 'local', ipv6: false }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function filterNetworks(nets: NetworkSummary[], f: Filters): NetworkSummary[] {
  for (const t of values(f, 'type')) if (t !== 'custom' && t !== 'builtin') throw invalidFilter('type', t);
  return nets.filter((n) =>
    exact(f, 'driver', n.driver) && match(f, 'name', n.name) && match(f, 'id', n.id) && matchLabels(f, 'label', n.labels) &&
    exact(f, 'scope', n.scope) && exact(f, 'type', n.builtin ? 'builtin' : 'custom'));
}

export function filterVolumes<V extends VolumeSummary>(vols: V[], f: Filters, inUse: (name: string) => boolean): V[] {
  const dangling = boolFilter(f, 'dangling');
  return vols.filter((v) =>
    match(f, 'name', v.Name) && exact(f, 'driver', v.Driver) && matchLabels(f, 'label', v.Labels) &&
    (dangling === undefined || inUse(v.Name) !== dangling));
}
