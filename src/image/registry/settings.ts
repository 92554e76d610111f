/**
 * Which registries may be spoken to over plain HTTP, as dockerd decides it: `localhost`,
 * `127.0.0.0/8` and `::1` always (Docker's default), others only when listed under
 * `insecure-registries` in `<root>/daemon.json` (as `host[:port]` or an IPv4 CIDR).
 * And where per-registry certificates live: `/etc/docker/certs.d/HOST[:PORT]/`, moved by
 * TSDOCKER_CERTS_D (tests use their own).
 */
import { isIPv4 } from 'node:net';
import { paths } from '../../state/paths.js';
import { readJsonIfExistsSync } from '../../sys/fs.js';
import { TsdError } from '../../sys/errors.js';

export interface RegistrySettings {
  insecure: string[];
  certsDir: string;
}

export function loadSettings(): RegistrySettings {
  let cfg: { 'insecure-registries'?: unknown } | undefined;
  try {
    cfg = readJsonIfExistsSync(paths.daemonConfig());
  } catch (err) {
    throw new TsdError('BAD_ARGS', `${paths.daemonConfig()}: not valid JSON (${(err as Error).message})`, {
      hint: 'fix or remove the file; it holds settings such as "insecure-registries": ["host:port"]',
    });
  }
  const list = cfg?.['insecure-registries'] ?? [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new TsdError('BAD_ARGS', `${paths.daemonConfig()}: "insecure-registries" must be a list of strings`, {
      hint: 'e.g. "insecure-registries": ["registry.test:5000", "10.0.0.0/8"]',
    });
  }
  return { insecure: list as string[], certsDir: process.env.TSDOCKER_CERTS_D || '/etc/docker/certs.d' };
}

/** host without its port; IPv6 in brackets loses the brackets. */
export function hostPart(hostPort: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (m) return m[1]!;
  const i = hostPort.lastIndexOf(':');
  return i > 0 && !hostPort.slice(0, i).includes(':') ? hostPort.slice(0, i) : hostPort;
}

function ipv4Num(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const b = Number(bits);
  if (!isIPv4(ip) || !net || !isIPv4(net) || !Number.isInteger(b) || b < 0 || b > 32) return false;
  const mask = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  return ((ipv4Num(ip) & mask) >>> 0) === ((ipv4Num(net) & mask) >>> 0);
}

/** May this registry (`host[:port]`) be reached over plain HTTP or with an unverified certificate? */
export function isInsecure(hostPort: string, insecure: string[]): boolean {
  const host = hostPart(hostPort);
  if (host === 'localhost' || host === '::1' || inCidr(host, '127.0.0.0/8')) return true;
  return insecure.some((e) => e === hostPort || e === host || (e.includes('/') && inCidr(host, e)));
}
