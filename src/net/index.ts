/**
 * The network module's face to the runtime. The runtime calls, in order:
 *   planNetwork(opts)           validate every network option; no side effects; throws TsdError
 *                               (the plan is plain data: store it in config.json)
 *   resolveJoinTarget(plan)     at every start: container:X looks X up now (joined.ts)
 *   attachNetwork(plan, ctx)    after the container's first process exists (ctx.pid), before it
 *                               runs; returns the NetworkState to keep in state.json; it also
 *                               rewrites <container dir>/hosts in place with the address
 *   detachNetwork(id, state)    when the container is gone; idempotent, works from the id alone
 *                               (state only spares work), after a crash, twice, netns gone
 * and for display: formatPorts(state) (ps), networkSettings(state) (inspect).
 * Modes: `bridge` (default) and user-defined networks (bridge or overlay), `none`, `host`,
 * `container:X`.
 * Layout, each layer importing only those before it: ipv4, dnswire, resolv (pure) -> store
 * (records) -> ipam, pool, ports (allocation) -> bridge (links), nft, dnat + compat (firewall),
 * guard (anti-spoofing), dns (starts the embedded resolver, dnsd, a program of its own) ->
 * drivers/ (bridge, overlay: the links of one kind of network; overlay/ holds the VXLAN data
 * plane, the etcd control plane and the agent) -> networks (network objects) -> endpoint (one
 * container on one network: IPAM, driver, firewall, DNS) -> here; joined (container:X),
 * settings (what ps and inspect show), both re-exported here, and connect and reload
 * (network commands) sit on top.
 */
import { publishAllSpecs } from './expose.js';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { endpointId } from './settings.js';
import { TsdError } from '../sys/errors.js';
import { exec } from '../sys/exec.js';
import { createUndoStack, runAll } from '../sys/undo.js';
import { log } from '../sys/log.js';
import { mark } from '../sys/trace.js';
import { withLock } from '../state/lock.js';
import { findContainer } from '../state/containers.js';
import { contains, first, last, parseCidr, parseIp } from './ipv4.js';
import { attachEndpoint, networksOf, releaseEndpoint, rewriteContainerFile, type EndpointState } from './endpoint.js';
import { checkPorts, parsePublish, releasePorts, reservePorts, staleOwners, writeProxy6, type PortSpec, type PublishedPort } from './ports.js';
import { dropContainerRules, teardownContainerRules, type ContainerPorts } from './dnat.js';
import { dropGuardScript } from './guard.js';
import { hostIfname } from './bridge.js';
import { hostResolvConf, hostNameservers, parseAddHosts, renderHosts, renderResolvConf, validateDns } from './resolv.js';
import { dnsDaemonWatch, pokeDns } from './dns.js';
import { DEFAULT_NETWORK, NET_LOCK, lookupNetwork } from './store.js';
import { targetFile, verifyJoinTarget } from './joined.js';
import { defaultNetworkLocked, lookupAnywhere } from './networks.js';

const ilog = log.child({ mod: 'net' });

export interface NetworkOptions {
  containerId: string;
  name: string;
  hostname: string;
  /** true when --hostname was given (container: mode refuses it) */
  hostnameGiven?: boolean;
  /** --network value as given (default: bridge) */
  network?: string;
  publish: string[];
  ip?: string;
  aliases: string[];
  dns: string[];
  dnsSearch: string[];
  /** --dns-option: the options line of resolv.conf */
  dnsOptions?: string[];
  addHosts: string[];
  /** --mac-address of the container's first endpoint (bridge networks) */
  macAddress?: string;
  /** -P: publish every exposed port (Config.ExposedPorts, `exposed`) that -p does not */
  publishAll?: boolean;
  exposed?: string[];
}

export interface NetworkPlan {
  mode: string;
  /** the container gets its own network namespace */
  newNetns: boolean;
  /** join this namespace instead (container:X mode) */
  joinNetns?: string;
  /** bring lo up in the new namespace */
  loopbackUp: boolean;
  /** contents of the container's /etc/hosts and /etc/resolv.conf */
  hosts: string;
  resolvConf: string;
  [key: string]: unknown;
}

