/**
 * The overlay's cluster-wide objects, from the CLI's side: create and remove a network,
 * allocate and release an address, mirror the store's networks into local records (so
 * `network ls`, DNS and the endpoint code see them as any other network). Every write that
 * two hosts could race for is one etcd transaction with a compare: the loser retries
 * against the new state and then fails with the same error a single host would give.
 */
import type { Etcd3 } from 'etcd3';
import { TsdError } from '../../sys/errors.js';
import { log } from '../../sys/log.js';
import { withLock } from '../../state/lock.js';
import { formatIp, first, last, parseCidr, parseIp } from '../ipv4.js';
import { usable } from '../ipam.js';
import { NET_LOCK, deleteNetworkRecord, listNetworks, saveNetwork, shortHash, type NetworkRecord } from '../store.js';
import { linkExists } from '../bridge.js';
import { requireCluster, type ClusterConfig } from './config.js';
import { keys, listJson, withStore, type StoreEndpoint, type StoreNetwork, type StoreNode } from './kv.js';
import { endpointMac, overlayBridgeName, vxlanName } from './vxlan.js';
import { agentLease } from './agentctl.js';
import type { CreateOptions } from '../networks.js';

const olog = log.child({ mod: 'net.overlay' });

/** The local record of a store network (its MTU is this host's: set when its links are made). */
export function toLocal(s: StoreNetwork, mtu = s.mtu ?? 0): NetworkRecord {
  return {
    id: s.id,
    name: s.name,
    driver: 'overlay',
    created: s.created,
    subnet: s.subnet,
    gateway: s.gateway,
    internal: s.internal,
    mtu,
    bridge: overlayBridgeName(s.id),
    dns: true,
    options: s.options,
    labels: s.labels,
    vni: s.vni,
    vxlanPort: s.vxlanPort,
    vxlan: vxlanName(s.id),
    ...(s.mtu ? { mtuFixed: true } : {}),
  };
}

function toStore(r: NetworkRecord): StoreNetwork {
  return {
    id: r.id,
    name: r.name,
    created: r.created,
    subnet: r.subnet,
    gateway: r.gateway,
    internal: r.internal,
    vni: r.vni!,
    vxlanPort: r.vxlanPort!,
    ...(r.mtuFixed ? { mtu: r.mtu } : {}),
    options: r.options,
    labels: r.labels,
  };
}

export async function storeNetworks(c: Etcd3): Promise<StoreNetwork[]> {
  return [...(await listJson<StoreNetwork>(c, keys.networks)).values()];
}

/** `network create -d overlay`: validated against every network of the cluster and this host's. */
export async function createOverlayNetwork(o: CreateOptions): Promise<NetworkRecord> {
  const cfg = requireCluster();
  const { buildRecord } = await import('../networks.js');
  const { hostRoutes } = await import('../pool.js');
  const routes = o.subnet ? [] : await hostRoutes();
  const rec = await withStore(cfg, `creating network ${o.name}`, async (c) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const rev = (await c.get(keys.networksRev).exec()).kvs[0]?.version ?? '0';
      const cluster = await storeNetworks(c);
      const existing = [...listNetworks().filter((n) => n.driver !== 'overlay'), ...cluster.map((s) => toLocal(s))];
      const r = buildRecord(o, existing, routes);
      if (o.options?.['vni'] === undefined) {
        const used = new Set(cluster.map((s) => s.vni));
        let v = 4096;
        while (used.has(v)) v++;
        r.vni = v;
      } else if (cluster.some((s) => s.vni === r.vni)) {
        throw new TsdError('NETWORK_INVALID', `VXLAN id ${r.vni} is already used by network ${cluster.find((s) => s.vni === r.vni)!.name}`, { hint: 'choose another -o vni=N, or leave it out' });
      }
      const txn = await c
        .if(keys.networksRev, 'Version', '==', Number(rev))
        .and(keys.network(r.name), 'Create', '==', 0)
        .and(keys.vni(r.vni!), 'Create', '==', 0)
        .then(
          c.put(keys.network(r.name)).value(JSON.stringify(toStore(r))),
          c.put(keys.vni(r.vni!)).value(r.id),
          c.put(keys.networksRev).value(r.id),
        )
        .commit();
      if (txn.succeeded) return r;
      olog.debug({ attempt }, 'network create raced with another: retrying against the new state');
    }
    throw new TsdError('CLUSTER_STORE', `creating network ${o.name}: the cluster store kept changing`, { hint: 'try again' });
  });
  await withLock(NET_LOCK, async () => saveNetwork(rec));
  return rec;
}

