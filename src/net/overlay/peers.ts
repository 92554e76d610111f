/**
 * Only cluster members may send VXLAN to this host: a table of its own (so the bridge
 * firewall's batches never touch it), `inet <table>-overlay`, drops UDP to the overlay ports
 * from any source that is not a known peer VTEP. The sets are rewritten in one atomic batch
 * from the store by the agent; the counter shows what was dropped.
 *
 * The same table keeps conntrack off the two paths that need no state: the VXLAN datagrams
 * themselves, and container-to-container traffic inside an overlay subnet (br_netfilter
 * would track every bridged frame). Anything that may be NATed stays tracked: traffic to the
 * gateway, to host addresses (published ports, hairpin) and out of the subnet.
 */
import { exec } from '../../sys/exec.js';
import { nftApply, tableName } from '../nft.js';

export const peersTable = () => `${tableName()}-overlay`;

export interface LocalOverlay {
  bridge: string;
  subnet: string;
  gateway: string;
}

export function peersScript(peers: readonly string[], ports: readonly number[], nets: readonly LocalOverlay[] = []): string[] {
  const T = `inet ${peersTable()}`;
  return [
    `add table ${T}`,
    `add chain ${T} pre { type filter hook prerouting priority raw; policy accept; }`,
    `add chain ${T} out { type filter hook output priority raw; policy accept; }`,
    `flush chain ${T} pre`,
    `flush chain ${T} out`,
    `add rule ${T} pre udp dport @ports notrack`,
    `add rule ${T} out udp dport @ports notrack`,
    ...nets.map((n) => `add rule ${T} pre iifname ${JSON.stringify(n.bridge)} ip daddr ${n.subnet} ip daddr != ${n.gateway} notrack`),
    `add table ${T}`,
    `add set ${T} peers { type ipv4_addr; }`,
    `add set ${T} ports { type inet_service; }`,
    `add chain ${T} input { type filter hook input priority filter - 10; policy accept; }`,
    `flush chain ${T} input`,
    `add rule ${T} input udp dport @ports ip saddr != @peers counter name nonmember drop`,
    `flush set ${T} peers`,
    `flush set ${T} ports`,
    ...(peers.length ? [`add element ${T} peers { ${[...new Set(peers)].join(', ')} }`] : []),
    ...(ports.length ? [`add element ${T} ports { ${[...new Set(ports)].join(', ')} }`] : []),
  ];
}

export async function programPeers(peers: readonly string[], ports: readonly number[], nets: readonly LocalOverlay[]): Promise<void> {
  const T = `inet ${peersTable()}`;
  // the sets and the named counter must exist before the rules that use them
  await nftApply([`add table ${T}`, `add counter ${T} nonmember`, `add set ${T} ports { type inet_service; }`, ...peersScript(peers, ports, nets)]);
}

export async function removePeersTable(): Promise<void> {
  await exec(['nft', 'delete', 'table', 'inet', peersTable()], { okCodes: [0, 1] });
}