/** What bridge-mode planning adds to the plan (kept in config.json: plain data). */
interface BridgePlan extends NetworkPlan {
  network: string;
  containerName: string;
  hostname: string;
  ip?: string;
  aliases: string[];
  publish: PortSpec[];
  dns: string[];
  extraHosts: string[];
  /** --mac-address of eth0 */
  mac?: string;
  /** further networks of `network connect`, attached at every start as eth1, eth2, ... (Docker keeps them) */
  connected?: ConnectedNetwork[];
  /** `network disconnect` of the network the container was created on: not attached again */
  primaryDisconnected?: boolean;
}

export interface ConnectedNetwork {
  network: string;
  ip?: string;
  aliases: string[];
}

export interface AttachContext {
  containerId: string;
  pid: number;
}

export interface NetworkState {
  mode?: string;
  endpoints?: EndpointState[];
  ports?: PublishedPort[];
  [key: string]: unknown;
}

function hostsFile(hostname: string, extra: string[]): string {
  return renderHosts(hostname, undefined, extra);
}

function conflict(what: string): TsdError {
  return new TsdError('BAD_ARGS', `conflicting options: ${what} and the container type network mode`, {
    hint: 'a container that joins another container\'s network uses that container\'s settings',
  });
}

async function planContainerMode(opts: NetworkOptions, ref: string): Promise<NetworkPlan> {
  if (opts.publish.length || opts.publishAll) throw conflict('port publishing');
  if (opts.hostnameGiven) throw conflict('hostname');
  if (opts.dns.length || opts.dnsSearch.length || opts.dnsOptions?.length) throw conflict('dns');
  if (opts.addHosts.length) throw conflict('custom host-to-IP mapping');
  if (opts.ip) throw new TsdError('BAD_ARGS', 'conflicting options: user specified IP address and the container type network mode');
  if (opts.aliases.length) throw conflict('network-scoped alias');
  if (!ref) throw new TsdError('BAD_ARGS', 'invalid network mode "container:": a container name or id is needed');
  const target = await findContainer(ref);
  if (target.config.id === opts.containerId) throw new TsdError('BAD_ARGS', 'cannot join own network');
  // X may be stopped now: its namespace is looked up at every start (joined.ts), as Docker does
  const id = target.config.id;
  return {
    mode: `container:${id}`,
    newNetns: false,
    loopbackUp: false,
    targetId: id,
    // Docker: the container takes its target's hostname (its /etc/hosts names that one too)
    hostname: target.config.hostname,
    hosts: targetFile(id, 'hosts', hostsFile(target.config.hostname, [])),
    resolvConf: targetFile(id, 'resolv.conf', hostResolvConf()),
  };
}

/** --mac-address: docker/cli's message for a bad one; a multicast one no Ethernet port may have; not on overlays yet. */
function planMac(mac: string, driver: string | undefined): string {
  const m = /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/i.exec(mac);
  if (!m) throw new TsdError('BAD_ARGS', `${mac} is not a valid mac address`, { hint: 'e.g. --mac-address 02:42:ac:11:00:99' });
  if (parseInt(m[1]!, 16) & 1) throw new TsdError('BAD_ARGS', `${mac} is a multicast address: a container's interface cannot have it`, { hint: 'the first byte must be even, e.g. 02:...' });
  if (driver === 'overlay') throw new TsdError('BAD_ARGS', '--mac-address is not supported on overlay networks yet', { hint: 'leave it out: the address is derived from the IP across hosts' });
  return mac.toLowerCase().replaceAll('-', ':');
}

