/**
 * The overlay driver: a network spanning hosts. On each host it is a bridge holding the
 * gateway (so NAT out, published ports and the embedded DNS work as on a bridge network)
 * with a VXLAN port (overlay/vxlan.ts); addresses are allocated cluster-wide in etcd
 * (overlay/cluster.ts); the agent (overlay/agent.ts) programs the remote endpoints. The
 * links are made on a host when its first container joins, as Docker's overlay does.
 */
import { TsdError } from '../../sys/errors.js';
import { attachVeth, deleteLink, ensureBridge } from '../bridge.js';
import { saveNetwork, type NetworkRecord } from '../store.js';
import { requireCluster } from '../overlay/config.js';
import { ensureVxlan, overlayBridgeName, underlayMtu, vtepMac, vxlanName } from '../overlay/vxlan.js';
import type { NetworkDriver } from './index.js';

function intOption(options: Record<string, string>, key: string, lo: number, hi: number): number | undefined {
  const raw = options[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < lo || n > hi) {
    throw new TsdError('NETWORK_INVALID', `invalid -o ${key}=${raw}: must be between ${lo} and ${hi}`);
  }
  return n;
}

/** This host's MTU for the network: -o mtu, else the underlay's minus the 50 bytes of VXLAN. */
async function hostMtu(net: NetworkRecord, advertise: string): Promise<number> {
  if (net.mtuFixed) return net.mtu;
  const under = await underlayMtu(advertise);
  if (under === undefined) {
    throw new TsdError('NETWORK_INVALID', `no interface on this host holds the advertise address ${advertise}`, {
      hint: 'give --advertise-addr an address of this host on the underlay',
    });
  }
  return under - 50;
}

export const overlayDriver: NetworkDriver = {
  name: 'overlay',
  traits: { hostFirewall: true, publish: true, hostGateway: true },

  validate(rec, o) {
    const options = o.options ?? {};
    if (o.ipRange !== undefined) throw new TsdError('NETWORK_INVALID', '--ip-range is not supported on overlay networks');
    const mtu = intOption(options, 'mtu', 68, 65535) ?? intOption(options, 'com.docker.network.driver.mtu', 68, 65535);
    return {
      ...rec,
      bridge: overlayBridgeName(rec.id),
      vxlan: vxlanName(rec.id),
      vni: intOption(options, 'vni', 1, 16777215) ?? 0,
      vxlanPort: intOption(options, 'vxlan-port', 1, 65535) ?? 4789,
      mtu: mtu ?? 0,
      ...(mtu ? { mtuFixed: true } : {}),
      dns: true,
    };
  },

  async ensureNetwork(net, knownMissing) {
    const cfg = requireCluster();
    const mtu = await hostMtu(net, cfg.advertise);
    if (mtu !== net.mtu) {
      net.mtu = mtu;
      saveNetwork(net);
    }
    const created = await ensureBridge(net, knownMissing);
    try {
      await ensureVxlan({ name: net.vxlan!, bridge: net.bridge, vni: net.vni!, port: net.vxlanPort!, local: cfg.advertise, mac: vtepMac(cfg.nodeId, net.id), mtu });
    } catch (err) {
      if (created) await deleteLink(net.bridge);
      throw err;
    }
    const { ensureAgent } = await import('../overlay/agentctl.js');
    await ensureAgent(cfg);
    return created;
  },

  async removeNetwork(net) {
    await deleteLink(net.vxlan ?? vxlanName(net.id));
    await deleteLink(net.bridge);
  },

  attach: (net, req) => attachVeth({ ...req, net }),
  detach: async (_net, req) => (req.namespaceDies ? undefined : deleteLink(req.hostIf, req.containerGone)),

  async allocate(net, req) {
    const { allocateAddress } = await import('../overlay/cluster.js');
    return allocateAddress(net, req);
  },
  async release(net, containerId) {
    const { releaseAddress } = await import('../overlay/cluster.js');
    await releaseAddress(net, containerId);
  },
  async inspect(net) {
    const { overlayInspect } = await import('../overlay/inspect.js');
    return overlayInspect(net);
  },
};
