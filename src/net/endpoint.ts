/**
 * One container on one bridge network: lease, record, veth, DNS. Used by attachNetwork
 * (eth0 at start) and by `network connect` (eth1, eth2, ... on a running container). Setup
 * registers its undo; teardown by (container, network) works from derived names alone, so
 * it needs no saved state and succeeds when the namespace or the veth are already gone.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLock } from '../state/lock.js';
import { createUndoStack } from '../sys/undo.js';
import { log } from '../sys/log.js';
import { mark } from '../sys/trace.js';
import { attachVeth, deleteLink, hostIfname, linkExists } from './bridge.js';
import { allocate, release } from './ipam.js';
import { allowBridgeThroughForward } from './compat.js';
import { ensureDns } from './dns.js';
import { defaultNetworkLocked, ensureInfra } from './networks.js';
import { DEFAULT_NETWORK, NET_LOCK, findNetwork, listNetworks, netFiles, removeEndpoint, saveEndpoint, type NetworkRecord } from './store.js';

const elog = log.child({ mod: 'net.endpoint' });

export interface EndpointState {
  network: string;
  networkId: string;
  ifname: string;
  hostIfname: string;
  ip: string;
  prefix: number;
  gateway: string;
  bridge: string;
  aliases: string[];
}

export interface EndpointRequest {
  containerId: string;
  containerName: string;
  pid: number;
  network: string;
  ifname: string;
  ip?: string;
  aliases: string[];
  defaultRoute: boolean;
  /** --dns servers: the embedded DNS forwards this container's other queries to them first */
  dns: string[];
}

/** Under the net lock: the network (default created on first use), its infrastructure, a lease, the record. */
async function reserve(req: EndpointRequest): Promise<{ net: NetworkRecord; ip: string; hostIf: string; existed: boolean }> {
  return withLock(NET_LOCK, async () => {
    const net = req.network === DEFAULT_NETWORK ? await defaultNetworkLocked() : findNetwork(req.network);
    const existed = await linkExists(net.bridge);
    if (!existed) await ensureInfra(net, true);
    const hostIf = hostIfname(req.containerId, net.id);
    const ip = allocate(net, req.containerId, req.ifname, req.ip);
    saveEndpoint(net.id, {
      containerId: req.containerId,
      name: req.containerName,
      aliases: req.aliases,
      ip,
      ifname: req.ifname,
      hostIfname: hostIf,
      ...(req.dns.length ? { dns: req.dns } : {}),
    });
    return { net, ip, hostIf, existed };
  });
}

export async function attachEndpoint(req: EndpointRequest): Promise<EndpointState> {
  const undo = createUndoStack();
  try {
    const { net, ip, hostIf, existed } = await reserve(req);
    mark('net: address leased');
    undo.push(`release ${net.name} endpoint`, () => releaseEndpoint(req.containerId, net.id));
    // Docker may have started since the bridge was made: its FORWARD policy DROP is checked
    // per attach (an iptables run, ~4 ms), while the veth is wired, both before the container runs
    const [veth, forward] = await Promise.allSettled([
      attachVeth({ pid: req.pid, net, hostIf, ifname: req.ifname, ip, defaultRoute: req.defaultRoute }),
      existed ? allowBridgeThroughForward(net.bridge) : undefined,
    ]);
    if (veth.status === 'rejected') throw veth.reason;
    if (forward.status === 'rejected') throw forward.reason;
    mark('net: veth attached');
    if (net.dns) await ensureDns(net.gateway);
    undo.clear();
    return {
      network: net.name,
      networkId: net.id,
      ifname: req.ifname,
      hostIfname: hostIf,
      ip,
      prefix: Number(net.subnet.split('/')[1]),
      gateway: net.gateway,
      bridge: net.bridge,
      aliases: req.aliases,
    };
  } catch (err) {
    await undo.run(elog);
    throw err;
  }
}

/** Veth, lease, record of (container, network). Idempotent. */
export async function releaseEndpoint(containerId: string, netId: string, containerGone = false): Promise<void> {
  await deleteLink(hostIfname(containerId, netId), containerGone);
  await withLock(NET_LOCK, async () => {
    release(netId, containerId);
    await removeEndpoint(netId, containerId);
  });
}

/** Every network on which `containerId` holds a lease or an endpoint record (found by scanning: no state needed). */
export function networksOf(containerId: string): NetworkRecord[] {
  return listNetworks().filter((n) => existsSync(netFiles.endpoint(n.id, containerId)) || hasLease(n.id, containerId));
}

function hasLease(netId: string, ctr: string): boolean {
  try {
    return readdirSync(netFiles.leases(netId))
      .filter((f) => !f.startsWith('.'))
      .some((f) => readFileSync(join(netFiles.leases(netId), f), 'utf8').startsWith(`${ctr}\n`));
  } catch {
    return false;
  }
}

/** Rewrite the container's /etc/hosts in place (the bind mount shows the same inode). */
export function rewriteContainerFile(containerId: string, name: 'hosts' | 'resolv.conf', content: string): void {
  const path = netFiles.containerFile(containerId, name);
  if (existsSync(path)) writeFileSync(path, content);
}