export async function planNetwork(opts: NetworkOptions): Promise<NetworkPlan> {
  const mode = opts.network === undefined || opts.network === 'default' ? DEFAULT_NETWORK : opts.network;
  if (opts.macAddress && (mode === 'host' || mode.startsWith('container:'))) {
    throw new TsdError('BAD_ARGS', 'conflicting options: mac-address and the network mode', { hint: 'a container without a network namespace of its own has no MAC address of its own' });
  }
  // --add-host NAME:host-gateway: the default bridge's gateway, as Docker's default host-gateway-ip
  const gw = opts.addHosts.some((h) => /[:=]host-gateway$/.test(h)) ? (await withLock(NET_LOCK, defaultNetworkLocked)).gateway : undefined;
  // none and host: the host's resolv.conf, as Docker copies it, with --dns/--dns-search applied
  const hostLike = (): string => {
    validateDns(opts.dns);
    const base = hostResolvConf();
    if (!opts.dns.length && !opts.dnsSearch.length && !opts.dnsOptions?.length) return base;
    return renderResolvConf({ nameservers: opts.dns.length ? opts.dns : undefined, search: opts.dnsSearch, options: opts.dnsOptions, base });
  };
  if (mode === 'none') {
    return { mode, newNetns: true, loopbackUp: true, hosts: hostsFile(opts.hostname, parseAddHosts(opts.addHosts, gw)), resolvConf: hostLike() };
  }
  if (mode === 'host') {
    if (opts.publish.length) ilog.warn('Published ports are discarded when using host network mode');
    return {
      mode,
      newNetns: false,
      loopbackUp: false,
      hosts: readFileSync('/etc/hosts', 'utf8') + parseAddHosts(opts.addHosts, gw).map((l) => l + '\n').join(''),
      resolvConf: hostLike(),
    };
  }
  if (mode.startsWith('container:')) return planContainerMode(opts, mode.slice('container:'.length));

  // bridge: the default network or a user-defined one
  validateDns(opts.dns);
  const extraHosts = parseAddHosts(opts.addHosts, gw);
  const explicit = opts.publish.flatMap(parsePublish);
  const publish = opts.publishAll ? [...explicit, ...publishAllSpecs(opts.exposed ?? [], explicit)] : explicit;
  const isDefault = mode === DEFAULT_NETWORK;
  if (isDefault && opts.ip) {
    throw new TsdError('BAD_ARGS', 'user specified IP address is supported on user defined networks only', {
      hint: 'create a network with `tsdocker network create --subnet ...` and run with --network NAME --ip IP',
    });
  }
  if (isDefault && opts.aliases.length) {
    throw new TsdError('BAD_ARGS', 'network-scoped alias is supported only for containers in user defined networks');
  }
  const net = isDefault ? lookupNetwork(DEFAULT_NETWORK) : await lookupAnywhere(mode);
  if (!isDefault && !net) {
    throw new TsdError('NETWORK_NOT_FOUND', `network ${mode} not found`, { hint: 'see `tsdocker network ls`, or create it with `tsdocker network create`' });
  }
  if (opts.ip !== undefined && net) {
    const ip = parseIp(opts.ip);
    if (ip === undefined) throw new TsdError('BAD_ARGS', `invalid IPv4 address: ${opts.ip}`);
    const subnet = parseCidr(net.subnet)!;
    if (!contains(subnet, ip) || ip === first(subnet) || ip === last(subnet)) {
      throw new TsdError('NETWORK_INVALID', `no configured subnet or ip-range contain the IP address ${opts.ip}`, {
        hint: `network ${net.name} has subnet ${net.subnet}`,
      });
    }
  }
  checkPorts(publish);
  const resolvConf = net?.dns
    ? renderResolvConf({ nameservers: [net.gateway], search: opts.dnsSearch, options: opts.dnsOptions, base: hostResolvConf(), ndots0: true })
    : renderResolvConf({ nameservers: opts.dns.length ? opts.dns : undefined, search: opts.dnsSearch, options: opts.dnsOptions, base: hostResolvConf() });
  const plan: BridgePlan = {
    mode: 'bridge',
    newNetns: true,
    loopbackUp: true,
    network: net?.name ?? DEFAULT_NETWORK,
    containerName: opts.name,
    hostname: opts.hostname,
    ...(opts.ip ? { ip: opts.ip } : {}),
    ...(opts.macAddress ? { mac: planMac(opts.macAddress, net?.driver) } : {}),
    aliases: opts.aliases,
    publish,
    dns: opts.dns,
    extraHosts,
    hosts: hostsFile(opts.hostname, extraHosts),
    resolvConf,
  };
  return plan;
}

