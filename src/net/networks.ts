/**
 * Network objects: create (validate everything, then record, bridge, firewall; undone in
 * reverse when a step fails), remove, list, inspect, prune. The default `bridge` network is
 * created on first use and then stays, as docker0 does: creating and deleting tsd0 and its
 * rules around every `run --rm` measured ~70 ms per run. `network prune` removes an idle
 * tsd0 and its rules (the record, and so the subnet, stays), so a host can be left bare.
 */
import { emit } from '../state/events.js';
import { existsSync } from 'node:fs';
import { paths } from '../state/paths.js';
import { withLock } from '../state/lock.js';
import { TsdError } from '../sys/errors.js';
import { createUndoStack } from '../sys/undo.js';
import { log } from '../sys/log.js';
import { contains, first, formatCidr, formatIp, last, overlaps, parseCidr, parseIp, within } from './ipv4.js';
import { hostRoutes, pickSubnet } from './pool.js';
import { bridgeNameFor, linkExists, restoreForwarding } from './bridge.js';
import { driverOf, isDriver } from './drivers/index.js';
import { clusterConfigured } from './overlay/config.js';
import { networkScript, nftApply, tablesPresent, teardownNetworkRules } from './nft.js';
import { deleteGuardTable, guardBaseScript } from './guard.js';
import { allowBridgeThroughForward, removeBridgeAccept } from './compat.js';
import {
  defaultBridgeName,
  DEFAULT_NETWORK,
  NET_LOCK,
  deleteNetworkRecord,
  listEndpoints,
  listNetworks,
  lookupNetwork,
  findNetwork,
  newNetworkId,
  saveNetwork,
  removeEndpoint,
  type EndpointRecord,
  type NetworkRecord,
} from './store.js';

const nlog = log.child({ mod: 'net.networks' });
export const PREDEFINED = new Set(['bridge', 'host', 'none']);

export interface CreateOptions {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

function invalid(msg: string, hint?: string): TsdError {
  return new TsdError('NETWORK_INVALID', msg, { hint });
}

function parseMtu(options: Record<string, string>): number {
  const raw = options['mtu'] ?? options['com.docker.network.driver.mtu'];
  if (raw === undefined) return 1500;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < 68 || n > 65535) throw invalid(`invalid MTU ${raw}: must be between 68 and 65535`);
  return n;
}

/** Everything a record needs, validated; no side effects. `taken` = subnets in use (networks, host routes). */
export function buildRecord(o: CreateOptions, existing: NetworkRecord[], routes: ReturnType<typeof parseCidr>[], bridge?: string): NetworkRecord {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(o.name)) {
    throw invalid(`invalid network name "${o.name}"`, 'names start with a letter or digit and contain only [a-zA-Z0-9_.-]');
  }
  const driver = o.driver ?? 'bridge';
  if (!isDriver(driver)) {
    throw invalid(`network driver "${o.driver}" is not supported here`, 'use -d bridge (the default) or -d overlay');
  }
  if (existing.some((n) => n.name === o.name)) {
    throw new TsdError('NETWORK_EXISTS', `network with name ${o.name} already exists`, { hint: 'choose another name, or remove the old network' });
  }
  const options = o.options ?? {};
  const mtu = parseMtu(options);
  const nets = existing.map((n) => parseCidr(n.subnet)!);
  let subnet;
  if (o.subnet !== undefined) {
    subnet = parseCidr(o.subnet);
    if (!subnet) throw invalid(`invalid CIDR address: ${o.subnet}`, 'give the subnet as a.b.c.d/len, e.g. 10.89.0.0/24');
    if (subnet.prefix > 30) throw invalid(`subnet ${o.subnet} is too small: at most /30`, 'a network needs a gateway and at least one container address');
    const clash = existing.find((n) => overlaps(parseCidr(n.subnet)!, subnet!));
    if (clash) throw invalid(`Pool overlaps with other one on this address space: ${o.subnet} overlaps ${clash.subnet} of network ${clash.name}`);
  } else {
    if (o.gateway !== undefined || o.ipRange !== undefined) throw invalid('--gateway and --ip-range need --subnet');
    subnet = pickSubnet([...nets, ...routes.filter((r): r is NonNullable<typeof r> => r !== undefined)]);
  }
  let gateway = first(subnet) + 1;
  if (o.gateway !== undefined) {
    const g = parseIp(o.gateway);
    if (g === undefined) throw invalid(`invalid gateway address: ${o.gateway}`);
    if (!contains(subnet, g) || g === first(subnet) || g === last(subnet)) {
      throw invalid(`no matching subnet for gateway ${o.gateway}`, `the gateway must be a host address inside ${formatCidr(subnet)}`);
    }
    gateway = g;
  }
  let ipRange: string | undefined;
  if (o.ipRange !== undefined) {
    const r = parseCidr(o.ipRange);
    if (!r) throw invalid(`invalid CIDR address: ${o.ipRange}`);
    if (!within(r, subnet)) throw invalid(`no matching subnet for range ${o.ipRange}`, `--ip-range must lie inside ${formatCidr(subnet)}`);
    ipRange = formatCidr(r);
  }
  const id = newNetworkId();
  const custom = options['com.docker.network.bridge.name'] ?? options['bridge'];
  if (custom !== undefined) {
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(custom)) throw invalid(`invalid bridge name "${custom}": at most 15 of [a-zA-Z0-9_.-]`);
    const clash = existing.find((n) => n.bridge === custom);
    if (clash) throw invalid(`bridge name ${custom} is already used by network ${clash.name}`);
  }
  const rec: NetworkRecord = {
    id,
    name: o.name,
    driver,
    created: new Date().toISOString(),
    subnet: formatCidr(subnet),
    gateway: formatIp(gateway),
    ...(ipRange ? { ipRange } : {}),
    internal: !!o.internal,
    mtu,
    bridge: bridge ?? custom ?? bridgeNameFor(id),
    dns: o.name !== DEFAULT_NETWORK,
    options,
    labels: o.labels ?? {},
  };
  return driverOf(rec).validate(rec, o, existing);
}

