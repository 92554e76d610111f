/**
 * Published ports: parsing `-p`, the host-port registry, and formatting for `port` and `ps`.
 *
 * A host port is taken when another container holds it (networks/ports/<proto>-<port>,
 * one O_EXCL file per port, like IPAM leases) or when a socket of the host holds it: asked
 * the way Docker's proxy finds out, by binding the address and port (native/src/portprobe.c,
 * in the namespace we run in, which is the host's), closed at once. Both are checked under
 * the `net` lock before the container runs, and once when the container is planned, so that
 * a taken port is refused before anything is made (a probe is four syscalls). IPv4 is DNAT
 * only, so a bind is the only way to see the host's own users of a port. Containers have
 * IPv4 only, so a port's IPv6 side (`-p [::]:P:C`, `-p [::1]:P:C`, and a plain `-p P:C` when
 * the host has IPv6, as Docker 20.10 publishes it) is relayed by the container's monitor
 * (native/src/proxy6.c) from the listeners named in the file writeProxy6 leaves for it.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { paths } from '../state/paths.js';
import { isErrno, TsdError } from '../sys/errors.js';
import { portProbe } from '../native/index.js';
import { nodeNet } from '../sys/lazy-net.js';
import { parseIp } from './ipv4.js';
import { netFiles } from './store.js';

// node:net only for an IPv6 host address in -p: every command that reads ports (ps, inspect,
// rm) would otherwise load the whole socket module (~1-2 ms) for this one check
const isIPv6 = (s: string): boolean => nodeNet().isIPv6(s);
import { containerFiles, isRunningSync } from '../state/containers.js';

export type Proto = 'tcp' | 'udp';

export interface PortSpec {
  hostIp: string;
  /** 0: choose a free port */
  hostPort: number;
  /** host range end when a range maps onto one container port (Docker picks one of them) */
  hostPortEnd?: number;
  containerPort: number;
  proto: Proto;
  /** no host IP given: IPv4 and, where the host has IPv6, IPv6 too (Docker 20.10) */
  dual?: boolean;
}

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