/** -p IP:...: the address must be one of the host's, as Docker's proxy finds when it binds. */
function checkHostAddresses(publish: PortSpec[], name: string, netId: string, containerId: string): void {
  // the host's addresses (a netlink dump, ~0.7 ms) only for a port published on one of them
  let local: Set<string> | undefined;
  for (const p of publish) {
    if (!p.hostIp || p.hostIp === '0.0.0.0' || p.hostIp === '::') continue;
    local ??= new Set(Object.values(networkInterfaces()).flatMap((a) => (a ?? []).map((x) => x.address)));
    if (local.has(p.hostIp)) continue;
    throw new TsdError(
      'BAD_ARGS',
      `driver failed programming external connectivity on endpoint ${name} (${endpointId(netId, containerId)}): Error starting userland proxy: listen ${p.proto}4 ${p.hostIp}:${p.hostPort}: bind: cannot assign requested address`,
      { hint: `${p.hostIp} is not an address of this host: publish on 0.0.0.0 or on one of its addresses` },
    );
  }
}

export async function attachNetwork(plan: NetworkPlan, ctx: AttachContext): Promise<NetworkState> {
  verifyJoinTarget(plan);
  if (plan.mode !== 'bridge') return { mode: plan.mode };
  const p = plan as BridgePlan;
  const undo = createUndoStack();
  try {
    const endpoints: EndpointState[] = [];
    let ports: PublishedPort[] = [];
    // the DNAT rules go into the endpoint's transaction (its binding's: one per start)
    const portRules = async (ip: string): Promise<ContainerPorts | undefined> => {
      if (!p.publish.length) return undefined;
      const net = lookupNetwork(p.network);
      // Docker publishes nothing from an --internal network
      if (net?.internal) return undefined;
      checkHostAddresses(p.publish, p.containerName, net?.id ?? '', ctx.containerId);
      // a container that stopped without its cleanup (monitor killed) still has port records
      // and DNAT rules: take them down first, or its rules would shadow ours
      for (const stale of staleOwners()) await detachNetwork(stale, undefined);
      ports = await withLock(NET_LOCK, async () => reservePorts(ctx.containerId, p.publish));
      mark('net: ports reserved');
      undo.push('ports', () => releasePorts(ctx.containerId));
      const reserved = ports;
      undo.push('port rules', () => dropContainerRules(ctx.containerId, reserved));
      writeProxy6(ctx.containerId, ports, ip);
      return { ctrId: ctx.containerId, rules: ports.map((x) => ({ ...x, containerIp: ip })) };
    };
    if (!p.primaryDisconnected) {
      const ep = await attachEndpoint(
        {
          containerId: ctx.containerId,
          containerName: p.containerName,
          pid: ctx.pid,
          network: p.network,
          ifname: 'eth0',
          ...(p.ip ? { ip: p.ip } : {}),
          aliases: p.aliases,
          defaultRoute: true,
          dns: p.dns,
          ...(p.mac ? { mac: p.mac } : {}),
        },
        portRules,
      );
      endpoints.push(ep);
      undo.push('endpoint', () => releaseEndpoint(ctx.containerId, ep.networkId));
      if (ports.length) await flushStaleUdp(ports);
    }
    // the networks of `network connect`, kept across stop/start as Docker keeps them
    for (const c of p.connected ?? []) {
      const ep = await attachEndpoint({
        containerId: ctx.containerId,
        containerName: p.containerName,
        pid: ctx.pid,
        network: c.network,
        ifname: `eth${endpoints.length}`,
        ...(c.ip ? { ip: c.ip } : {}),
        aliases: c.aliases,
        defaultRoute: endpoints.length === 0,
        dns: p.dns,
      });
      endpoints.push(ep);
      undo.push(`endpoint on ${c.network}`, () => releaseEndpoint(ctx.containerId, ep.networkId));
    }
    const ep = endpoints[0];
    if (!ep) {
      undo.clear();
      return { mode: 'bridge', endpoints, ports };
    }
    plan.hosts = renderHosts(p.hostname, ep.ip, p.extraHosts);
    rewriteContainerFile(ctx.containerId, 'hosts', plan.hosts);
    undo.clear();
    return { mode: 'bridge', endpoints, ports };
  } catch (err) {
    throw await undo.rollback(err, ilog);
  }
}