/** `network rm` of an overlay: refused while a live host has containers on it. Caller holds no lock. */
export async function removeOverlayNetwork(net: NetworkRecord): Promise<void> {
  const cfg = requireCluster();
  await withStore(cfg, `removing network ${net.name}`, async (c) => {
    const rev = Number((await c.get(keys.epsRev(net.id)).exec()).kvs[0]?.version ?? 0);
    const eps = await listJson<StoreEndpoint>(c, keys.endpointsOf(net.id));
    const nodes = await listJson<StoreNode>(c, keys.nodes);
    const live = [...eps.values()].filter((e) => nodes.has(e.node));
    if (live.length) {
      throw new TsdError(
        'NETWORK_IN_USE',
        `error while removing network: network ${net.name} id ${net.id} has active endpoints (${live.map((e) => `name:"${e.name}" host:${e.vtep}`).join(', ')})`,
        { hint: 'stop or disconnect those containers first, on the hosts named' },
      );
    }
    const txn = await c
      .if(keys.network(net.name), 'Create', '>', 0)
      .and(keys.epsRev(net.id), 'Version', '==', rev)
      .then(
        c.delete().key(keys.network(net.name)),
        c.delete().key(keys.epsRev(net.id)),
        c.delete().key(keys.vni(net.vni!)),
        c.delete().prefix(keys.ipamOf(net.id)),
        c.delete().prefix(keys.endpointsOf(net.id)),
        c.put(keys.networksRev).value(`-${net.id}`),
      )
      .commit();
    if (!txn.succeeded && (await c.get(keys.network(net.name)).exists())) {
      throw new TsdError('NETWORK_IN_USE', `network ${net.name}: a container joined it on another host meanwhile`, { hint: 'see `tsdocker network inspect`, then try again' });
    }
  });
  await withLock(NET_LOCK, () => dropLocal(net));
}

/** This host's links, rules and record of an overlay network that the cluster no longer has. Caller holds the lock. */
export async function dropLocal(net: NetworkRecord): Promise<void> {
  const { teardownInfra } = await import('../networks.js');
  if (await linkExists(net.bridge)) {
    const others = listNetworks().filter((n) => n.id !== net.id);
    const remaining = (await Promise.all(others.map((n) => linkExists(n.bridge)))).filter(Boolean).length;
    await teardownInfra(net, remaining, true);
  }
  await deleteNetworkRecord(net.id);
}

/** Local records follow the store: new networks appear, removed ones go (with their links). */
export async function syncOverlayRecords(cfg: ClusterConfig = requireCluster(), ms?: number): Promise<void> {
  const cluster = await withStore(cfg, 'listing overlay networks', storeNetworks, ms);
  await withLock(NET_LOCK, async () => {
    const local = listNetworks();
    for (const s of cluster) {
      const cur = local.find((n) => n.id === s.id);
      if (!cur) saveNetwork(toLocal(s));
    }
    for (const n of local) if (n.driver === 'overlay' && !cluster.some((s) => s.id === n.id)) await dropLocal(n);
  });
}

function poolSize(net: NetworkRecord): { lo: number; hi: number } {
  const c = parseCidr(net.subnet)!;
  return { lo: first(c), hi: last(c) };
}

