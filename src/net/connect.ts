/**
 * `network connect` / `network disconnect`: on a running container a further interface
 * (eth1, eth2, ...) appears in, or goes from, the container's namespace and its recorded
 * network state (state.json) follows; in every state the connection is kept in the
 * container's plan (config.json), so it comes back at the next start, as Docker does, and a
 * stopped container can be connected or disconnected. Both under the container's lock.
 */
import { withLock } from '../state/lock.js';
import { findContainer, writeConfig, writeState } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';
import { attachEndpoint, releaseEndpoint, type EndpointState } from './endpoint.js';
import { removeContainerIf } from './bridge.js';
import { dropContainerRules } from './dnat.js';
import { releasePorts } from './ports.js';
import { pokeDns } from './dns.js';
import { DEFAULT_NETWORK, findNetwork, listEndpoints } from './store.js';
import { resolveNetwork } from './networks.js';
import type { ConnectedNetwork, NetworkState } from './index.js';

interface PlanView { mode?: string; network?: string; ip?: string; aliases?: string[]; connected?: ConnectedNetwork[]; primaryDisconnected?: boolean }

/** The networks a container's plan puts it on at start. */
function plannedNetworks(plan: PlanView): string[] {
  if (plan.mode !== 'bridge') return [];
  return [...(plan.primaryDisconnected ? [] : [plan.network ?? DEFAULT_NETWORK]), ...(plan.connected ?? []).map((c) => c.network)];
}

/** Change the container's plan (config.json) under its lock. */
async function updatePlan(id: string, fn: (plan: PlanView) => void): Promise<void> {
  await withLock(`ctr-${id}`, async () => {
    const cur = await findContainer(id);
    const plan = { ...(cur.config.network as PlanView) };
    fn(plan);
    await writeConfig({ ...cur.config, network: plan as Record<string, unknown> });
  });
}

function remember(plan: PlanView, netName: string, o: ConnectOptions): void {
  if (plan.primaryDisconnected && plan.network === netName) {
    // connected again to the network it was created on: with this connect's alias and address
    plan.primaryDisconnected = false;
    plan.aliases = o.aliases;
    if (o.ip) plan.ip = o.ip;
    else delete plan.ip;
  }
  else plan.connected = [...(plan.connected ?? []), { network: netName, ...(o.ip ? { ip: o.ip } : {}), aliases: o.aliases }];
}

function forget(plan: PlanView, netName: string): void {
  if (!plan.primaryDisconnected && (plan.network ?? DEFAULT_NETWORK) === netName) plan.primaryDisconnected = true;
  else plan.connected = (plan.connected ?? []).filter((c) => c.network !== netName);
}

export interface ConnectOptions {
  ip?: string;
  aliases: string[];
}

export async function connectContainer(netRef: string, ctrRef: string, o: ConnectOptions): Promise<EndpointState | undefined> {
  const net = await resolveNetwork(netRef);
  const v = await findContainer(ctrRef);
  const id = v.config.id;
  const plan = v.config.network as PlanView;
  if (plan.mode !== 'bridge') {
    throw new TsdError('BAD_ARGS', `container ${v.config.name} uses network mode ${plan.mode ?? 'none'}: it cannot be connected to a bridge network`, {
      hint: 'only containers on bridge networks can be connected to further networks',
    });
  }
  if (net.name === DEFAULT_NETWORK && (o.ip || o.aliases.length)) {
    throw new TsdError('BAD_ARGS', 'user specified IP address and aliases are supported on user defined networks only');
  }
  if (listEndpoints(net.id).some((e) => e.containerId === id) || (v.status !== 'running' && plannedNetworks(plan).includes(net.name))) {
    throw new TsdError('NETWORK_EXISTS', `endpoint with name ${v.config.name} already exists in network ${net.name}`, { exitCode: 1 });
  }
  if (v.status !== 'running' || !v.state) {
    // a stopped container: attached at its next start
    await updatePlan(id, (p) => remember(p, net.name, o));
    return undefined;
  }
  // whether it is on the network already, and its next ethN: decided under the net lock
  const ep = await attachEndpoint({
    containerId: id,
    containerName: v.config.name,
    pid: v.state.pid,
    network: net.name,
    ...(o.ip ? { ip: o.ip } : {}),
    aliases: o.aliases,
    defaultRoute: false,
    running: true,
    dns: [],
  });
  await withLock(`ctr-${id}`, async () => {
    const cur = await findContainer(id);
    const curNet = (cur.state?.network ?? {}) as NetworkState;
    if (cur.state) await writeState(id, { ...cur.state, network: { ...curNet, endpoints: [...(curNet.endpoints ?? []), ep] } });
  });
  await updatePlan(id, (p) => remember(p, net.name, o));
  return ep;
}

export async function disconnectContainer(netRef: string, ctrRef: string): Promise<void> {
  const net = findNetwork(netRef);
  const v = await findContainer(ctrRef);
  const id = v.config.id;
  const attached = listEndpoints(net.id).some((e) => e.containerId === id);
  if (!attached && !(v.status !== 'running' && plannedNetworks(v.config.network as PlanView).includes(net.name))) {
    throw new TsdError('BAD_ARGS', `container ${v.config.name} is not connected to network ${net.name}`, { exitCode: 1 });
  }
  await updatePlan(id, (p) => forget(p, net.name));
  if (!attached) return;
  const ns = (v.state?.network ?? {}) as NetworkState;
  const ep = (ns.endpoints ?? []).find((e) => e.networkId === net.id);
  if (v.status === 'running' && v.state && ep) await removeContainerIf(v.state.pid, ep.ifname);
  if (ep?.ifname === 'eth0' && ns.ports?.length) {
    // the published ports pointed at this address
    await dropContainerRules(id, ns.ports);
    releasePorts(id);
  }
  await releaseEndpoint(id, net.id);
  pokeDns();
  if (v.state) {
    await withLock(`ctr-${id}`, async () => {
      const cur = await findContainer(id);
      const curNet = (cur.state?.network ?? {}) as NetworkState;
      if (cur.state) {
        await writeState(id, {
          ...cur.state,
          network: {
            ...curNet,
            endpoints: (curNet.endpoints ?? []).filter((e) => e.networkId !== net.id),
            ...(ep?.ifname === 'eth0' ? { ports: [] } : {}),
          },
        });
      }
    });
  }
}
