/**
 * Exposed ports: the image's EXPOSE, `--expose` and the container ports of `-p`, merged at
 * create into Config.ExposedPorts as Docker does; `-P` publishes each one that `-p` does not
 * bind on a free host port; `ps` shows the ones left unpublished as `80/tcp`.
 */
import { TsdError } from '../sys/errors.js';
import { formatPortsColumn, type PortSpec, type Proto, type PublishedPort } from './ports.js';

/** `--expose 80`, `80/udp`, `8000-8010[/tcp]` as "80/tcp" keys (docker/cli's parse, its messages). */
export function parseExpose(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of specs) {
    if (e.includes(':')) throw new TsdError('BAD_ARGS', `invalid port format for --expose: ${e}`, { hint: 'give --expose PORT[/PROTO] or START-END[/PROTO]' });
    const slash = e.indexOf('/');
    const proto = slash < 0 ? 'tcp' : e.slice(slash + 1).toLowerCase();
    const port = slash < 0 ? e : e.slice(0, slash);
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    const a = m ? Number(m[1]) : NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || a > 65535 || b > 65535 || b < a) {
      const why = !m ? `strconv.ParseUint: parsing "${port}": invalid syntax` : `Invalid range specified for the Port: ${port}`;
      throw new TsdError('BAD_ARGS', `invalid range format for --expose: ${e}, error: ${why}`, { hint: 'give --expose PORT[/PROTO] or START-END[/PROTO]' });
    }
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new TsdError('BAD_ARGS', `invalid proto: ${proto}`, { hint: 'tcp or udp' });
    for (let p = a; p <= b; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

const keyOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Config.ExposedPorts as a sorted key list (Go's encoding/json sorts map keys). */
export function mergeExposed(image: Record<string, object> | undefined, expose: readonly string[], publish: readonly string[], parse: (s: string) => PortSpec[]): string[] {
  const keys = new Set(Object.keys(image ?? {}).map((k) => (k.includes('/') ? k : `${k}/tcp`)));
  for (const k of parseExpose(expose)) keys.add(k);
  for (const p of publish.flatMap(parse)) keys.add(`${p.containerPort}/${p.proto}`);
  return [...keys].sort(keyOrder);
}

/** -P: a `-p CONTAINERPORT` (same binding, IPv6 included) for each exposed tcp/udp port that no -p binds, in port order. */
export function publishAllSpecs(exposed: readonly string[], bound: readonly PortSpec[]): PortSpec[] {
  const taken = new Set(bound.map((p) => `${p.containerPort}/${p.proto}`));
  return exposed
    .map((k) => ({ port: Number(k.split('/')[0]), proto: k.split('/')[1] as Proto }))
    .filter((k) => (k.proto === 'tcp' || k.proto === 'udp') && !taken.has(`${k.port}/${k.proto}`))
    .sort((a, b) => a.port - b.port || keyOrder(a.proto, b.proto))
    .map((k) => ({ hostIp: '0.0.0.0', hostPort: 0, containerPort: k.port, proto: k.proto, dual: true })); // as -p CONTAINERPORT: [::] too where the host has IPv6
}

/**
 * The PORTS column of `ps` (docker/cli's DisplayablePorts): the unpublished exposed ports
 * first, then the host mappings by container port, host address, host port and protocol.
 */
export function portsColumn(exposed: readonly string[], published: readonly PublishedPort[]): string {
  const sorted = [...published].sort((a, b) => a.containerPort - b.containerPort || keyOrder(a.hostIp, b.hostIp) || a.hostPort - b.hostPort || keyOrder(a.proto, b.proto));
  return [...unpublishedColumn(exposed, published), formatPortsColumn(sorted)].filter(Boolean).join(', ');
}

/**
 * The unpublished exposed ports as docker/cli's DisplayablePorts shows them before the host
 * mappings: sorted, consecutive ports of one protocol folded into a range (`8000-8002/tcp`).
 */
export function unpublishedColumn(exposed: readonly string[], published: readonly { containerPort: number; proto: string }[]): string[] {
  const bound = new Set(published.map((p) => `${p.containerPort}/${p.proto}`));
  const ports = exposed
    .filter((k) => !bound.has(k))
    .map((k) => ({ port: Number(k.split('/')[0]), proto: k.split('/')[1] ?? 'tcp' }))
    .sort((a, b) => a.port - b.port || keyOrder(a.proto, b.proto));
  const groups = new Map<string, { first: number; last: number }>();
  const out: string[] = [];
  const form = (proto: string, g: { first: number; last: number }) => `${g.first === g.last ? g.first : `${g.first}-${g.last}`}/${proto}`;
  for (const { port, proto } of ports) {
    const g = groups.get(proto);
    if (g && port === g.last + 1) g.last = port;
    else {
      if (g) out.push(form(proto, g));
      groups.set(proto, { first: port, last: port });
    }
  }
  for (const [proto, g] of groups) out.push(form(proto, g));
  return out;
}
