/**
 * One container on one bridge network: lease, record, veth, DNS. Used by attachNetwork
 * (eth0 at start) and by `network connect` (eth1, eth2, ... on a running container). Setup
 * registers its undo; teardown by (container, network) works from derived names alone, so
 * it needs no saved state and succeeds when the namespace or the veth are already gone.
 */
import { emit } from '../state/events.js';
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { withLock } from '../state/lock.js';
import { createUndoStack } from '../sys/undo.js';
import { log } from '../sys/log.js';
import { mark } from '../sys/trace.js';
import { hostIfname, linkExists } from './bridge.js';
import { driverOf } from './drivers/index.js';
import { allocate, release } from './ipam.js';
import { dropGuard, macFor } from './guard.js';
import { allowBridgeThroughForward } from './compat.js';
import { hasJoiners } from './joined.js';
import { ensureDns } from './dns.js';
import { defaultNetworkLocked, ensureInfra, liveEndpoints, othersInUse } from './networks.js';
import { bindPortRepairing, rebuildAll, repairNetworkLocked } from './reload.js';
import { tablesPresent } from './nft.js';
import type { ContainerPorts } from './dnat.js';
import { DEFAULT_NETWORK, NET_LOCK, findNetwork, listNetworks, netFiles, readEndpoint, removeEndpoint, saveEndpoint, type NetworkRecord } from './store.js';
import { TsdError, isErrno } from '../sys/errors.js';

const elog = log.child({ mod: 'net.endpoint' });

export interface EndpointState {
  network: string;
  networkId: string;
  ifname: string;
  hostIfname: string;
  ip: string;
  mac: string;
  prefix: number;
  gateway: string;
  /** a default route via `gateway` (false: an internal network, or not the first endpoint) */
  defaultRoute?: boolean;
  bridge: string;
  aliases: string[];
}

export interface EndpointRequest {
  containerId: string;
  containerName: string;
  pid: number;
  network: string;
  /**
   * eth0 at start; absent for `network connect`: then, under the lock, the container must not
   * be on the network yet (or being connected to it), and the next free ethN is chosen
   */
  ifname?: string;
  ip?: string;
  aliases: string[];
  defaultRoute: boolean;
  /**
   * the container already runs (`network connect`): its new interface goes up only after the
   * binding is in place; at start it runs nothing before 'go', so the two need not wait
   */
  running?: boolean;
  /** --dns servers: the embedded DNS forwards this container's other queries to them first */
  dns: string[];
  /** --mac-address (default: 02:42 and the IPv4 address, as Docker) */
  mac?: string;
}

interface Reserved {
  net: NetworkRecord;
  ip: string;
  ifname: string;
  hostIf: string;
  existed: boolean;
  /** tsdocker's tables were found gone: everything is rebuilt once the lock is released */
  tablesGone: boolean;
}

/**
 * `network connect`: the check that the container is not on the network yet and the choice of
 * its interface name, under the lock (a connect's record is written under it too), so two
 * concurrent connects neither both pass nor pick the same ethN.
 */
