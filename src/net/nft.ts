/**
 * The firewall: one nftables table that tsdocker owns, `table inet tsdocker`, changed only by
 * atomic batches (`nft -f -` scripts; a container's ports as the same messages of our own,
 * native/src/nftports.c). Dispatch is by verdict maps, so nothing ever needs a rule handle:
 *
 *   forward (filter):     ct status dnat accept; iifname/oifname vmap @netfwd -> net-<id12>
 *   input (filter):       from a bridge to 127.0.0.0/8: replies only (counter localnet);
 *                         ip daddr vmap @gwin -> in-<id12> (the embedded DNS answers its own network only)
 *   prerouting/output:    fib daddr type local  meta l4proto . th dport vmap @ports -> ctr-<id12>
 *   postrouting (nat):    loopback sources leaving through our bridges: masquerade;
 *                         iifname/oifname vmap @netnat -> nat-<id12> (masquerade out, hairpin)
 *
 * A network's chains are net-<12 hex of its id> and nat-<…>; a container's DNAT chain is
 * ctr-<12 hex of its id> (its rules: dnat.ts). A container's teardown removes the chain and the entries of the
 * ports its state names, by name; without a state, or when that fails, and for a network's,
 * it lists the table once and removes exactly what carries those names (map elements first,
 * then the chains), so it works after a crash, twice, or when part of it is already gone.
 * Nothing outside our table is touched; the base chains
 * accept by default, so another program's traffic never changes fate because of us.
 */
import { exec } from '../sys/exec.js';
import { log } from '../sys/log.js';
import { DEFAULT_ROOT, rootDir } from '../state/paths.js';
import { shortHash, type NetworkRecord } from './store.js';
import { nftBatch, nftScript, type NftVia } from './compat.js';

/**
 * The table of this root: `tsdocker` for the default root, `tsdocker-<8 hex>` for any other
 * --root, so two roots in one namespace never delete each other's rules.
 */
export function tableName(): string {
  return rootDir() === DEFAULT_ROOT ? 'tsdocker' : `tsdocker-${shortHash(`root:${rootDir()}`, 8)}`;
}
const T = () => `inet ${tableName()}`;
const flog = log.child({ mod: 'net.nft' });

export const netChain = (netId: string) => `net-${netId.slice(0, 12)}`;
export const natChain = (netId: string) => `nat-${netId.slice(0, 12)}`;
export const ctrChain = (ctrId: string) => `ctr-${ctrId.slice(0, 12)}`;
export const inChain = (netId: string) => `in-${netId.slice(0, 12)}`;

export function baseScript(): string[] {
  return [
    `add table ${T()}`,
    `add set ${T()} bridges { type ifname; }`,
    `add map ${T()} netfwd { type ifname : verdict; }`,
    `add map ${T()} netnat { type ifname : verdict; }`,
    `add map ${T()} ports { type inet_proto . inet_service : verdict; }`,
    `add map ${T()} gwin { type ipv4_addr : verdict; }`,
    `add counter ${T()} localnet`,
    `add chain ${T()} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${T()} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${T()} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${T()} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${T()} input { type filter hook input priority filter; policy accept; }`,
    // base rules are rewritten as a whole (flush + add in the same transaction): idempotent
    `flush chain ${T()} forward`,
    `add rule ${T()} forward ct status dnat accept`,
    `add rule ${T()} forward iifname vmap @netfwd`,
    `add rule ${T()} forward oifname vmap @netfwd`,
    `flush chain ${T()} prerouting`,
    `add rule ${T()} prerouting fib daddr type local meta l4proto . th dport vmap @ports`,
    `flush chain ${T()} output`,
    `add rule ${T()} output fib daddr type local meta l4proto . th dport vmap @ports`,
    `flush chain ${T()} input`,
    // route_localnet (set on our bridges for 127.0.0.1 -> published port) also lets a container
    // send to the host's 127.0.0.1-only services (CVE-2020-8558): from a bridge, only replies
    // (a published port's answer to a host client on 127.0.0.1) may reach 127.0.0.0/8
    `add rule ${T()} input iifname @bridges ip daddr 127.0.0.0/8 ct state != { established, related } counter name localnet drop`,
    `add rule ${T()} input ip daddr vmap @gwin`,
    `flush chain ${T()} postrouting`,
    `add rule ${T()} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade`,
    `add rule ${T()} postrouting iifname vmap @netnat`,
    // br_netfilter bridges (not routes) a DNATed hairpin packet, and then postrouting has no iif
    `add rule ${T()} postrouting oifname vmap @netnat`,
  ];
}