function bad(spec: string, why: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid publish spec "${spec}": ${why}`, {
    hint: 'use -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], -p CONTAINERPORT, or ranges like 8000-8001:80-81',
  });
}

function parseRange(text: string, what: string, spec: string): [number, number] {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  if (!m) throw bad(spec, `invalid ${what} "${text}"`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  for (const v of [a, b]) if (v < 1 || v > 65535) throw bad(spec, `invalid ${what} ${v}: must be between 1 and 65535`);
  if (b < a) throw bad(spec, `invalid ${what} range ${text}`);
  return [a, b];
}

export function parsePublish(spec: string): PortSpec[] {
  let rest = spec.trim();
  let proto: Proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw bad(spec, `unsupported protocol "${p}" (tcp or udp)`);
    proto = p;
    rest = rest.slice(0, slash);
  }
  // an IPv6 host address is bracketed: [::1]:8080:80
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  const parts = v6 ? [v6[1]!, ...v6[2]!.split(':')] : rest.split(':');
  let hostIp = '0.0.0.0';
  let hostText = '';
  let ctrText: string;
  if (parts.length === 1) ctrText = parts[0]!;
  else if (parts.length === 2 && !v6) [hostText, ctrText] = parts as [string, string];
  else if (parts.length === 3) {
    hostIp = parts[0]!.replace(/^\[|\]$/g, '');
    hostText = parts[1]!;
    ctrText = parts[2]!;
    if (parseIp(hostIp) === undefined && !(v6 && isIPv6(hostIp))) throw bad(spec, `invalid host IP "${hostIp}"`);
  } else throw bad(spec, 'too many colons');
  const dual = parts.length < 3 ? { dual: true } : {};
  const [c1, c2] = parseRange(ctrText, 'container port', spec);
  const count = c2 - c1 + 1;
  if (hostText === '') {
    return Array.from({ length: count }, (_, i) => ({ hostIp, hostPort: 0, containerPort: c1 + i, proto, ...dual }));
  }
  const [h1, h2] = parseRange(hostText, 'host port', spec);
  if (count === 1 && h2 > h1) return [{ hostIp, hostPort: h1, hostPortEnd: h2, containerPort: c1, proto, ...dual }];
  if (h2 - h1 + 1 !== count) throw bad(spec, 'host and container port ranges differ in length');
  return Array.from({ length: count }, (_, i) => ({ hostIp, hostPort: h1 + i, containerPort: c1 + i, proto, ...dual }));
}

/**
 * The container holding a port file is running: its recorded pid is alive with its start
 * time. A corrupt state.json tells nothing: the port stays held (never two owners).
 */
function running(id: string): boolean {
  return isRunningSync(id) ?? true;
}

function recordedOwner(proto: Proto, port: number): string | undefined {
  try {
    return readFileSync(netFiles.port(proto, port), 'utf8').split('\n')[0] || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The running container that holds a host port. A record whose container is gone, or has
 * stopped without its cleanup (its monitor was killed), does not hold the port: Docker frees
 * a port when its container stops (staleOwners lets the caller remove such a container's rules).
 */
function owner(proto: Proto, port: number): string | undefined {
  const id = recordedOwner(proto, port);
  return id && existsSync(paths.container(id)) && running(id) ? id : undefined;
}

/** Containers that still hold port records (and so maybe DNAT rules) though they no longer run. */
export function staleOwners(): string[] {
  let files: string[];
  try {
    files = readdirSync(netFiles.ports());
  } catch {
    return [];
  }
  const ids = new Set<string>();
  for (const f of files) {
    const [proto, port] = f.split('-');
    if (proto !== 'tcp' && proto !== 'udp') continue;
    const id = recordedOwner(proto, Number(port));
    if (id && existsSync(paths.container(id)) && !running(id)) ids.add(id);
  }
  return [...ids];
}

function portTaken(spec: PortSpec, port: number, why: string): TsdError {
  return new TsdError('PORT_IN_USE', `Bind for ${spec.hostIp}:${port} failed: port is already allocated (by ${why})`, {
    hint: 'choose another host port, or -p CONTAINERPORT to get a free one',
  });
}

/** An IPv6 side the host holds: what the monitor's relay would say when it binds (proxy6.c), as Docker's proxy does. */
function relayCannotBind(proto: Proto, ip6: string, port: number): TsdError {
  return new TsdError('PORT_IN_USE', `Error starting userland proxy: listen ${proto}6 [${ip6}]:${port}: bind: address already in use`, {
    hint: 'choose another host port, or -p CONTAINERPORT to get a free one',
  });
}

/**
 * The addresses a spec binds on the host: its own, and [::] too for a plain -p on a host with
 * IPv6 (`v6`, asked on first need). A 0.0.0.0 probe also meets a dual-stack [::] socket.
 */
function sides(s: PortSpec, v6: () => boolean): string[] {
  return s.dual && !s.hostIp.includes(':') && v6() ? [s.hostIp, '::'] : [s.hostIp];
}

/**
 * Why `port` cannot be given to spec `s` (for the container `self`, whose own record does not
 * count): another running container's record, or a socket of the host that a bind meets.
 * Any other refusal of the probe (EADDRNOTAVAIL: not an address of this host) is left to the
 * step that says it in Docker's words (checkHostAddresses, the relay's bind).
 */
function holder(s: PortSpec, port: number, v6: () => boolean, self?: string): TsdError | undefined {
  const o = owner(s.proto, port);
  if (o && o !== self) return portTaken(s, port, `a container (${o.slice(0, 12)})`);
  for (const ip of sides(s, v6)) {
    if (portProbe(ip, port, s.proto) !== osConstants.errno.EADDRINUSE) continue;
    return ip.includes(':') ? relayCannotBind(s.proto, ip, port) : portTaken(s, port, 'a process on the host');
  }
  return undefined;
}

/** hostHasIpv6, read on first need only */
function ipv6Once(): () => boolean {
  let v6: boolean | undefined;
  return () => (v6 ??= hostHasIpv6());
}

/** Read-only check (planNetwork): explicit ports that are visibly taken, refused before anything is made. */
export function checkPorts(specs: PortSpec[]): void {
  const v6 = ipv6Once();
  for (const s of specs) {
    if (s.hostPort === 0 || s.hostPortEnd !== undefined) continue;
    const taken = holder(s, s.hostPort, v6);
    if (taken) throw taken;
  }
}

function claim(proto: Proto, port: number, ctr: string, hostIp: string): boolean {
  mkdirSync(netFiles.ports(), { recursive: true });
  const path = netFiles.port(proto, port);
  // the record appears whole or not at all (written aside, then linked: link fails if the
  // name exists), so a CLI killed mid-claim leaves no record that names nobody
  const tmp = join(netFiles.ports(), `.${proto}-${port}.${ctr}.tmp`);
  writeFileSync(tmp, `${ctr}\n${hostIp}\n`);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    if (owner(proto, port)) return false;
    renameSync(tmp, path);
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The kernel's ephemeral port range, where Docker picks a free host port (49153-65535 if unreadable). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    /* no procfs: Docker's default */
  }
  return [49153, 65535];
}

/**
 * Whether the host (the namespace we run in) has IPv6: `::1` on lo, which goes when IPv6 is
 * disabled (sysctl disable_ipv6, ipv6.disable=1). Without it a plain -p stays IPv4 only,
 * silently, as Docker's does.
 */
export function hostHasIpv6(): boolean {
  try {
    return /^0{31}1 /m.test(readFileSync('/proc/net/if_inet6', 'utf8'));
  } catch {
    return false;
  }
}

/** Reserve host ports for every spec (caller holds the `net` lock); all or nothing. */
export function reservePorts(ctr: string, specs: PortSpec[]): PublishedPort[] {
  const v6 = ipv6Once();
  const done: PublishedPort[] = [];
  try {
    for (const s of specs) {
      let chosen = 0;
      if (s.hostPort === 0 || s.hostPortEnd !== undefined) {
        const [lo, hi] = s.hostPort ? [s.hostPort, s.hostPortEnd ?? s.hostPort] : ephemeralRange();
        for (let p = lo; p <= hi && !chosen; p++) {
          if (done.some((d) => d.proto === s.proto && d.hostPort === p)) continue;
          if (!holder(s, p, v6, ctr) && claim(s.proto, p, ctr, s.hostIp)) chosen = p;
        }
        if (!chosen) throw portTaken(s, lo, `others: no free port in ${lo}-${hi}`);
      } else {
        const taken = holder(s, s.hostPort, v6, ctr);
        if (taken) throw taken;
        if (!claim(s.proto, s.hostPort, ctr, s.hostIp)) throw portTaken(s, s.hostPort, 'a container');
        chosen = s.hostPort;
      }
      done.push({ hostIp: s.hostIp, hostPort: chosen, containerPort: s.containerPort, proto: s.proto });
      // the IPv6 side of a plain -p
      if (s.dual && v6()) done.push({ hostIp: '::', hostPort: chosen, containerPort: s.containerPort, proto: s.proto });
    }
  } catch (err) {
    releasePorts(ctr);
    throw err;
  }
  return done;
}

/**
 * Free every host port `ctr` holds. Idempotent. Records left by a start killed half-way go
 * too: an aside file of `ctr`'s, and a record whose container no longer exists at all.
 */
export function releasePorts(ctr: string): void {
  rmSync(containerFiles.proxy6(ctr), { force: true });
  let files: string[];
  try {
    files = readdirSync(netFiles.ports());
  } catch {
    return;
  }
  for (const f of files) {
    const path = join(netFiles.ports(), f);
    try {
      if (f.startsWith('.')) {
        if (f.includes(`.${ctr}.`)) rmSync(path, { force: true });
        continue;
      }
      const id = readFileSync(path, 'utf8').split('\n')[0];
      if (id === ctr || (id && !existsSync(paths.container(id)))) rmSync(path, { force: true });
    } catch {
      /* raced with another release */
    }
  }
}

export const isV6 = (p: PublishedPort): boolean => p.hostIp.includes(':');

/**
 * The relay's listeners for the monitor (proxy6.c), one `PROTO HOSTIP6 HOSTPORT CTRIP CTRPORT`
 * line each; written before `go` at every start (empty when there are none).
 */
export function writeProxy6(ctr: string, ports: PublishedPort[], containerIp: string): void {
  const lines = ports.filter(isV6).map((p) => `${p.proto} ${p.hostIp} ${p.hostPort} ${containerIp} ${p.containerPort}\n`);
  writeFileSync(containerFiles.proxy6(ctr), lines.join(''));
}

/** `tsdocker port` lines: "80/tcp -> 0.0.0.0:8080" (Docker's format). */
export function formatPortLines(ports: PublishedPort[], filter?: string): string[] {
  const want = filter ? (filter.includes('/') ? filter : `${filter}/tcp`) : undefined;
  return ports
    .filter((p) => !want || `${p.containerPort}/${p.proto}` === want)
    .map((p) => (want ? `${p.hostIp}:${p.hostPort}` : `${p.containerPort}/${p.proto} -> ${p.hostIp}:${p.hostPort}`));
}

/** The PORTS column of `ps`: "0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp". */
export function formatPortsColumn(ports: PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}