/** An address for the container, cluster-wide unique: one create-if-absent transaction per try. */
export async function allocateAddress(net: NetworkRecord, req: { containerId: string; containerName: string; ip?: string; aliases: string[] }): Promise<string> {
  const cfg = requireCluster();
  return withStore(
    cfg,
    `allocating an address on ${net.name}`,
    async (c) => {
      const taken = new Set(await c.getAll().prefix(keys.ipamOf(net.id)).keys().then((ks) => ks.map((k) => k.slice(keys.ipamOf(net.id).length))));
      const lease = await agentLease(cfg);
      const pool = { subnet: parseCidr(net.subnet)!, range: parseCidr(net.subnet)!, gateway: parseIp(net.gateway)! };
      const { lo, hi } = poolSize(net);
      const total = hi - lo + 1;
      // hosts start at different points of the pool: concurrent starts on several hosts rarely meet
      const start = parseInt(shortHash(`${cfg.nodeId}:${req.containerId}`, 6), 16) % total;
      const candidates = function* (): Generator<string> {
        if (req.ip !== undefined) {
          yield req.ip;
          return;
        }
        for (let i = 0; i < total; i++) {
          const ip = lo + ((start + i) % total);
          if (usable(pool, ip) && !taken.has(formatIp(ip))) yield formatIp(ip);
        }
      };
      for (const ip of candidates()) {
        const ep: StoreEndpoint = { containerId: req.containerId, name: req.containerName, aliases: req.aliases, ip, mac: endpointMac(ip), node: cfg.nodeId, vtep: cfg.advertise };
        const txn = await c
          .if(keys.ipam(net.id, ip), 'Create', '==', 0)
          .and(keys.network(net.name), 'Create', '>', 0)
          .then(
            c.put(keys.ipam(net.id, ip)).value(JSON.stringify({ node: cfg.nodeId, containerId: req.containerId })).lease(lease),
            c.put(keys.endpoint(net.id, req.containerId)).value(JSON.stringify(ep)).lease(lease),
            c.put(keys.epsRev(net.id)).value(req.containerId),
          )
          .commit();
        if (txn.succeeded) return ip;
        if (!(await c.get(keys.network(net.name)).exists())) {
          throw new TsdError('NETWORK_NOT_FOUND', `network ${net.name} not found: it was removed from the cluster`, { hint: 'see `tsdocker network ls`' });
        }
        if (req.ip !== undefined) {
          throw new TsdError('NETWORK_INVALID', `Address already in use: ${req.ip} on network ${net.name}`, { hint: 'choose another --ip, or leave it out to get a free address' });
        }
      }
      throw new TsdError('IPAM_EXHAUSTED', `no available IPv4 addresses on this network's address pools: ${net.name} (${net.subnet})`, {
        hint: 'remove containers from the network, or create a network with a larger --subnet',
      });
    },
    8000,
  );
}

/** The container's address and endpoint keys go; when the store is down they go with this host's lease or the agent's clean-up. */
export async function releaseAddress(net: NetworkRecord, containerId: string): Promise<void> {
  try {
    const cfg = requireCluster();
    await withStore(cfg, `releasing an address on ${net.name}`, async (c) => {
      const ep = await c.get(keys.endpoint(net.id, containerId)).json() as StoreEndpoint | null;
      const own = [...(await listJson<{ containerId: string }>(c, keys.ipamOf(net.id))).entries()].filter(([, v]) => v.containerId === containerId).map(([ip]) => ip);
      const ips = new Set([...own, ...(ep ? [ep.ip] : [])]);
      await c.if(keys.endpoint(net.id, containerId), 'Version', '>', -1).then(c.delete().key(keys.endpoint(net.id, containerId)), ...[...ips].map((ip) => c.delete().key(keys.ipam(net.id, ip)))).commit();
    });
  } catch (err) {
    olog.warn(`${(err as Error).message}; the address is released by this host's agent once the store is back`);
  }
}