function connectIfname(net: NetworkRecord, req: EndpointRequest): string {
  if (readEndpoint(net.id, req.containerId)) {
    throw new TsdError('NETWORK_EXISTS', `endpoint with name ${req.containerName} already exists in network ${net.name}`);
  }
  const used = new Set(listNetworks().map((n) => readEndpoint(n.id, req.containerId)?.ifname));
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** Under the net lock: the network (default created on first use), its infrastructure, a lease, the record. */
async function reserve(req: EndpointRequest): Promise<Reserved> {
  return withLock(NET_LOCK, async () => {
    const net = req.network === DEFAULT_NETWORK ? await defaultNetworkLocked() : findNetwork(req.network);
    const ifname = req.ifname ?? connectIfname(net, req);
    const existed = await linkExists(net.bridge);
    let tablesGone = false;
    if (!existed) {
      // a bridge to make (its first use, or it was removed): when containers use this network or
      // another, the tables must be there; recreated here they would hold this network's rules alone
      const others = liveEndpoints(net.id).some((e) => e.containerId !== req.containerId);
      if ((others || (await othersInUse(net))) && !(await tablesPresent())) tablesGone = true;
      else if (others) {
        // the bridge went behind tsdocker's back while containers use it: put them back on it
        elog.warn(`bridge ${net.bridge} of network ${net.name} was removed outside tsdocker: recreating it with its containers, as \`tsdocker network reload\` does`);
        await repairNetworkLocked(net, true);
      } else await ensureInfra(net, true);
    }
    const hostIf = hostIfname(req.containerId, net.id);
    const driver = driverOf(net);
    // a driver that allocates (the overlay: cluster-wide) picks the address; the local lease records it
    const picked = driver.allocate ? await driver.allocate(net, { ...req, ifname }) : req.ip;
    let ip: string;
    try {
      ip = allocate(net, req.containerId, ifname, picked);
    } catch (err) {
      if (driver.allocate) await driver.release?.(net, req.containerId);
      throw err;
    }
    saveEndpoint(net.id, {
      containerId: req.containerId,
      name: req.containerName,
      aliases: req.aliases,
      ip,
      mac: req.mac ?? macFor(ip),
      ifname,
      hostIfname: hostIf,
      ...(req.dns.length ? { dns: req.dns } : {}),
    });
    return { net, ip, ifname, hostIf, existed, tablesGone };
  });
}

/** The caller's rules for the endpoint's transaction, given the leased address: the container's published ports. */
export type EndpointRules = (ip: string) => Promise<ContainerPorts | undefined>;

export async function attachEndpoint(req: EndpointRequest, moreRules?: EndpointRules): Promise<EndpointState> {
  const undo = createUndoStack();
  try {
    const { net, ip, ifname, hostIf, existed, tablesGone } = await reserve(req);
    mark('net: address leased');
    undo.push(`release ${net.name} endpoint`, () => unreserve(req.containerId, net.id, ifname, ip));
    if (tablesGone) await rebuildAll(); // this network's bridge too: its endpoint record is written
    const mac = req.mac ?? macFor(ip);
    // one transaction of our own, with no libnftables: the port's binding to (MAC, IP) and the
    // caller's published ports, while the veth is made
    const guarded = { net, hostIf, ip, mac };
    const ports = moreRules ? await moreRules(ip) : undefined;
    const batch = bindPortRepairing(guarded, ports);
    // in process: its own trace step, as the nft process it replaced was seen
    const firewall = batch.then((seen) => {
      mark('net: firewall applied');
      return seen;
    });
    // Docker may have started since the bridge was made: its FORWARD policy DROP is checked
    // while the veth is wired, both before the container runs; only when the nf_tables
    // generation moved since the last check (compat.ts), so after our own batch, which is
    // then the only change and keeps the recorded check valid
    const driver = driverOf(net);
    const [fw, veth, forward] = await Promise.allSettled([
      firewall,
      driver.attach(net, { containerId: req.containerId, pid: req.pid, hostIf, ifname, ip, mac, defaultRoute: req.defaultRoute, ...(req.running ? { beforeUp: firewall } : { byInit: true }) }),
      existed && driver.traits.hostFirewall ? firewall.then((seen) => allowBridgeThroughForward(net.bridge, false, seen), () => undefined) : undefined,
    ]);
    if (fw.status === 'rejected') throw fw.reason;
    if (veth.status === 'rejected') throw veth.reason;
    if (forward.status === 'rejected') throw forward.reason;
    mark('net: veth attached');
    if (net.dns && driver.traits.hostGateway) await ensureDns(net.gateway);
    undo.clear();
    emit('network', 'connect', net.id, { container: req.containerId, name: net.name, type: net.driver });
    return {
      network: net.name,
      networkId: net.id,
      ifname,
      hostIfname: hostIf,
      ip,
      mac,
      prefix: Number(net.subnet.split('/')[1]),
      gateway: net.gateway,
      defaultRoute: req.defaultRoute && !net.internal,
      bridge: net.bridge,
      aliases: req.aliases,
    };
  } catch (err) {
    throw await undo.rollback(err, elog);
  }
}

/**
 * Undo of a failed attach: what this call made, and only that. The veth and the binding carry
 * (container, network) in their names, which the lock makes this call's alone; the lease is
 * the one for its interface, the record goes only if it is still the one it wrote.
 */
async function unreserve(containerId: string, netId: string, ifname: string, ip: string): Promise<void> {
  const hostIf = hostIfname(containerId, netId);
  const net = listNetworks().find((n) => n.id === netId);
  const driver = driverOf(net ?? { driver: 'bridge' });
  const done = await Promise.allSettled([driver.detach(net, { containerId, hostIf, containerGone: false }), dropGuard(hostIf)]);
  await withLock(NET_LOCK, async () => {
    if (net && driver.release) await driver.release(net, containerId);
    release(netId, containerId, ifname);
    const rec = readEndpoint(netId, containerId);
    if (rec?.ip === ip && rec.ifname === ifname) await removeEndpoint(netId, containerId);
  });
  for (const d of done) if (d.status === 'rejected') throw d.reason;
}

/**
 * Veth, port binding (unless `bindingGone`: the caller removed it), lease, record of (container,
 * network). Idempotent. `known`: the network's record, when the caller has just read it.
 */
export async function releaseEndpoint(containerId: string, netId: string, containerGone = false, bindingGone = false, known?: NetworkRecord): Promise<void> {
  const hostIf = hostIfname(containerId, netId);
  const net = known?.id === netId ? known : listNetworks().find((n) => n.id === netId);
  const driver = driverOf(net ?? { driver: 'bridge' });
  // the container's own namespace dies with it and takes the veth along (the kernel finishes
  // that shortly after the CLI returns: nothing to wait for); one that others joined lives on
  const namespaceDies = containerGone && !hasJoiners(containerId);
  const done = await Promise.allSettled([driver.detach(net, { containerId, hostIf, containerGone, namespaceDies }), bindingGone ? undefined : dropGuard(hostIf)]);
  for (const d of done) if (d.status === 'rejected') throw d.reason;
  await withLock(NET_LOCK, async () => {
    if (net && driver.release) await driver.release(net, containerId);
    const ip = recordedIp(netId, containerId);
    release(netId, containerId, undefined, ip);
    const had = ip !== undefined;
    await removeEndpoint(netId, containerId);
    if (had) emit('network', 'disconnect', netId, { container: containerId, name: net?.name, type: net?.driver ?? 'bridge' });
  });
}

/** The address the endpoint record names, if it can be read (a corrupt one: every lease is looked at). */
function recordedIp(netId: string, containerId: string): string | undefined {
  try {
    return readEndpoint(netId, containerId)?.ip;
  } catch {
    return undefined;
  }
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

/**
 * Rewrite the container's /etc/hosts in place (the bind mount shows the same inode): over
 * the old text from offset 0, then cut to the new length. Not a truncate to zero first
 * (writeFileSync), after which ext4 (auto_da_alloc) allocates and starts writing the data
 * when the file is closed: up to milliseconds of a start on a busy disk (see ipam.ts).
 */
export function rewriteContainerFile(containerId: string, name: 'hosts' | 'resolv.conf', content: string): void {
  let fd: number;
  try {
    fd = openSync(netFiles.containerFile(containerId, name), 'r+');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  try {
    const data = Buffer.from(content);
    writeSync(fd, data, 0, data.length, 0);
    ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
}