/** Whether a network other than `net` has its bridge (then tsdocker's tables must exist). */
export async function othersInUse(net: NetworkRecord): Promise<boolean> {
  for (const n of listNetworks()) if (n.id !== net.id && (await linkExists(n.bridge))) return true;
  return false;
}

/** Bridge + rules for a network (create, or recreate after a reboot). Caller holds the lock. */
export async function ensureInfra(net: NetworkRecord, bridgeKnownMissing = false): Promise<void> {
  const undo = createUndoStack();
  try {
    const driver = driverOf(net);
    const created = await driver.ensureNetwork(net, bridgeKnownMissing);
    if (created) undo.push(`remove ${net.driver} links of ${net.name}`, () => driver.removeNetwork(net));
    if (driver.traits.hostFirewall) {
      await nftApply([...networkScript(net, listNetworks().map((n) => n.bridge)), ...guardBaseScript()]);
      undo.push(`firewall of ${net.name}`, () => teardownNetworkRules(net, 1));
      await allowBridgeThroughForward(net.bridge, true);
    }
    undo.clear();
  } catch (err) {
    throw await undo.rollback(err, nlog);
  }
}

/**
 * Rules, iptables accepts and bridge of a network. ip_forward is turned back off only on an
 * explicit `network rm` of the last network, and only if tsdocker turned it on: never when
 * the default bridge merely goes idle (something started meanwhile may rely on forwarding).
 */
export async function teardownInfra(net: NetworkRecord, remaining: number, restoreFwd = false): Promise<void> {
  const errors: string[] = [];
  const driver = driverOf(net);
  const firewall = driver.traits.hostFirewall;
  for (const [what, fn] of [
    ['firewall', () => (firewall ? teardownNetworkRules(net, remaining) : undefined)],
    ['port bindings', () => (remaining === 0 ? deleteGuardTable() : undefined)],
    ['iptables accept rules', () => (firewall ? removeBridgeAccept(net.bridge) : undefined)],
    [`${net.driver} links`, () => driver.removeNetwork(net)],
  ] as const) {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  }
  if (remaining === 0 && restoreFwd) restoreForwarding();
  if (errors.length) throw new TsdError('INTERNAL', `removing network ${net.name}: ${errors.join('; ')}`);
}

export async function createNetwork(o: CreateOptions): Promise<NetworkRecord> {
  if (PREDEFINED.has(o.name)) {
    throw new TsdError('NETWORK_EXISTS', `network with name ${o.name} already exists`, { hint: `${o.name} is a pre-defined network` });
  }
  if (o.driver === 'overlay') {
    const { createOverlayNetwork } = await import('./overlay/cluster.js');
    const rec = await createOverlayNetwork(o);
    emit('network', 'create', rec.id, { name: rec.name, type: rec.driver });
    return rec;
  }
  return withLock(NET_LOCK, async () => {
    const existing = listNetworks();
    const rec = buildRecord(o, existing, o.subnet ? [] : await hostRoutes());
    if (await linkExists(rec.bridge)) {
      // never adopt (and later delete) a link that tsdocker did not create
      throw invalid(`a link named ${rec.bridge} already exists on this host`, 'choose another -o com.docker.network.bridge.name');
    }
    if ((await othersInUse(rec)) && !(await tablesPresent())) {
      // creating them now would hold this network's rules alone: the others' would stay lost
      throw invalid("tsdocker's nftables tables were removed outside tsdocker", 'run `tsdocker network reload`, then create the network again');
    }
    saveNetwork(rec);
    try {
      await ensureInfra(rec);
    } catch (err) {
      await deleteNetworkRecord(rec.id);
      throw err;
    }
    emit('network', 'create', rec.id, { name: rec.name, type: rec.driver });
    return rec;
  });
}

