/**
 * The bridge driver's link work, batched: one `ip -batch -` in the host namespace and one
 * `nsenter --net=/proc/PID/ns/net ip -batch -` in the container's (7 separate `ip` calls
 * cost ~13 ms, two batches ~3 ms). The container side of the veth is created directly in
 * the container's namespace under its final name (`peer name eth0 netns PID`), so no
 * temporary name ever appears on the host and nothing needs renaming.
 */
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { exec, inNetns } from '../sys/exec.js';
import { vethAttach } from '../native/index.js';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { parseCidr } from './ipv4.js';
import { shortHash, readHostSettings, writeHostSettings, type NetworkRecord } from './store.js';

const blog = log.child({ mod: 'net.bridge' });

/** Host-side veth name: tsd + 12 hex of (container, network): 15 chars, IFNAMSIZ-safe, derivable after a crash. */
export function hostIfname(containerId: string, netId: string): string {
  return `tsd${shortHash(`${containerId}:${netId}`)}`;
}

export function bridgeNameFor(netId: string): string {
  return `tsdbr-${netId.slice(0, 8)}`;
}

function gone(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /Cannot find device|does not exist|No such device|Cannot open network namespace|No such file or directory|No such process/.test(m);
}

/**
 * Whether a link exists in the namespace we run in. /proc/sys/net and /proc/net follow the
 * reader's network namespace (sysfs does not: it shows the namespace it was mounted in).
 * Every link has its ipv4 conf directory (but one with an MTU below 68): one stat, where
 * /proc/net/dev lists every link (200 containers: 25 kB, ~0.5 ms, under the net lock of each
 * start); that list, exact, only when the stat finds none (~2-3 ms for an `ip link show`).
 */
export async function linkExists(name: string): Promise<boolean> {
  // (`all` and `default` are conf directories of no link; a name with a slash is no link's)
  if (!/^(all|default|\.\.?)$|\//.test(name) && existsSync(`/proc/sys/net/ipv4/conf/${name}`)) return true;
  try {
    return readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .some((l) => l.trimStart().startsWith(`${name}:`));
  } catch {
    const r = await exec(['ip', '-o', 'link', 'show', 'dev', name], { okCodes: [0, 1] });
    return r.code === 0;
  }
}

function writeSysctl(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    blog.debug({ path, err: (err as Error).message }, 'sysctl not set');
  }
}

/** ip_forward on, only if it was off, and remember that we changed it (to undo only ours). */
export function enableForwarding(): void {
  const path = '/proc/sys/net/ipv4/ip_forward';
  if (readFileSync(path, 'utf8').trim() === '1') return;
  writeFileSync(path, '1');
  writeHostSettings({ ...readHostSettings(), ipForwardChanged: true });
  blog.info('enabled net.ipv4.ip_forward (was 0); tsdocker records that it changed it');
}

/** Turn ip_forward back off only when tsdocker turned it on. */
export function restoreForwarding(): void {
  const h = readHostSettings();
  if (!h.ipForwardChanged) return;
  writeSysctl('/proc/sys/net/ipv4/ip_forward', '0');
  writeHostSettings({ ...h, ipForwardChanged: false });
}

/**
 * A bridge without an explicit MAC takes the lowest MAC of its ports and changes it as
 * containers come and go: every container's ARP entry for the gateway then goes stale and
 * its traffic to the gateway (DNS included) is lost for tens of seconds. So each bridge gets
 * a fixed, locally administered MAC derived from its network id.
 */
export function bridgeMac(netId: string): string {
  const h = shortHash(`mac:${netId}`, 10);
  return `02:${h.match(/../g)!.join(':')}`;
}

