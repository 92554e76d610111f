/**
 * Published ports: parsing `-p`, the host-port registry, and formatting for `port` and `ps`.
 *
 * A host port is taken when another container holds it (networks/ports/<proto>-<port>,
 * one O_EXCL file per port, like IPAM leases) or when a socket of the host listens on it
 * (/proc/net/{tcp,tcp6,udp,udp6} of the namespace we run in, which is the host's). Both are
 * checked under the `net` lock before the container runs. IPv4 is DNAT only, so a listening
 * check is the only way to see the host's own users of a port. Containers have IPv4 only, so
 * a port's IPv6 side (`-p [::]:P:C`, `-p [::1]:P:C`, and a plain `-p P:C` when the host has
 * IPv6, as Docker 20.10 publishes it) is relayed by the container's monitor
 * (native/src/proxy6.c) from the listeners named in the file writeProxy6 leaves for it.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { paths } from '../state/paths.js';
import { isErrno, TsdError } from '../sys/errors.js';
import { parseIp } from './ipv4.js';
import { netFiles } from './store.js';

// node:net only for an IPv6 host address in -p: every command that reads ports (ps, inspect,
// rm) would otherwise load the whole socket module (~1-2 ms) for this one check
const isIPv6 = (s: string): boolean => (createRequire(import.meta.url)('node:net') as typeof import('node:net')).isIPv6(s);
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

/** Ports the host itself listens on (TCP LISTEN, any bound UDP), from /proc/net of our namespace. */
export function hostListening(proto: Proto): Set<number> {
  const out = new Set<number>();
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const port = parseInt(f[1]!.split(':')[1] ?? '', 16);
      const state = f[3];
      if (proto === 'tcp' ? state === '0A' : true) out.add(port);
    }
  }
  return out;
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

function inUse(proto: Proto, port: number, listening: Set<number>, self?: string): string | undefined {
  const o = owner(proto, port);
  if (o && o !== self) return `a container (${o.slice(0, 12)})`;
  if (listening.has(port)) return 'a process on the host';
  return undefined;
}

function portTaken(spec: PortSpec, port: number, why: string): TsdError {
  return new TsdError('PORT_IN_USE', `Bind for ${spec.hostIp}:${port} failed: port is already allocated (by ${why})`, {
    hint: 'choose another host port, or -p CONTAINERPORT to get a free one',
  });
}

/** hostListening per protocol, read on first use only */
function listeningTables(): (proto: Proto) => Set<number> {
  const seen = new Map<Proto, Set<number>>();
  return (proto) => {
    let set = seen.get(proto);
    if (!set) seen.set(proto, (set = hostListening(proto)));
    return set;
  };
}

/** Read-only check (planNetwork): explicit ports that are visibly taken. */
export function checkPorts(specs: PortSpec[]): void {
  // each /proc/net/{tcp,udp}{,6} read walks the kernel's whole socket hash (3-5 ms even when
  // empty): read a table only for a protocol that has an explicit port to check
  const listening = listeningTables();
  for (const s of specs) {
    if (s.hostPort === 0 || s.hostPortEnd !== undefined) continue;
    const why = inUse(s.proto, s.hostPort, listening(s.proto));
    if (why) throw portTaken(s, s.hostPort, why);
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
  const listening = listeningTables();
  let v6: boolean | undefined;
  const done: PublishedPort[] = [];
  try {
    for (const s of specs) {
      let chosen = 0;
      if (s.hostPort === 0 || s.hostPortEnd !== undefined) {
        const [lo, hi] = s.hostPort ? [s.hostPort, s.hostPortEnd ?? s.hostPort] : ephemeralRange();
        for (let p = lo; p <= hi && !chosen; p++) {
          if (done.some((d) => d.proto === s.proto && d.hostPort === p)) continue;
          if (!inUse(s.proto, p, listening(s.proto), ctr) && claim(s.proto, p, ctr, s.hostIp)) chosen = p;
        }
        if (!chosen) throw portTaken(s, lo, `others: no free port in ${lo}-${hi}`);
      } else {
        const why = inUse(s.proto, s.hostPort, listening(s.proto), ctr);
        if (why || !claim(s.proto, s.hostPort, ctr, s.hostIp)) throw portTaken(s, s.hostPort, why ?? 'a container');
        chosen = s.hostPort;
      }
      done.push({ hostIp: s.hostIp, hostPort: chosen, containerPort: s.containerPort, proto: s.proto });
      // the IPv6 side of a plain -p
      if (s.dual && (v6 ??= hostHasIpv6())) done.push({ hostIp: '::', hostPort: chosen, containerPort: s.containerPort, proto: s.proto });
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
