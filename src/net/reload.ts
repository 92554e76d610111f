/**
 * `tsdocker network reload`: put tsdocker's bridges and nftables rules back after something
 * wiped them (a firewall reload, `nft flush ruleset`, a reboot with containers restarted by
 * hand). Everything is rebuilt from the records: each network in use (bridge, network rules,
 * iptables accepts when FORWARD drops), then each running container's port bindings and
 * published ports; and the embedded DNS, when it was killed.
 *
 * The start path repairs the same way when it finds the damage: a bridge gone while the
 * network still has containers (`repairNetworkLocked`), or tsdocker's tables or a network's
 * chains gone, which makes the start's nft batch fail (`nftApplyRepairing`). A container is
 * never started without its isolation: what cannot be repaired is refused.
 */
import { withLock } from '../state/lock.js';
import { exec } from '../sys/exec.js';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { listContainers } from '../state/containers.js';
import { nftApply, tableName } from './nft.js';
import { containerPortsScript, type ContainerPorts } from './dnat.js';
import { nftBatch, type ForwardSeen } from './compat.js';
import { bindPort, portGuardScript, type GuardedPort } from './guard.js';
import { superviseDns } from './dns.js';
import { ensureInfra, liveEndpoints } from './networks.js';
import { DEFAULT_NETWORK, NET_LOCK, listNetworks, type NetworkRecord } from './store.js';
import type { NetworkState } from './index.js';

const rlog = log.child({ mod: 'net.reload' });

/** A network's bridge and rules, and its containers' veths back on the bridge. Caller holds the lock. */
export async function repairNetworkLocked(n: NetworkRecord, bridgeKnownMissing = false): Promise<void> {
  await ensureInfra(n, bridgeKnownMissing);
  // veths survive their bridge's deletion, detached: put the live ones back (-force: go past gone ones)
  const eps = liveEndpoints(n.id);
  if (eps.length) {
    await exec(['ip', '-force', '-batch', '-'], {
      input: eps.map((e) => `link set ${e.hostIfname} master ${n.bridge} up`).join('\n') + '\n',
      okCodes: [0, 1],
    });
  }
}

export async function reloadNetworks(): Promise<{ networks: string[]; containers: number }> {
  const networks: string[] = [];
  await superviseDns();
  await withLock(NET_LOCK, async () => {
    for (const n of listNetworks()) {
      // the idle default bridge, and overlays this host has no container on, have no links to put back
      if ((n.name === DEFAULT_NETWORK || n.driver === 'overlay') && liveEndpoints(n.id).length === 0) continue;
      await repairNetworkLocked(n);
      networks.push(n.name);
    }
  });
  let containers = 0;
  const byId = new Map(listNetworks().map((n) => [n.id, n]));
  for (const v of await listContainers()) {
    const st = v.state?.network as NetworkState | undefined;
    if (v.status !== 'running' || !st?.endpoints?.length) continue;
    // each port's binding to its MAC and address (records of older versions have no MAC: no binding)
    const guards = st.endpoints.flatMap((e) => {
      const net = byId.get(e.networkId);
      return net && e.mac ? portGuardScript({ net, hostIf: e.hostIfname, ip: e.ip, mac: e.mac }) : [];
    });
    const ip = st.endpoints[0]!.ip;
    const ports = containerPortsScript(v.config.id, (st.ports ?? []).map((p) => ({ ...p, containerIp: ip })));
    await nftApply([...guards, ...ports]);
    if (ports.length) containers++;
  }
  return { networks, containers };
}

/**
 * Apply a start's nft batch (a port's binding, published ports). It names the network's chains
 * and tsdocker's tables without creating them, so it fails (ENOENT) when they were deleted
 * behind tsdocker's back: then everything is rebuilt as `network reload` does, said in one
 * line, and the batch applied again.
 */
export async function nftApplyRepairing(lines: string[]): Promise<void> {
  const input = lines.join('\n') + '\n';
  const first = await nftBatch(input, [0, 1], 'lib');
  if (first.code === 0) return;
  if (!/No such file or directory/.test(first.stderr)) {
    throw new TsdError('CMD_FAILED', `nft -f -: exit ${first.code}: ${first.stderr.trim().split('\n').slice(-3).join('; ')}`);
  }
  await rebuildAll(() => nftApply(lines));
}

/**
 * A port's binding and the container's published ports (guard.ts `bindPort`), repaired as
 * nftApplyRepairing does when our tables are gone; through libnftables when the native way
 * cannot. What the FORWARD check needs next, when known.
 */
export async function bindPortRepairing(g: GuardedPort, ports?: ContainerPorts): Promise<ForwardSeen | undefined> {
  const r = bindPort(g, ports);
  const lines = (): string[] => [...portGuardScript(g), ...(ports ? containerPortsScript(ports.ctrId, ports.rules) : [])];
  if (r === 'gone') await rebuildAll(() => nftApply(lines()));
  else if (r === undefined) await nftApplyRepairing(lines());
  else return r;
  return undefined;
}

/**
 * Everything rebuilt as `network reload` does, said in one line, then `andThen`; a failure is
 * refused with the hint to run `network reload` (never a container without its isolation).
 * The caller does not hold the net lock.
 */
export async function rebuildAll(andThen: () => Promise<void> = async () => undefined): Promise<void> {
  rlog.warn(`tsdocker's nftables rules (tables inet and bridge ${tableName()}) were removed outside tsdocker: rebuilding them as \`tsdocker network reload\` does`);
  try {
    await reloadNetworks();
    await andThen();
  } catch (err) {
    throw new TsdError('NETWORK_INVALID', `tsdocker's firewall rules were removed and could not be rebuilt: ${(err as Error).message}`, {
      hint: 'run `tsdocker network reload`, then start the container again',
      cause: err,
    });
  }
}