/** Create the network's bridge (or verify an existing one), address it, bring it up. */
export async function ensureBridge(net: NetworkRecord, knownMissing = false): Promise<boolean> {
  const cidr = parseCidr(net.subnet)!;
  let created = false;
  if (knownMissing || !(await linkExists(net.bridge))) {
    await exec(['ip', '-batch', '-'], {
      input: [
        `link add name ${net.bridge} address ${bridgeMac(net.id)} mtu ${net.mtu} type bridge`,
        `addr add ${net.gateway}/${cidr.prefix} dev ${net.bridge}`,
        `link set ${net.bridge} up`,
        '',
      ].join('\n'),
    });
    created = true;
  } else {
    const r = await exec(['ip', '-j', '-d', 'addr', 'show', 'dev', net.bridge]);
    const info = (JSON.parse(r.stdout) as { linkinfo?: { info_kind?: string }; addr_info?: { local: string }[] }[])[0];
    if (info?.linkinfo?.info_kind !== 'bridge') {
      throw new TsdError('NETWORK_INVALID', `${net.bridge} already exists but is not a bridge`, {
        hint: `remove or rename the link ${net.bridge}`,
      });
    }
    if (!info.addr_info?.some((a) => a.local === net.gateway)) {
      await exec(['ip', 'addr', 'add', `${net.gateway}/${cidr.prefix}`, 'dev', net.bridge], { okCodes: [0, 2] });
    }
    await exec(['ip', 'link', 'set', net.bridge, 'up']);
  }
  // 127.0.0.1 -> published port: locally generated packets with a loopback source may leave
  // through this bridge after DNAT (they are masqueraded); rogue RAs from containers are ignored.
  writeSysctl(`/proc/sys/net/ipv4/conf/${net.bridge}/route_localnet`, '1');
  writeSysctl(`/proc/sys/net/ipv6/conf/${net.bridge}/accept_ra`, '0');
  if (!net.internal) enableForwarding();
  return created;
}

/**
 * Delete a link; "already gone" is fine. `namespaceDying`: the container at the other end
 * has exited, so the kernel is already tearing down its namespace and the veth with it;
 * waiting a little for that (polling our own /proc/net/dev) is faster than an `ip link del`
 * that queues behind the teardown for the rtnl lock (measured: ~15 against ~24 ms).
 */
export async function deleteLink(name: string, namespaceDying = false): Promise<void> {
  // gone with its namespace already: no `ip` to spawn (/proc/net/dev is this namespace's;
  // /sys/class/net is the namespace's that mounted sysfs, which need not be ours)
  if (!(await linkExists(name))) return;
  if (namespaceDying) {
    // a netns shared with a container: joiner outlives the container; then we delete below
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 2));
      if (!(await linkExists(name))) return;
    }
  }
  try {
    await exec(['ip', 'link', 'del', 'dev', name]);
  } catch (err) {
    if (!gone(err)) throw err;
  }
}

export interface VethRequest {
  pid: number;
  net: NetworkRecord;
  hostIf: string;
  ifname: string;
  ip: string;
  mac: string;
  defaultRoute: boolean;
  /** awaited before the container's side goes up (its port binding: no frame leaves before it) */
  beforeUp?: Promise<unknown>;
  /** the container's init configures its side before exec (a start): only the host side here */
  byInit?: boolean;
}

/**
 * br_netfilter (loaded where Docker runs, and on this machine) sends bridged frames through
 * the IP hooks: a container's packet DNATed back to itself is then bridged, not routed, and
 * the bridge never sends a frame out of the port it came in on unless that port has
 * hairpin mode (moby#6810). Without br_netfilter the packet is routed and needs nothing, and
 * hairpin mode would echo every broadcast back to its sender, so it is set only when needed.
 */
export function brNetfilterActive(): boolean {
  try {
    return readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * veth (the container's side with its MAC) into the bridge, address, up, default route. The
 * host side over rtnetlink from libtsdocker (no process). The container's side: at a start,
 * by the container's own init in its namespace before exec (`byInit`: the lease goes to the
 * monitor as a `netif` line before `go`); for `network connect` on a running container,
 * which has no init left to do it, one batched `ip` in its namespace (`nsenter`), the right
 * tool off the start path.
 */
export async function attachVeth(req: VethRequest): Promise<void> {
  const { net, hostIf, ifname, pid } = req;
  const prefix = parseCidr(net.subnet)!.prefix;
  vethAttach({ hostIf, peerIf: ifname, peerMac: req.mac, mtu: net.mtu, pid, bridge: net.bridge, hairpin: brNetfilterActive() });
  if (req.byInit) return;
  try {
    await req.beforeUp;
    const lines = [
      'link set lo up',
      `addr add ${req.ip}/${prefix} dev ${ifname}`,
      `link set ${ifname} up`,
    ];
    if (req.defaultRoute && !net.internal) lines.push(`route add default via ${net.gateway} dev ${ifname}`);
    await exec(inNetns(pid, ['ip', '-batch', '-']), { input: lines.join('\n') + '\n' });
  } catch (err) {
    await deleteLink(hostIf).catch(() => undefined);
    throw err;
  }
}

/** Remove the container-side interface (network disconnect on a running container). */
export async function removeContainerIf(pid: number, ifname: string): Promise<void> {
  try {
    await exec(inNetns(pid, ['ip', 'link', 'del', 'dev', ifname]));
  } catch (err) {
    if (!gone(err)) throw err;
  }
}
