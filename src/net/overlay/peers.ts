/**
 * Only cluster members may send VXLAN to this host: a table of its own (so the bridge
 * firewall's batches never touch it), `inet <table>-overlay`, drops UDP to the overlay ports
 * from any source that is not a known peer VTEP. The sets are rewritten in one atomic batch
 * from the store by the agent; the counter shows what was dropped.
 */
import { exec } from '../../sys/exec.js';
import { nftApply, tableName } from '../nft.js';

export const peersTable = () => `${tableName()}-overlay`;

export function peersScript(peers: readonly string[], ports: readonly number[]): string[] {
  const T = `inet ${peersTable()}`;
  return [
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

export async function programPeers(peers: readonly string[], ports: readonly number[]): Promise<void> {
  const T = `inet ${peersTable()}`;
  // the named counter must exist before the rule that uses it
  await nftApply([`add table ${T}`, `add counter ${T} nonmember`, ...peersScript(peers, ports)]);
}

export async function removePeersTable(): Promise<void> {
  await exec(['nft', 'delete', 'table', 'inet', peersTable()], { okCodes: [0, 1] });
}
