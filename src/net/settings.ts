/**
 * How network state is shown: the PORTS column of `ps`, `inspect`'s NetworkSettings in
 * Docker's shape, and `network inspect`. Pure formatting of records.
 */
import { statSync } from 'node:fs';
import { parseCidr } from './ipv4.js';
import { formatPortsColumn } from './ports.js';
import { listEndpoints, listNetworks, shortHash, DEFAULT_NETWORK, type NetworkRecord } from './store.js';
import { resolveNetwork } from './networks.js';
import { driverOf } from './drivers/index.js';
import { macFor } from './guard.js';
import { rootDir } from '../state/paths.js';
import type { NetworkState } from './index.js';

/** The PORTS column of `ps` for a container's recorded network state. */
export function formatPorts(state: NetworkState | Record<string, unknown> | undefined): string {
  const ports = (state as NetworkState | undefined)?.ports;
  return Array.isArray(ports) ? formatPortsColumn(ports) : '';
}

/** A stable 64-hex endpoint id for (network, container), as Docker's EndpointID. */
export function endpointId(netId: string, containerId: string): string {
  return shortHash(`endpoint:${netId}:${containerId}`, 64);
}

/**
 * Docker's shape of `inspect`'s NetworkSettings for a recorded network state: IPAddress,
 * Gateway, IPPrefixLen and MacAddress of the first endpoint, Ports as {"80/tcp": [{HostIp,
 * HostPort}]}, and one entry per network.
 */
export function networkSettings(state: NetworkState | Record<string, unknown> | undefined, containerId = ''): Record<string, unknown> {
  const st = (state ?? {}) as NetworkState;
  const eps = st.endpoints ?? [];
  const first = eps[0];
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const p of st.ports ?? []) (ports[`${p.containerPort}/${p.proto}`] ??= [])!.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: ports,
    SandboxKey: '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: first ? endpointId(first.networkId, containerId) : '',
    Gateway: first?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: first?.ip ?? '',
    IPPrefixLen: first?.prefix ?? 0,
    IPv6Gateway: '',
    MacAddress: first ? (first.mac ?? macFor(first.ip)) : '',
    Networks: Object.fromEntries(
      eps.map((e) => [e.network, {
        IPAMConfig: null, Links: null, Aliases: e.aliases.length ? e.aliases : null, NetworkID: e.networkId, EndpointID: endpointId(e.networkId, containerId),
        Gateway: e.gateway, IPAddress: e.ip, IPPrefixLen: e.prefix, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
        MacAddress: e.mac ?? macFor(e.ip), DriverOpts: null,
      }]),
    ),
  };
}

/**
 * NetworkSettings.Networks of a container that is not running: the networks its plan puts it
 * on at start, with their aliases and no address, as dockerd shows a created or stopped
 * container (docker-compose reads it to decide whether to connect one).
 */
export function plannedNetworkEntries(plan: Record<string, unknown> | undefined): Record<string, unknown> {
  const p = (plan ?? {}) as { mode?: string; network?: string; ip?: string; aliases?: string[]; connected?: { network: string; ip?: string; aliases: string[] }[]; primaryDisconnected?: boolean };
  if (!p.mode || p.mode.startsWith('container:')) return {};
  const entries = p.mode === 'bridge'
    ? [...(p.primaryDisconnected ? [] : [{ network: p.network ?? DEFAULT_NETWORK, ip: p.ip, aliases: p.aliases ?? [] }]), ...(p.connected ?? [])]
    : [{ network: p.mode, aliases: [] as string[] }];
  const ids = new Map(listNetworks().map((n) => [n.name, n.id]));
  return Object.fromEntries(entries.map((e) => [e.network, {
    IPAMConfig: 'ip' in e && e.ip ? { IPv4Address: e.ip } : null, Links: null, Aliases: e.aliases.length ? e.aliases : null,
    NetworkID: ids.get(e.network) ?? builtinNetwork(e.network)?.id ?? '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
  }]));
}

/** Docker's pre-defined networks besides bridge: host and none, with stable ids per --root. */
export const BUILTIN_DRIVERS: Record<string, string> = { host: 'host', none: 'null' };

export function builtinNetwork(name: string): { id: string; name: string; driver: string; created: string } | undefined {
  const driver = BUILTIN_DRIVERS[name];
  if (!driver) return undefined;
  let created = new Date(0).toISOString();
  try {
    created = statSync(rootDir()).birthtime.toISOString();
  } catch {
    // no root yet: the epoch
  }
  return { id: shortHash(`builtin:${name}:${rootDir()}`, 64), name, driver, created };
}

/** Every network as `network ls` lists it: the records, then host and none. */
export function allNetworks(): { rec?: NetworkRecord; id: string; name: string; driver: string; created: string; internal: boolean; labels: Record<string, string>; builtin: boolean }[] {
  const recs = listNetworks().map((n) => ({ rec: n, id: n.id, name: n.name, driver: n.driver as string, created: n.created, internal: n.internal, labels: n.labels ?? {}, builtin: n.name === DEFAULT_NETWORK }));
  const builtins = Object.keys(BUILTIN_DRIVERS).map((n) => ({ ...builtinNetwork(n)!, internal: false, labels: {}, builtin: true }));
  return [...recs, ...builtins];
}

function inspectShape(o: { name: string; id: string; created: string; driver: string; internal: boolean; ipam: unknown[]; containers: Record<string, unknown>; options: Record<string, string>; labels: Record<string, string> }): Record<string, unknown> {
  return {
    Name: o.name, Id: o.id, Created: o.created, Scope: 'local', Driver: o.driver, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: o.ipam.length ? {} : null, Config: o.ipam },
    Internal: o.internal, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: o.containers, Options: o.options, Labels: o.labels,
  };
}

export async function inspectNetwork(ref: string): Promise<Record<string, unknown>> {
  const builtin = builtinNetwork(ref) ?? Object.keys(BUILTIN_DRIVERS).map(builtinNetwork).find((b) => b && ref.length >= 1 && b.id.startsWith(ref) && !listNetworks().some((n) => n.id.startsWith(ref)));
  if (builtin) return inspectShape({ ...builtin, internal: false, ipam: [], containers: {}, options: {}, labels: {} });
  const n = await resolveNetwork(ref);
  const containers: Record<string, unknown> = {};
  for (const e of listEndpoints(n.id)) {
    containers[e.containerId] = {
      Name: e.name,
      EndpointID: endpointId(n.id, e.containerId),
      MacAddress: e.mac ?? macFor(e.ip),
      IPv4Address: `${e.ip}/${parseCidr(n.subnet)!.prefix}`,
      IPv6Address: '',
    };
  }
  return {
    ...inspectShape({
      name: n.name, id: n.id, created: n.created, driver: n.driver, internal: n.internal,
      ipam: [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) }],
      containers,
      options: { ...n.options, 'tsdocker.bridge': n.bridge, 'com.docker.network.driver.mtu': String(n.mtu) },
      labels: n.labels ?? {},
    }),
    // a driver adds its own (overlay: Scope global, VNI, port, peers)
    ...(await driverOf(n).inspect?.(n)),
  };
}
