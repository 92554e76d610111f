/**
 * Anti-spoofing: each bridge port is bound to its container's MAC and IPv4 address, in the
 * bridge family (it sees every frame a container sends, bridged to a neighbour or to the
 * host, with or without br_netfilter), in a table of the same name as our inet table:
 *
 *   prerouting (bridge filter):  iifname vmap @guard -> ep-<12 hex of the host veth>
 *   ep-<…>:                      another source MAC, a frame that is neither IPv4, ARP nor
 *                                IPv6, an ARP sender or IPv4 source that is not the
 *                                container's: counted in the named counter `spoofed`, dropped
 *
 * The container's MAC is derived from its address (02:42 + the 4 bytes, as Docker does) and
 * set when its veth is made, so the rule exists before its first frame. A port's chain and
 * map element carry the host veth's name, itself derived from (container, network): teardown
 * needs no state, and its batch (add, then delete, in one transaction) succeeds whether or
 * not they are there. Frames from ports without an entry (a vxlan device, say) pass.
 */
import { constants as osConstants } from 'node:os';
import { exec } from '../sys/exec.js';
import { guardBind, guardUnbind } from '../native/index.js';
import { netChain, tableName } from './nft.js';
import { containerPortsNative, type ContainerPorts } from './dnat.js';
import { after, carryForwardCheck, native, nftBatch, type ForwardSeen } from './compat.js';
import type { NetworkRecord } from './store.js';

const B = () => `bridge ${tableName()}`;
export const guardChain = (hostIf: string) => `ep-${hostIf.replace(/^tsd/, '')}`;

/** Docker's derivation: 02:42 followed by the IPv4 address, so a reused address keeps its MAC. */
export function macFor(ip: string): string {
  return `02:42:${ip
    .split('.')
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join(':')}`;
}

/** The bridge table's base (idempotent: part of every network's setup). */
export function guardBaseScript(): string[] {
  return [
    `add table ${B()}`,
    `add counter ${B()} spoofed`,
    `add map ${B()} guard { type ifname : verdict; }`,
    `add chain ${B()} prerouting { type filter hook prerouting priority filter; policy accept; }`,
    `flush chain ${B()} prerouting`,
    `add rule ${B()} prerouting iifname vmap @guard`,
  ];
}

export interface GuardedPort {
  net: NetworkRecord;
  hostIf: string;
  ip: string;
  mac: string;
}

/**
 * A port's binding. It adds no table, map or base chain: when tsdocker's tables or this
 * network's chains were deleted behind its back, the batch fails (ENOENT), which is how the
 * start path notices (`nftApplyRepairing` in reload.ts) without a check of its own.
 */
export function portGuardScript(g: GuardedPort): string[] {
  const c = guardChain(g.hostIf);
  const drop = 'counter name spoofed drop';
  return [
    `add element inet ${tableName()} netfwd { ${JSON.stringify(g.net.bridge)} : jump ${netChain(g.net.id)} }`,
    `add chain ${B()} ${c}`,
    `flush chain ${B()} ${c}`,
    `add rule ${B()} ${c} ether saddr != ${g.mac} ${drop}`,
    `add rule ${B()} ${c} ether type != { ip, arp, ip6 } ${drop}`,
    `add rule ${B()} ${c} arp saddr ether != ${g.mac} ${drop}`,
    `add rule ${B()} ${c} arp saddr ip != ${g.ip} ${drop}`,
    `add rule ${B()} ${c} ip saddr != ${g.ip} ${drop}`,
    `add element ${B()} guard { ${JSON.stringify(g.hostIf)} : jump ${c} }`,
  ];
}

/**
 * A port's binding, and the container's published ports with it (`ports`), as one transaction
 * of our own (native/src/nftguard.c and nftports.c send the messages nft makes of
 * portGuardScript and containerPortsScript, with no libnftables in the process, no cache to
 * fill): what the FORWARD check needs next (our commit was the only change). 'gone': a table,
 * chain, set or counter of ours is missing, nothing was changed, the caller repairs (as the nft
 * batch's ENOENT says). undefined: this way could not (no native library, another refusal):
 * the caller runs the scripts through nft, which says what is wrong in nft's words.
 */
export function bindPort(g: GuardedPort, ports?: ContainerPorts): ForwardSeen | 'gone' | undefined {
  const names = { table: tableName(), bridge: g.net.bridge, netChain: netChain(g.net.id), hostIf: g.hostIf, chain: guardChain(g.hostIf) };
  const dnat = ports ? containerPortsNative(ports) : undefined;
  let forwardDrops: boolean | undefined;
  const rc = native(() => {
    const r = guardBind(names, g.mac, g.ip, dnat);
    forwardDrops = r.forwardDrops;
    return r.gen;
  });
  if (rc === undefined) return undefined;
  if (rc >= 0) return { ...carryForwardCheck(rc, after(rc)), forwardDrops };
  return rc === -osConstants.errno.ENOENT ? 'gone' : undefined;
}

/** Remove a port's binding by name: idempotent in one transaction (add, then delete). */
export function dropGuardScript(hostIf: string): string[] {
  const c = guardChain(hostIf);
  return [
    `add chain ${B()} ${c}`,
    `flush chain ${B()} ${c}`,
    `add element ${B()} guard { ${JSON.stringify(hostIf)} : jump ${c} }`,
    `delete element ${B()} guard { ${JSON.stringify(hostIf)} }`,
    `delete chain ${B()} ${c}`,
  ];
}

/** Remove a port's binding (in process: a container's removal); a missing table (nothing to remove) is fine. */
export async function dropGuard(hostIf: string): Promise<void> {
  // dropGuardScript as our own transaction (native/src/nftguard.c), else through nft
  const rc = native(() => guardUnbind(tableName(), hostIf, guardChain(hostIf)));
  if (rc !== undefined && rc >= 0) carryForwardCheck(rc, after(rc));
  if (rc !== undefined && (rc >= 0 || rc === -osConstants.errno.ENOENT)) return;
  const r = await nftBatch(dropGuardScript(hostIf).join('\n') + '\n', [0, 1], 'lib');
  if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) throw new Error(`nft: removing the binding of ${hostIf}: ${r.stderr.trim()}`);
}

/** The bridge table goes with the inet table (the last network's teardown). */
export async function deleteGuardTable(): Promise<void> {
  const r = await exec(['nft', 'delete', 'table', 'bridge', tableName()], { okCodes: [0, 1] });
  if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) throw new Error(`nft delete table ${B()}: ${r.stderr.trim()}`);
}