export function networkScript(net: NetworkRecord, allBridges: string[]): string[] {
  const nc = netChain(net.id);
  const xc = natChain(net.id);
  const br = JSON.stringify(net.bridge);
  const ic = inChain(net.id);
  const lines = [
    ...baseScript(),
    `add chain ${T()} ${ic}`,
    `flush chain ${T()} ${ic}`,
    `add element ${T()} bridges { ${[...new Set([...allBridges, net.bridge])].map((b) => JSON.stringify(b)).join(', ')} }`,
    `add chain ${T()} ${nc}`,
    `flush chain ${T()} ${nc}`,
    `add chain ${T()} ${xc}`,
    `flush chain ${T()} ${xc}`,
  ];
  if (net.internal) {
    // no way out and no way in, except within the bridge
    lines.push(`add rule ${T()} ${nc} iifname ${br} oifname != ${br} drop`);
    lines.push(`add rule ${T()} ${nc} oifname ${br} iifname != ${br} drop`);
  } else {
    // isolation: nothing from this network into another tsdocker network (published ports excepted)
    lines.push(`add rule ${T()} ${nc} iifname ${br} oifname != ${br} oifname @bridges drop`);
    // from outside only replies and published ports (DNAT, accepted before the dispatch) get in:
    // a neighbour that routes to a container address directly reaches nothing unpublished
    lines.push(`add rule ${T()} ${nc} oifname ${br} iifname != ${br} ct state new drop`);
    lines.push(`add rule ${T()} ${xc} oifname != ${br} masquerade`);
  }
  // the embedded DNS on the gateway answers this network's containers only (not the LAN, not other networks)
  lines.push(`add rule ${T()} ${ic} meta l4proto { tcp, udp } th dport 53 iifname != ${br} drop`);
  lines.push(`add element ${T()} gwin { ${net.gateway} : jump ${ic} }`);
  // hairpin: a container reaching a published port on its own network
  lines.push(`add rule ${T()} ${xc} oifname ${br} ip saddr ${net.subnet} ct status dnat masquerade`);
  lines.push(`add element ${T()} netfwd { ${br} : jump ${nc} }`);
  lines.push(`add element ${T()} netnat { ${br} : jump ${xc} }`);
  return lines;
}

/** Whether both of this root's tables (inet, and bridge for the port bindings) exist: one `nft list tables`. */
export async function tablesPresent(): Promise<boolean> {
  const r = await exec(['nft', 'list', 'tables'], { okCodes: [0, 1] });
  const have = new Set(r.stdout.split('\n').map((l) => l.trim()));
  return have.has(`table inet ${tableName()}`) && have.has(`table bridge ${tableName()}`);
}

export async function nftApply(lines: string[], via: NftVia = 'nft'): Promise<void> {
  if (lines.length === 0) return;
  await nftBatch(lines.join('\n') + '\n', [0], via);
}

export interface TableView {
  chains: Set<string>;
  /** map name -> [key expression as nft text, verdict target] */
  elems: Map<string, { key: string; target: string }[]>;
  /** members of plain sets (bridges) */
  members: Map<string, string[]>;
}

type NftJson = { nftables: Record<string, any>[] };

function keyText(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'number') return String(k);
  if (k && typeof k === 'object' && 'concat' in k) return (k as { concat: unknown[] }).concat.map((x) => (typeof x === 'string' ? x : String(x))).join(' . ');
  return String(k);
}

export async function readTable(via: NftVia = 'nft'): Promise<TableView | undefined> {
  const r = await nftScript(`list table inet ${tableName()}\n`, [0, 1], via, true);
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as NftJson;
  const view: TableView = { chains: new Set(), elems: new Map(), members: new Map() };
  for (const o of j.nftables) {
    if (o.chain) view.chains.add(o.chain.name as string);
    if (o.map && Array.isArray(o.map.elem)) {
      const list = (o.map.elem as [unknown, Record<string, { target: string }>][]).map(([k, v]) => ({
        key: keyText(k),
        target: (v.jump ?? v.goto)?.target ?? '',
      }));
      view.elems.set(o.map.name as string, list);
    }
    if (o.set && Array.isArray(o.set.elem)) view.members.set(o.set.name as string, (o.set.elem as unknown[]).map(String));
  }
  return view;
}

export function dropChainScript(view: TableView, chain: string): string[] {
  const lines: string[] = [];
  for (const [map, list] of view.elems) {
    const keys = list.filter((e) => e.target === chain).map((e) => e.key);
    if (keys.length) lines.push(`delete element ${T()} ${map} { ${keys.join(', ')} }`);
  }
  if (view.chains.has(chain)) lines.push(`flush chain ${T()} ${chain}`, `delete chain ${T()} ${chain}`);
  return lines;
}

/**
 * Remove a network's chains and map entries. When no other network has infrastructure left
 * (`remainingNetworks` 0: then no container has port rules either), the whole table goes in
 * one command, without listing it first.
 */
export async function teardownNetworkRules(net: NetworkRecord, remainingNetworks: number): Promise<void> {
  if (remainingNetworks === 0) {
    const r = await exec(['nft', 'delete', 'table', 'inet', tableName()], { okCodes: [0, 1] });
    if (r.code !== 0 && !/No such file or directory/.test(r.stderr)) {
      throw new Error(`nft delete table inet ${tableName()}: ${r.stderr.trim()}`);
    }
    flog.debug('last tsdocker network gone: deleted table inet tsdocker');
    return;
  }
  const view = await readTable();
  if (!view) return;
  const lines = [netChain, natChain, inChain].flatMap((c) => dropChainScript(view, c(net.id)));
  if ((view.members.get('bridges') ?? []).includes(net.bridge)) {
    lines.push(`delete element ${T()} bridges { ${JSON.stringify(net.bridge)} }`);
  }
  await nftApply(lines);
}
