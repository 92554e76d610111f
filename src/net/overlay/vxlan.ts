/**
 * The overlay's data plane, all in the kernel: per network a bridge (the gateway, as for a
 * bridge network) with a VXLAN device as one of its ports (`local` = advertise address,
 * `nolearning`, `proxy`: it answers ARP from its static neighbour table, so no ARP ever
 * crosses the underlay and no miss reaches userspace). Remote endpoints are static entries:
 *   bridge fdb replace MAC dev VX self permanent dst VTEP   (which host)
 *   bridge fdb replace MAC dev VX master static             (the bridge sends it to the tunnel)
 *   ip neigh replace IP lladdr MAC dev VX nud permanent     (answered by the proxy)
 * computed as a desired set and applied as a diff against what the kernel holds (replace
 * semantics: an entry that exists already can never make the write fail).
 */
import { exec } from '../../sys/exec.js';
import { shortHash } from '../store.js';

export const vxlanName = (netId: string) => `tsdvx-${netId.slice(0, 8)}`;
export const overlayBridgeName = (netId: string) => `tsdov-${netId.slice(0, 8)}`;

/** A container's MAC, derived from its address (a reused address keeps its MAC): the port binding's. */
export { macFor as endpointMac } from '../guard.js';

/** The VTEP's MAC, derived from (node, network): a recreated device keeps it. */
export function vtepMac(nodeId: string, netId: string): string {
  return `02:${shortHash(`vtep:${nodeId}:${netId}`, 10).match(/../g)!.join(':')}`;
}

/** MTU of the link holding the advertise address (the underlay), or undefined. */
export async function underlayMtu(addr: string): Promise<number | undefined> {
  const r = await exec(['ip', '-j', 'addr', 'show']);
  const links = JSON.parse(r.stdout) as { mtu: number; addr_info?: { local: string }[] }[];
  return links.find((l) => l.addr_info?.some((a) => a.local === addr))?.mtu;
}

export interface VxlanSpec {
  name: string;
  bridge: string;
  vni: number;
  port: number;
  local: string;
  mac: string;
  mtu: number;
}

/** The VXLAN port of the network's bridge; created when missing. Returns true when created. */
export async function ensureVxlan(s: VxlanSpec): Promise<boolean> {
  const r = await exec(['ip', '-j', '-d', 'link', 'show', 'dev', s.name], { okCodes: [0, 1] });
  if (r.code === 0) {
    const info = (JSON.parse(r.stdout) as { linkinfo?: { info_kind?: string; info_data?: { id?: number } } }[])[0];
    if (info?.linkinfo?.info_kind !== 'vxlan' || info.linkinfo.info_data?.id !== s.vni) {
      throw new Error(`${s.name} exists but is not the VXLAN device of VNI ${s.vni}`);
    }
    await exec(['ip', 'link', 'set', s.name, 'master', s.bridge, 'up']);
    return false;
  }
  await exec(['ip', '-batch', '-'], {
    input: [
      `link add name ${s.name} address ${s.mac} mtu ${s.mtu} type vxlan id ${s.vni} local ${s.local} dstport ${s.port} nolearning proxy`,
      `link set ${s.name} master ${s.bridge}`,
      `link set ${s.name} type bridge_slave learning off`,
      `link set ${s.name} up`,
      '',
    ].join('\n'),
  });
  return true;
}

export interface Remote {
  ip: string;
  mac: string;
  vtep: string;
}

interface FdbRow {
  mac: string;
  dst?: string;
  flags?: string[];
  master?: string;
  state?: string;
}

/** The entries this device holds that tsdocker programs (static/permanent, unicast). */
export async function readEntries(dev: string): Promise<{ self: Map<string, string>; master: Set<string>; neigh: Map<string, string> }> {
  const [f, n] = await Promise.all([
    exec(['bridge', '-j', 'fdb', 'show', 'dev', dev]),
    exec(['ip', '-j', 'neigh', 'show', 'dev', dev, 'nud', 'permanent']),
  ]);
  const self = new Map<string, string>();
  const master = new Set<string>();
  for (const row of JSON.parse(f.stdout || '[]') as FdbRow[]) {
    if (row.mac === '00:00:00:00:00:00' || /^(01|33):/.test(row.mac)) continue;
    if (row.dst && row.flags?.includes('self') && row.state === 'permanent') self.set(row.mac, row.dst);
    else if (row.master && row.state === 'static') master.add(row.mac);
  }
  const neigh = new Map<string, string>();
  for (const row of JSON.parse(n.stdout || '[]') as { dst: string; lladdr?: string }[]) if (row.lladdr) neigh.set(row.dst, row.lladdr);
  return { self, master, neigh };
}

/** The commands that turn `cur` into `want` (pure: unit-tested). */
export function diffEntries(dev: string, want: Remote[], cur: Awaited<ReturnType<typeof readEntries>>): { fdb: string[]; neigh: string[] } {
  const fdb: string[] = [];
  const neigh: string[] = [];
  const macs = new Set(want.map((w) => w.mac));
  const ips = new Set(want.map((w) => w.ip));
  for (const w of want) {
    if (cur.self.get(w.mac) !== w.vtep) fdb.push(`fdb replace ${w.mac} dev ${dev} self permanent dst ${w.vtep}`);
    if (!cur.master.has(w.mac)) fdb.push(`fdb replace ${w.mac} dev ${dev} master static`);
    if (cur.neigh.get(w.ip) !== w.mac) neigh.push(`neigh replace ${w.ip} lladdr ${w.mac} dev ${dev} nud permanent`);
  }
  for (const mac of cur.self.keys()) if (!macs.has(mac)) fdb.push(`fdb del ${mac} dev ${dev} self`);
  for (const mac of cur.master) if (!macs.has(mac)) fdb.push(`fdb del ${mac} dev ${dev} master`);
  for (const ip of cur.neigh.keys()) if (!ips.has(ip)) neigh.push(`neigh del ${ip} dev ${dev}`);
  return { fdb, neigh };
}

/** Apply the diff; returns how many entries were written (0 when the kernel already agrees). */
export async function programRemotes(dev: string, want: Remote[]): Promise<number> {
  const d = diffEntries(dev, want, await readEntries(dev));
  // -force: one entry that went meanwhile must not stop the rest
  if (d.fdb.length) await exec(['bridge', '-force', '-batch', '-'], { input: d.fdb.join('\n') + '\n', okCodes: [0, 1, 2] });
  if (d.neigh.length) await exec(['ip', '-force', '-batch', '-'], { input: d.neigh.join('\n') + '\n', okCodes: [0, 1, 2] });
  return d.fdb.length + d.neigh.length;
}