/** The default `bridge` network's record, created on first use (caller holds the lock). */
export async function defaultNetworkLocked(): Promise<NetworkRecord> {
  const cur = listNetworks().find((n) => n.name === DEFAULT_NETWORK);
  if (cur) return cur;
  const rec = buildRecord({ name: DEFAULT_NETWORK }, listNetworks(), await hostRoutes(), defaultBridgeName());
  saveNetwork(rec);
  return rec;
}

/** A network by name or id; on a host with a cluster store, the store's overlay networks too. */
export async function lookupAnywhere(ref: string): Promise<NetworkRecord | undefined> {
  const local = lookupNetwork(ref);
  if (local || !clusterConfigured() || PREDEFINED.has(ref)) return local;
  const { syncOverlayRecords } = await import('./overlay/cluster.js');
  await syncOverlayRecords();
  return lookupNetwork(ref);
}

/** Find a network; `bridge` always exists (its record is made on first mention, its bridge on first use). */
export async function resolveNetwork(ref: string): Promise<NetworkRecord> {
  if (ref === DEFAULT_NETWORK && !lookupNetwork(DEFAULT_NETWORK)) return withLock(NET_LOCK, defaultNetworkLocked);
  return (await lookupAnywhere(ref)) ?? findNetwork(ref);
}

/** Endpoints whose container still exists (a removed container's record is stale). */
export function liveEndpoints(netId: string): EndpointRecord[] {
  return listEndpoints(netId).filter((e) => existsSync(paths.container(e.containerId)));
}

/** `network prune` of the default network: its bridge and rules go when no container uses it. Caller holds the lock. */
async function releaseDefaultIfIdle(net: NetworkRecord): Promise<boolean> {
  for (const e of listEndpoints(net.id)) if (!existsSync(paths.container(e.containerId))) await removeEndpoint(net.id, e.containerId);
  if (listEndpoints(net.id).length > 0) return false;
  const others = listNetworks().filter((n) => n.id !== net.id).length;
  await teardownInfra(net, others, true);
  return true;
}

export async function removeNetwork(ref: string): Promise<NetworkRecord> {
  const found = await lookupAnywhere(ref);
  if (found?.driver === 'overlay') {
    const { removeOverlayNetwork } = await import('./overlay/cluster.js');
    await removeOverlayNetwork(found);
    emit('network', 'destroy', found.id, { name: found.name, type: found.driver });
    return found;
  }
  return withLock(NET_LOCK, async () => {
    const net = findNetwork(ref);
    if (net.name === DEFAULT_NETWORK) {
      throw new TsdError('NETWORK_IN_USE', `bridge is a pre-defined network and cannot be removed`);
    }
    for (const e of listEndpoints(net.id)) if (!existsSync(paths.container(e.containerId))) await removeEndpoint(net.id, e.containerId);
    const eps = listEndpoints(net.id);
    if (eps.length) {
      throw new TsdError(
        'NETWORK_IN_USE',
        `error while removing network: network ${net.name} id ${net.id} has active endpoints (${eps.map((e) => `name:"${e.name}" id:"${e.containerId.slice(0, 12)}"`).join(', ')})`,
        { hint: 'stop or disconnect those containers first (`tsdocker network disconnect`)' },
      );
    }
    // the default network's rules stay while tsd0 exists, used or not
    const others = listNetworks().filter((n) => n.id !== net.id);
    const remaining = (await Promise.all(others.map(async (n) => n.name !== DEFAULT_NETWORK || (await linkExists(n.bridge))))).filter(Boolean).length;
    await teardownInfra(net, remaining, true);
    await deleteNetworkRecord(net.id);
    emit('network', 'destroy', net.id, { name: net.name, type: net.driver });
    return net;
  });
}

/** Remove the unused user networks (those `select` keeps, when given); their names. */
export async function pruneNetworks(select: (n: NetworkRecord) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const n of listNetworks()) {
    if (n.name === DEFAULT_NETWORK || liveEndpoints(n.id).length > 0 || !select(n)) continue;
    try {
      await removeNetwork(n.id);
      removed.push(n.name);
    } catch (err) {
      nlog.warn({ network: n.name, err: (err as Error).message }, 'prune: not removed');
    }
  }
  // last: the idle default bridge (the table goes too when nothing else is left)
  const def = listNetworks().find((n) => n.name === DEFAULT_NETWORK);
  if (def) await withLock(NET_LOCK, () => releaseDefaultIfIdle(def));
  return removed;
}

export { inspectNetwork } from './settings.js';
export { lookupNetwork, findNetwork, listNetworks };