/**
 * Remove everything the container had on the host: port rules, host ports, veths, leases,
 * DNS records. Works from the container id alone (state is only a hint), so it is correct
 * after a crash, when run twice, and when the namespace is already gone.
 */
export async function detachNetwork(
  containerId: string,
  state: NetworkState | undefined,
  /** the container has exited: its veths go with its namespace (false: a start being undone) */
  containerGone = true,
): Promise<void> {
  const nets = networksOf(containerId);
  // a recorded state that says "no published ports" spares listing the nft table and the
  // port records; without a record (crash before it was written) the table is searched for
  // the container's chain and every port record is looked at
  const noPorts = state?.mode !== undefined && (state.mode !== 'bridge' || (Array.isArray(state.ports) && state.ports.length === 0));
  // the recorded ports name its rules: removed by name in a transaction of our own, and each
  // port's binding with its endpoint, without listing the table; without a record the table is
  // listed, and the ports' bindings go in the same batch
  const known = !noPorts && Array.isArray(state?.ports) ? state.ports : undefined;
  const listed = !noPorts && !known;
  const bindings = listed ? nets.flatMap((n) => dropGuardScript(hostIfname(containerId, n.id))) : [];
  await runAll([
    ['port rules', () => (known ? dropContainerRules(containerId, known) : listed ? teardownContainerRules(containerId, bindings) : undefined)],
    ['host ports', () => (noPorts ? undefined : releasePorts(containerId))],
    ...nets.map((n) => [`endpoint on ${n.name}`, () => releaseEndpoint(containerId, n.id, containerGone, listed, n)] as const),
    ['dns', () => (nets.some((n) => n.dns) ? pokeDns() : undefined)],
  ]);
}

/**
 * A UDP client that was already sending to a port before it was published has a conntrack
 * entry without DNAT, refreshed by every packet, so it would never reach the container
 * (CNI portmap deletes these too). Done with conntrack(8) when it is installed.
 */
async function flushStaleUdp(ports: PublishedPort[]): Promise<void> {
  for (const p of ports.filter((x) => x.proto === 'udp')) {
    try {
      await exec(['conntrack', '-D', '-p', 'udp', '--orig-port-dst', String(p.hostPort)], { okCodes: [0, 1] });
    } catch {
      ilog.debug('conntrack(8) not installed: stale UDP flows to newly published ports are not flushed');
      return;
    }
  }
}

export { formatPorts, networkSettings } from './settings.js';
export { hostNameservers };
export { superviseDns } from './dns.js';

/** Whether the container publishes ports (its monitor then reads their IPv6 side at `go`). */
export function publishes(plan: NetworkPlan): boolean {
  return plan.mode === 'bridge' && (plan as BridgePlan).publish.length > 0;
}

/** A container on a user network relies on the embedded DNS: what its monitor watches to keep it alive. */
export function dnsWatch(plan: NetworkPlan): { pidFile: string; match: string } | undefined {
  return plan.mode === 'bridge' && plan.network !== DEFAULT_NETWORK ? dnsDaemonWatch() : undefined;
}
export { resolveJoinTarget } from './joined.js';
