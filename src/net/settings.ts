/**
 * How network state is shown: the PORTS column of `ps`, `inspect`'s NetworkSettings in
 * Docker's shape, and `network inspect`. Pure formatting of records.
 */
import { parseCidr } from './ipv4.js';
import { formatPortsColumn } from './ports.js';
import { listEndpoints } from './store.js';
import { resolveNetwork } from './networks.js';
import type { NetworkState } from './index.js';

/** The PORTS column of `ps` for a container's recorded network state. */
export function formatPorts(state: NetworkState | Record<string, unknown> | undefined): string {
  const ports = (state as NetworkState | undefined)?.ports;
  return Array.isArray(ports) ? formatPortsColumn(ports) : '';
}

/**
 * Docker's shape of `inspect`'s NetworkSettings for a recorded network state, keeping the raw
 * record (mode, endpoints, ports) alongside: IPAddress/Gateway/IPPrefixLen of the first
 * endpoint, Ports as {"80/tcp": [{HostIp, HostPort}]}, and one entry per network.
 */
export function networkSettings(state: NetworkState | Record<string, unknown> | undefined): Record<string, unknown> {
  const st = (state ?? {}) as NetworkState;
  const eps = st.endpoints ?? [];
  const first = eps[0];
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of st.ports ?? []) (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return {
    ...st,
    IPAddress: first?.ip ?? '',
    Gateway: first?.gateway ?? '',
    IPPrefixLen: first?.prefix ?? 0,
    MacAddress: first?.mac ?? '',
    Ports: ports,
    Networks: Object.fromEntries(
      eps.map((e) => [e.network, { NetworkID: e.networkId, IPAddress: e.ip, IPPrefixLen: e.prefix, Gateway: e.gateway, MacAddress: e.mac ?? '', Aliases: e.aliases, Interface: e.ifname }]),
    ),
  };
}

export async function inspectNetwork(ref: string): Promise<Record<string, unknown>> {
  const n = await resolveNetwork(ref);
  const containers: Record<string, unknown> = {};
  for (const e of listEndpoints(n.id)) {
    containers[e.containerId] = {
      Name: e.name,
      IPv4Address: `${e.ip}/${parseCidr(n.subnet)!.prefix}`,
      Aliases: e.aliases,
      Interface: e.ifname,
      HostInterface: e.hostIfname,
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Driver: n.driver,
    Internal: n.internal,
    IPAM: { Driver: 'default', Config: [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) }] },
    Options: { ...n.options, 'tsdocker.bridge': n.bridge, mtu: String(n.mtu) },
    Labels: n.labels,
    DNS: n.dns,
    Containers: containers,
  };
}

