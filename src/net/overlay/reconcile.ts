/**
 * One resync of the agent: a full snapshot of the store turned into the desired kernel state
 * of this host (local network records, static FDB and neighbour entries for every remote
 * endpoint, the peer set of the VXLAN firewall, the remote names for the embedded DNS), then
 * applied as a diff. When the snapshot cannot be read (store down), nothing changes: the
 * kernel keeps forwarding what it had. A peer whose lease expired is kept while its VTEP
 * still answers (a host that only lost the store keeps working), for at most GRACE_MS.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { Etcd3 } from 'etcd3';
import { paths } from '../../state/paths.js';
import { withLock } from '../../state/lock.js';
import { writeJsonAtomicSync } from '../../sys/fs.js';
import { linkExists } from '../bridge.js';
import { NET_LOCK, listEndpoints, listNetworks, netFiles, saveNetwork, type NetworkRecord } from '../store.js';
import type { ClusterConfig } from './config.js';
import { keys, listJson, type StoreEndpoint, type StoreNetwork, type StoreNode } from './kv.js';
import { dropLocal, storeNetworks, toLocal } from './cluster.js';
import { endpointMac, programRemotes } from './vxlan.js';
import { parseIp } from '../ipv4.js';
import { programPeers, type LocalOverlay } from './peers.js';

export const GRACE_MS = 10 * 60_000;

export interface NetEndpoint {
  netId: string;
  ep: StoreEndpoint;
  /** the etcd lease the key hangs off (snapshots only) */
  lease?: string;
}

export interface Known {
  addr: string;
  /** its endpoints, as last seen while the node was registered */
  eps: NetEndpoint[];
  goneSince?: number;
}

export interface Snapshot {
  nets: StoreNetwork[];
  nodes: Map<string, StoreNode>;
  eps: NetEndpoint[];
}

export async function snapshot(c: Etcd3): Promise<Snapshot> {
  const [nets, nodes, raw] = await Promise.all([storeNetworks(c), listJson<StoreNode>(c, keys.nodes), c.getAll().prefix(keys.endpointsAll).exec()]);
  const eps: NetEndpoint[] = [];
  for (const kv of raw.kvs) {
    try {
      const ep = JSON.parse(kv.value.toString()) as StoreEndpoint;
      eps.push({ netId: kv.key.toString().slice(keys.endpointsAll.length).split('/')[0]!, ep, lease: String(kv.lease) });
    } catch {
      /* not ours */
    }
  }
  return { nets, nodes, eps };
}

/** Whether a host answers on the underlay: a TCP connect that is refused or accepted is an answer. */
export function probe(addr: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port: 9, timeout: 1000 });
    const end = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.on('connect', () => end(true));
    s.on('timeout', () => end(false));
    s.on('error', (e: NodeJS.ErrnoException) => end(e.code === 'ECONNREFUSED'));
  });
}

/** Node liveness: registered nodes are known; gone ones stay while they answer, within the grace. */
export async function updateKnown(known: Map<string, Known>, snap: Snapshot, self: string, now = Date.now(), answers = probe): Promise<void> {
  const byNode = new Map<string, NetEndpoint[]>();
  for (const e of snap.eps) byNode.set(e.ep.node, [...(byNode.get(e.ep.node) ?? []), e]);
  for (const [id, n] of snap.nodes) known.set(id, { addr: n.addr, eps: byNode.get(id) ?? [] });
  for (const [id, k] of known) {
    if (snap.nodes.has(id) || id === self) continue;
    k.goneSince ??= now;
    if (now - k.goneSince > GRACE_MS || !(await answers(k.addr))) known.delete(id);
  }
}

/** Apply one snapshot to this host. Returns the number of kernel entries written. */
export async function apply(cfg: ClusterConfig, snap: Snapshot, known: Map<string, Known>): Promise<number> {
  await withLock(NET_LOCK, async () => {
    const local = listNetworks();
    for (const s of snap.nets) if (!local.some((n) => n.id === s.id)) saveNetwork(toLocal(s));
    for (const n of local) if (n.driver === 'overlay' && !snap.nets.some((s) => s.id === n.id)) await dropLocal(n);
  });
  let written = 0;
  const ports: number[] = [];
  const nets: LocalOverlay[] = [];
  for (const net of listNetworks().filter((n) => n.driver === 'overlay')) {
    if (!(await linkExists(net.vxlan!))) continue;
    ports.push(net.vxlanPort!);
    nets.push({ bridge: net.bridge, subnet: net.subnet, gateway: net.gateway });
    const remote: StoreEndpoint[] = [];
    for (const [id, k] of known) if (id !== cfg.nodeId) remote.push(...k.eps.filter((e) => e.netId === net.id).map((e) => e.ep));
    written += await programRemotes(net.vxlan!, remote.filter(wellFormed).map((e) => ({ ip: e.ip, mac: e.mac, vtep: e.vtep })));
    mirrorRemote(net, remote.filter(wellFormed));
  }
  const peers = [...known.entries()].filter(([id]) => id !== cfg.nodeId).map(([, k]) => k.addr).filter((a) => parseIp(a) !== undefined);
  if (ports.length) await programPeers(peers, ports, nets);
  return written;
}

/** Store values go into `ip`/`bridge` batch lines: only well-formed addresses get there. */
export function wellFormed(e: StoreEndpoint): boolean {
  return parseIp(e.ip) !== undefined && parseIp(e.vtep) !== undefined && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(e.mac) && /^[0-9a-f]{64}$/.test(e.containerId);
}

/** networks/<id>/remote/<ctr>.json: what the embedded DNS answers for containers on other hosts. */
function mirrorRemote(net: NetworkRecord, remote: StoreEndpoint[]): void {
  const dir = netFiles.remote(net.id);
  mkdirSync(dir, { recursive: true });
  const want = new Set(remote.map((e) => `${e.containerId}.json`));
  for (const e of remote) {
    writeJsonAtomicSync(join(dir, `${e.containerId}.json`), { containerId: e.containerId, name: e.name, aliases: e.aliases, ip: e.ip, ifname: 'eth0', hostIfname: '', host: e.vtep });
  }
  for (const f of readdirSync(dir)) if (!want.has(f)) rmSync(join(dir, f), { force: true });
}

/** This host's own keys that no local container backs any more (a release that met a store outage). */
export function orphans(cfg: ClusterConfig, snap: Snapshot): string[] {
  const out: string[] = [];
  for (const { netId, ep: e } of snap.eps) {
    if (e.node !== cfg.nodeId) continue;
    const local = listEndpoints(netId).some((x) => x.containerId === e.containerId) && existsSync(paths.container(e.containerId));
    if (!local) out.push(keys.endpoint(netId, e.containerId), keys.ipam(netId, e.ip));
  }
  return out;
}

/** This host's endpoints that the store lacks (a new lease, or a store that lost its data). */
export function ownEndpoints(cfg: ClusterConfig): NetEndpoint[] {
  const out: NetEndpoint[] = [];
  for (const n of listNetworks().filter((x) => x.driver === 'overlay')) {
    for (const e of listEndpoints(n.id)) {
      if (!existsSync(paths.container(e.containerId))) continue;
      out.push({ netId: n.id, ep: { containerId: e.containerId, name: e.name, aliases: e.aliases, ip: e.ip, mac: endpointMac(e.ip), node: cfg.nodeId, vtep: cfg.advertise } });
    }
  }
  return out;
}
