/**
 * What `network inspect` adds for an overlay (scope, VNI, port, this host's MTU, the peers and
 * the endpoints on each host) and `tsdocker node ls`. When the store is unreachable, inspect
 * shows what this host knows and says so.
 */
import { parseCidr } from '../ipv4.js';
import type { NetworkRecord } from '../store.js';
import { requireCluster } from './config.js';
import { keys, listJson, withStore, type StoreEndpoint, type StoreNode } from './kv.js';

export async function overlayInspect(net: NetworkRecord): Promise<Record<string, unknown>> {
  const cfg = requireCluster();
  const base = { Scope: 'global', VNI: net.vni, VXLANPort: net.vxlanPort, MTU: net.mtu || undefined };
  try {
    const { eps, nodes } = await withStore(cfg, `inspecting ${net.name}`, async (c) => ({
      eps: [...(await listJson<StoreEndpoint>(c, keys.endpointsOf(net.id))).values()],
      nodes: await listJson<StoreNode>(c, keys.nodes),
    }), 3000);
    const prefix = parseCidr(net.subnet)!.prefix;
    const peers = [...nodes.entries()]
      .filter(([id]) => eps.some((e) => e.node === id))
      .map(([id, n]) => ({ Name: id, IP: n.addr, Self: id === cfg.nodeId, Endpoints: eps.filter((e) => e.node === id).length }));
    const remote = Object.fromEntries(
      eps.filter((e) => e.node !== cfg.nodeId).map((e) => [e.containerId, { Name: e.name, IPv4Address: `${e.ip}/${prefix}`, MacAddress: e.mac, Aliases: e.aliases, Host: e.vtep }]),
    );
    return { ...base, Peers: peers, RemoteContainers: remote };
  } catch (err) {
    return { ...base, Peers: null, StoreError: (err as Error).message };
  }
}

export interface NodeRow {
  id: string;
  addr: string;
  state: 'ready' | 'stale' | 'gone';
  lastSeen: string;
  endpoints: number;
  mtu: number;
  self: boolean;
}

/** Hosts the store knows: registered (ready, or stale when its heartbeat is late) or gone. */
export async function listNodes(now = Date.now()): Promise<NodeRow[]> {
  const cfg = requireCluster();
  return withStore(cfg, 'listing nodes', async (c) => {
    const [nodes, seen, eps] = await Promise.all([
      listJson<StoreNode>(c, keys.nodes),
      listJson<StoreNode>(c, keys.seens),
      listJson<StoreEndpoint>(c, keys.endpointsAll),
    ]);
    const rows: NodeRow[] = [];
    for (const [id, s] of seen) {
      const n = nodes.get(id);
      const last = n?.lastSeen ?? s.lastSeen;
      const state = !n ? 'gone' : now - Date.parse(last) > 20_000 ? 'stale' : 'ready';
      rows.push({ id, addr: (n ?? s).addr, state, lastSeen: last, endpoints: [...eps.values()].filter((e) => e.node === id).length, mtu: (n ?? s).mtu, self: id === cfg.nodeId });
    }
    return rows.sort((a, b) => a.addr.localeCompare(b.addr, 'en', { numeric: true }));
  });
}
