/**
 * The network-driver seam. A driver is a plain object that knows one kind of network's
 * links: the bridge (one host), the overlay (VXLAN across hosts). The orchestrator around it
 * (networks.ts ensureInfra/teardownInfra for a network, endpoint.ts for one container on one
 * network) runs IPAM, the firewall and the embedded DNS, as the driver's traits say, with one
 * undo stack. A driver never touches nft or the DNS daemon itself.
 *
 *   validate(rec, o)         network create: driver options into the record; no side effects
 *   ensureNetwork(net)       create or verify the network's links on this host; idempotent;
 *                            returns true when it created them (the caller's undo removes them)
 *   removeNetwork(net)       idempotent, "already gone" is fine
 *   attach(net, req)         wire one container (its namespace is /proc/<pid>/ns/net)
 *   detach(net, ep)          idempotent, from derived names alone; pid undefined when gone
 *   allocate/release         optional: address management beyond the host-local leases
 *   inspect                  optional: driver-specific fields of `network inspect`
 */
import type { NetworkRecord } from '../store.js';
import type { VethRequest } from '../bridge.js';
import type { CreateOptions } from '../networks.js';
import { bridgeDriver } from './bridge.js';
import { overlayDriver } from './overlay.js';

export interface DriverTraits {
  /** the host's nft table filters and NATs this network's traffic (a bridge on the host) */
  hostFirewall: boolean;
  /** `-p` DNAT from the host's addresses to the container applies */
  publish: boolean;
  /** the host holds the gateway address (default route, embedded DNS listen there) */
  hostGateway: boolean;
}

/** One container's interface on the network: the veth request, less the network (the driver's). */
export type AttachRequest = Omit<VethRequest, 'net'> & { containerId: string };

export interface DetachRequest {
  containerId: string;
  hostIf: string;
  /** the container has exited: its veth goes with its namespace */
  containerGone: boolean;
  /** and no other container joined that namespace: it dies, nothing to delete or wait for */
  namespaceDies?: boolean;
}

export interface AllocateRequest {
  containerId: string;
  containerName: string;
  ifname: string;
  ip?: string;
  aliases: string[];
}

export interface NetworkDriver {
  readonly name: NetworkRecord['driver'];
  readonly traits: DriverTraits;
  validate(rec: NetworkRecord, o: CreateOptions, existing: readonly NetworkRecord[]): NetworkRecord;
  ensureNetwork(net: NetworkRecord, knownMissing?: boolean): Promise<boolean>;
  removeNetwork(net: NetworkRecord): Promise<void>;
  attach(net: NetworkRecord, req: AttachRequest): Promise<void>;
  /** `net` is undefined when its record is already gone (the host-side veth still is removed) */
  detach(net: NetworkRecord | undefined, req: DetachRequest): Promise<void>;
  /** an address for the container (after the host-local lease is taken); undone by release */
  allocate?(net: NetworkRecord, req: AllocateRequest): Promise<string>;
  release?(net: NetworkRecord, containerId: string): Promise<void>;
  /** optional: what `network inspect` adds for this driver */
  inspect?(net: NetworkRecord): Promise<Record<string, unknown>>;
}

const drivers: Record<NetworkRecord['driver'], NetworkDriver> = { bridge: bridgeDriver, overlay: overlayDriver };

export function isDriver(name: string): name is NetworkRecord['driver'] {
  return Object.hasOwn(drivers, name);
}

export function driverOf(net: Pick<NetworkRecord, 'driver'>): NetworkDriver {
  return drivers[net.driver] ?? bridgeDriver;
}
