/**
 * `tsdocker network reload`: put tsdocker's bridges and nftables rules back after something
 * wiped them (a firewall reload, `nft flush ruleset`, a reboot with containers restarted by
 * hand). Everything is rebuilt from the records: each network in use (bridge, network rules,
 * iptables accepts when FORWARD drops), then each running container's published ports; and
 * the embedded DNS, when it was killed.
 */
import { withLock } from '../state/lock.js';
import { exec } from '../sys/exec.js';
import { listContainers } from '../state/containers.js';
import { containerPortsScript, nftApply } from './nft.js';
import { superviseDns } from './dns.js';
import { ensureInfra, liveEndpoints } from './networks.js';
import { DEFAULT_NETWORK, NET_LOCK, listNetworks } from './store.js';
import type { NetworkState } from './index.js';

export async function reloadNetworks(): Promise<{ networks: string[]; containers: number }> {
  const networks: string[] = [];
  await superviseDns();
  await withLock(NET_LOCK, async () => {
    for (const n of listNetworks()) {
      if (n.name === DEFAULT_NETWORK && liveEndpoints(n.id).length === 0) continue;
      await ensureInfra(n);
      // veths survive their bridge's deletion, detached: put the live ones back (-force: go past gone ones)
      const eps = liveEndpoints(n.id);
      if (eps.length) {
        await exec(['ip', '-force', '-batch', '-'], {
          input: eps.map((e) => `link set ${e.hostIfname} master ${n.bridge} up`).join('\n') + '\n',
          okCodes: [0, 1],
        });
      }
      networks.push(n.name);
    }
  });
  let containers = 0;
  for (const v of await listContainers()) {
    const st = v.state?.network as NetworkState | undefined;
    if (v.status !== 'running' || !st?.ports?.length || !st.endpoints?.[0]) continue;
    const ip = st.endpoints[0].ip;
    await nftApply(containerPortsScript(v.config.id, st.ports.map((p) => ({ ...p, containerIp: ip }))));
    containers++;
  }
  return { networks, containers };
}
