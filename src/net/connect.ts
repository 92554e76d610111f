/**
 * `network connect` / `network disconnect` on a running container: a further interface
 * (eth1, eth2, ...) appears in, or goes from, the container's namespace; the container's
 * recorded network state (state.json) follows, under the container's lock.
 */
import { withLock } from '../state/lock.js';
import { findContainer, writeState, type ContainerView } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';
import { attachEndpoint, releaseEndpoint, type EndpointState } from './endpoint.js';
import { removeContainerIf } from './bridge.js';
import { teardownContainerRules } from './nft.js';
import { releasePorts } from './ports.js';
import { pokeDns } from './dns.js';
import { DEFAULT_NETWORK, findNetwork, listEndpoints } from './store.js';
import { resolveNetwork } from './networks.js';
import type { NetworkState } from './index.js';

async function running(ref: string): Promise<ContainerView & { state: NonNullable<ContainerView['state']> }> {
  const v = await findContainer(ref);
  if (v.status !== 'running' || !v.state) {
    throw new TsdError('CONTAINER_NOT_RUNNING', `container ${v.config.name} is not running`, { hint: `start it first: tsdocker start ${v.config.name}` });
  }
  return v as ContainerView & { state: NonNullable<ContainerView['state']> };
}

export interface ConnectOptions {
  ip?: string;
  aliases: string[];
}

export async function connectContainer(netRef: string, ctrRef: string, o: ConnectOptions): Promise<EndpointState> {
  const net = await resolveNetwork(netRef);
  const v = await running(ctrRef);
  const id = v.config.id;
  const ns = (v.state.network ?? {}) as NetworkState;
  if (ns.mode !== 'bridge') {
    throw new TsdError('BAD_ARGS', `container ${v.config.name} uses network mode ${ns.mode ?? 'none'}: it cannot be connected to a bridge network`);
  }
  if (net.name === DEFAULT_NETWORK && (o.ip || o.aliases.length)) {
    throw new TsdError('BAD_ARGS', 'user specified IP address and aliases are supported on user defined networks only');
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
  return ep;
}

export async function disconnectContainer(netRef: string, ctrRef: string): Promise<void> {
  const net = findNetwork(netRef);
  const v = await findContainer(ctrRef);
  const id = v.config.id;
  if (!listEndpoints(net.id).some((e) => e.containerId === id)) {
    throw new TsdError('BAD_ARGS', `container ${v.config.name} is not connected to network ${net.name}`);
  }
  const ns = (v.state?.network ?? {}) as NetworkState;
  const ep = (ns.endpoints ?? []).find((e) => e.networkId === net.id);
  if (v.status === 'running' && v.state && ep) await removeContainerIf(v.state.pid, ep.ifname);
  if (ep?.ifname === 'eth0' && ns.ports?.length) {
    // the published ports pointed at this address
    await teardownContainerRules(id);
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
