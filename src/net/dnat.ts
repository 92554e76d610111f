/**
 * A container's published ports in the firewall (nft.ts): its DNAT chain ctr-<12 hex of its
 * id>, one rule per IPv4 port, and its `proto . port : jump ctr-<…>` entries in the ports map.
 * A start makes them in its binding's transaction, a removal takes them away by name from the
 * ports its state names: both as the messages nft makes of containerPortsScript and
 * dropContainerScript, sent by native/src/nftports.c (no libnftables, no cache to fill);
 * `network reload` runs containerPortsScript through nft, and a removal without a record lists
 * the table (teardownContainerRules). A port's IPv6 side is the monitor's relay
 * (native/src/proxy6.c), never DNAT.
 */
import { constants as osConstants } from 'node:os';
import { log } from '../sys/log.js';
import { portsUnbind, type NativePorts } from '../native/index.js';
import { after, carryForwardCheck, native, nftScript } from './compat.js';
import { ctrChain, dropChainScript, nftApply, readTable, tableName } from './nft.js';

const T = () => `inet ${tableName()}`;
const flog = log.child({ mod: 'net.dnat' });

export interface PortRule {
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** A container's published ports, for the transaction of its first endpoint (its binding's). */
export interface ContainerPorts {
  ctrId: string;
  rules: PortRule[];
}

/** The IPv4 sides: those with DNAT rules. */
const dnatRules = (all: PortRule[]): PortRule[] => all.filter((r) => !r.hostIp.includes(':'));

/**
 * containerPortsScript for native/src/nftports.c, which sends the messages nft makes of it:
 * undefined when there is no IPv4 side (no chain then).
 */
export function containerPortsNative(p: ContainerPorts): NativePorts | undefined {
  const rules = dnatRules(p.rules);
  if (rules.length === 0) return undefined;
  const lines = rules.map((r) => `${r.proto} ${r.hostIp || '0.0.0.0'} ${r.hostPort} ${r.containerIp} ${r.containerPort}\n`);
  return { chain: ctrChain(p.ctrId), lines: lines.join('') };
}

export function containerPortsScript(ctrId: string, all: PortRule[]): string[] {
  const rules = dnatRules(all);
  if (rules.length === 0) return [];
  const cc = ctrChain(ctrId);
  const lines = [`add chain ${T()} ${cc}`, `flush chain ${T()} ${cc}`];
  const keys = new Set<string>();
  for (const r of rules) {
    // a port published on a loopback address answers only the host itself: a neighbour that
    // sends packets for 127.0.0.1 to our MAC must not reach it (moby#45610)
    const loop = r.hostIp.startsWith('127.') ? 'fib saddr type local ' : '';
    const dst = r.hostIp && r.hostIp !== '0.0.0.0' ? `ip daddr ${r.hostIp} ${loop}` : '';
    lines.push(
      `add rule ${T()} ${cc} ${dst}meta l4proto ${r.proto} th dport ${r.hostPort} dnat ip to ${r.containerIp}:${r.containerPort}`,
    );
    keys.add(`${r.proto} . ${r.hostPort}`);
  }
  lines.push(`add element ${T()} ports { ${[...keys].map((k) => `${k} : jump ${cc}`).join(', ')} }`);
  return lines;
}

/** What names a published port's dispatch entry: `proto . hostPort` in the ports map (IPv4 sides only: IPv6 is relayed). */
export type PortKey = Pick<PortRule, 'proto' | 'hostIp' | 'hostPort'>;

const portKeys = (ports: PortKey[]): PortKey[] =>
  ports.filter((p, i) => !p.hostIp.includes(':') && ports.findIndex((q) => q.proto === p.proto && q.hostPort === p.hostPort && !q.hostIp.includes(':')) === i);

/**
 * Remove exactly a container's DNAT chain and the dispatch entries of `ports` (what its state
 * says it published): no listing. One transaction: it fails (ENOENT, EBUSY) and changes
 * nothing when one of them is not there or another entry still jumps to the chain. So it
 * never takes the entry of a successor that took over a port of a container that stopped
 * without its cleanup: that container's entries and chain went together before (its
 * teardown by staleOwners, one batch), and the missing chain fails this batch.
 */
export function dropContainerScript(ctrId: string, ports: PortKey[]): string[] {
  const keys = portKeys(ports).map((p) => `${p.proto} . ${p.hostPort}`);
  const cc = ctrChain(ctrId);
  // no IPv4 side: containerPortsScript made no chain
  if (keys.length === 0) return [];
  return [`delete element ${T()} ports { ${keys.join(', ')} }`, `flush chain ${T()} ${cc}`, `delete chain ${T()} ${cc}`];
}

/**
 * Remove a container's DNAT chain and its port dispatch entries by name, from `ports`, the
 * ports its state says it published: dropContainerScript as a transaction of our own
 * (native/src/nftports.c: no libnftables, no cache), through libnftables without the native
 * library. Without listing the table, which grows with every container that publishes. When
 * something is not there (a removal half done before, a crash), the table is listed
 * (teardownContainerRules).
 */
export async function dropContainerRules(ctrId: string, ports: PortKey[]): Promise<void> {
  const keys = portKeys(ports).map((p) => `${p.proto} ${p.hostPort}\n`);
  if (keys.length === 0) return;
  const rc = native(() => portsUnbind(tableName(), ctrChain(ctrId), keys.join('')));
  if (rc !== undefined && rc >= 0) {
    carryForwardCheck(rc, after(rc));
    return;
  }
  const { ENOENT, EBUSY } = osConstants.errno;
  const missing = rc === -ENOENT || rc === -EBUSY;
  if (!missing && (await nftScript(dropContainerScript(ctrId, ports).join('\n') + '\n', [0, 1], 'lib')).code === 0) return;
  flog.debug({ ctr: ctrId }, 'removing the port rules by name failed: listing the table');
  await teardownContainerRules(ctrId);
}

/**
 * Remove a container's DNAT chain and its port dispatch entries, found by listing the table:
 * idempotent, needs no record. `alsoLines` (its ports' bindings) share the batch; should they
 * fail (their table is gone), ours go alone.
 */
export async function teardownContainerRules(ctrId: string, alsoLines: string[] = []): Promise<void> {
  // a container's removal: in process (compat.ts, NftVia)
  const view = await readTable('lib');
  const own = view ? dropChainScript(view, ctrChain(ctrId)) : [];
  if (alsoLines.length === 0) return nftApply(own, 'lib');
  const r = await nftScript([...own, ...alsoLines].join('\n') + '\n', [0, 1], 'lib');
  if (r.code !== 0) await nftApply(own, 'lib');
}
