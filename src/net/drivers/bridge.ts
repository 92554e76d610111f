/**
 * The bridge driver: a Linux bridge on this host holding the gateway, containers on it by
 * veth. A thin face over bridge.ts (links) so the orchestrator needs no bridge knowledge.
 */
import { attachVeth, deleteLink, ensureBridge } from '../bridge.js';
import type { NetworkDriver } from './index.js';

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  traits: { hostFirewall: true, publish: true, hostGateway: true },
  validate: (rec) => rec,
  ensureNetwork: (net, knownMissing) => ensureBridge(net, knownMissing),
  removeNetwork: (net) => deleteLink(net.bridge),
  attach: (net, req) => attachVeth({ ...req, net }),
  detach: async (_net, req) => (req.namespaceDies ? undefined : deleteLink(req.hostIf, req.containerGone)),
};
