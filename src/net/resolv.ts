/**
 * /etc/resolv.conf and /etc/hosts for containers. The host's resolv.conf is read through
 * systemd-resolved's real upstream list when the host points at its 127.0.0.53 stub (a
 * container cannot reach the host's loopback). User-defined networks get the embedded DNS
 * at the gateway address; --dns, --dns-search and --add-host work on every bridge network.
 */
import { readFileSync } from 'node:fs';
import { TsdError } from '../sys/errors.js';
import { parseIp } from './ipv4.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function nameservers(text: string): string[] {
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
}

/** The host's resolv.conf as a container can use it (stub resolver replaced by its upstreams). */
export function hostResolvConf(): string {
  const text = read('/etc/resolv.conf') ?? '';
  const ns = nameservers(text);
  if (ns.length > 0 && ns.every((n) => n.startsWith('127.'))) {
    const real = read('/run/systemd/resolve/resolv.conf');
    if (real) return real;
  }
  return text;
}

/** Upstreams for the embedded DNS, which runs in the host's namespace (so 127.0.0.53 is fine). */
export function hostNameservers(): string[] {
  const ns = nameservers(read('/etc/resolv.conf') ?? '').filter((n) => parseIp(n) !== undefined);
  return ns.length ? ns : nameservers(read('/run/systemd/resolve/resolv.conf') ?? '').filter((n) => parseIp(n) !== undefined);
}

export function validateDns(dns: string[]): void {
  for (const d of dns) {
    if (parseIp(d) === undefined) throw new TsdError('BAD_ARGS', `${d} is not an ip address`, { hint: '--dns takes an IPv4 address' });
  }
}

/** Parse --add-host NAME:IP (Docker also accepts NAME=IP); IP host-gateway is `hostGateway`. */
export function parseAddHosts(list: string[], hostGateway?: string): string[] {
  return list.map((spec) => {
    const m = /^([^:=\s]+)[:=]([0-9.]+|host-gateway)$/.exec(spec);
    if (m && m[2] === 'host-gateway' && hostGateway) return `${hostGateway}\t${m[1]}`;
    if (!m || parseIp(m[2]!) === undefined) {
      throw new TsdError('BAD_ARGS', `invalid argument "${spec}" for "--add-host" flag: invalid IP address`, {
        hint: 'use --add-host NAME:IPv4',
      });
    }
    return `${m[2]}\t${m[1]}`;
  });
}

/** resolv.conf from the host's (`base`): --dns, --dns-search and --dns-option replace its lines; ndots:0 unless an ndots is given. */
export function renderResolvConf(opts: { nameservers?: string[]; search: string[]; options?: string[]; base?: string; ndots0?: boolean }): string {
  const base = opts.base ?? '';
  const ns = opts.nameservers ?? nameservers(base);
  const baseSearch = [...base.matchAll(/^\s*(?:search|domain)\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
  const search = opts.search.length ? opts.search : baseSearch;
  const options = opts.options?.length ? [...opts.options] : [...base.matchAll(/^\s*options\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)).filter((o) => !o.startsWith('ndots'));
  if (opts.ndots0 && !options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  return [
    ...ns.map((n) => `nameserver ${n}`),
    ...(search.length ? [`search ${search.join(' ')}`] : []),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
    '',
  ].join('\n');
}

export function renderHosts(hostname: string, ip: string | undefined, extra: string[]): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...extra,
    ip ? `${ip}\t${hostname}` : `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}
