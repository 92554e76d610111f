/**
 * Docker's legacy container-to-container options:
 *   --volumes-from X[:ro|rw]  at create, X's binds and volumes become the new container's
 *                             (its own -v/--mount targets win; ro/rw override X's mode)
 *   --link NAME[:ALIAS]       default bridge only: at each start, an /etc/hosts line
 *                             "IP\tALIAS HOSTNAME [NAME]" and the ALIAS_PORT_*, ALIAS_NAME and
 *                             ALIAS_ENV_* variables of docker's links package (X must run)
 */
import { TsdError } from '../sys/errors.js';
import { findContainer, type ContainerConfig } from '../state/containers.js';
import { readResourceRecordSync } from '../state/volumes.js';
import { DEFAULT_NETWORK } from '../net/store.js';
import type { NetworkState } from '../net/index.js';

export interface LinkConfig {
  /** the linked container's id, and the alias in this container */
  id: string;
  name: string;
  alias: string;
}

/** `-v` specs for --volumes-from: X's recorded mounts (or, before X first ran, its own -v flags). */
export async function volumesFrom(specs: readonly string[], ownTargets: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const spec of specs) {
    const m = /^(.*?)(?::(ro|rw))?$/.exec(spec)!;
    const x = await findContainer(m[1]!);
    const mode = m[2];
    const recorded = readResourceRecordSync(x.config.id)?.mounts;
    const entries = recorded
      ? recorded.filter((r) => r.Type !== 'tmpfs').map((r) => ({ src: r.Type === 'volume' ? r.Name! : r.Source, dst: r.Destination, ro: !r.RW }))
      : ((x.config.resources as { volume?: string[] }).volume ?? []).flatMap((v) => {
        const parts = v.split(':');
        return parts.length >= 2 ? [{ src: parts[0]!, dst: parts[1]!, ro: parts.slice(2).join(',').split(',').includes('ro') }] : [];
      });
    for (const e of entries) {
      if (ownTargets.has(e.dst) || out.some((o) => o.split(':')[1] === e.dst)) continue;
      const ro = mode === 'ro' || (mode !== 'rw' && e.ro);
      out.push(`${e.src}:${e.dst}${ro ? ':ro' : ''}`);
    }
  }
  return out;
}

/** --link NAME[:ALIAS], at create: X must exist; only for the default bridge (Docker's messages). */
export async function planLinks(specs: readonly string[], network: string | undefined): Promise<LinkConfig[]> {
  if (!specs.length) return [];
  const mode = network ?? 'default';
  if (mode === 'host') throw new TsdError('BAD_ARGS', "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if (mode.startsWith('container:')) throw new TsdError('BAD_ARGS', "conflicting options: container type network can't be used with links. This would result in undefined behavior");
  if (mode !== 'default' && mode !== DEFAULT_NETWORK) {
    throw new TsdError('BAD_ARGS', '--link is supported on the default bridge network only', { hint: 'on a user network, containers reach each other by name and --network-alias' });
  }
  const out: LinkConfig[] = [];
  for (const s of specs) {
    const [ref = '', alias] = s.split(':');
    const x = await findContainer(ref).catch(() => {
      throw new TsdError('CONTAINER_NOT_FOUND', `Could not get container for ${ref}`, { hint: 'link to an existing container' });
    });
    out.push({ id: x.config.id, name: x.config.name, alias: alias || x.config.name });
  }
  return out;
}

export interface ResolvedLinks {
  hosts: string[];
  env: string[];
}

/** At start: X's address now, its exposed ports and env, as the links package renders them. */
export async function resolveLinks(self: ContainerConfig, links: readonly LinkConfig[] | undefined): Promise<ResolvedLinks> {
  const out: ResolvedLinks = { hosts: [], env: [] };
  for (const l of links ?? []) {
    const x = await findContainer(l.id);
    if (x.status !== 'running') {
      throw new TsdError('CONTAINER_NOT_RUNNING', `Cannot link to a non running container: /${x.config.name} AS /${self.name}/${l.alias}`, { hint: `start ${x.config.name} first` });
    }
    const ep = (x.state?.network as NetworkState | undefined)?.endpoints?.find((e) => e.network === DEFAULT_NETWORK);
    if (!ep) throw new TsdError('BAD_ARGS', `Cannot link to /${x.config.name}, as it does not belong to the default network`, { hint: 'link to a container on the default bridge' });
    out.hosts.push(`${ep.ip}\t${l.alias} ${x.config.hostname}${l.alias !== x.config.name ? ` ${x.config.name}` : ''}`);
    const A = l.alias.toUpperCase().replaceAll('-', '_');
    const ports = (x.config.exposedPorts ?? [])
      .map((k) => ({ port: Number(k.split('/')[0]), proto: k.split('/')[1] ?? 'tcp' }))
      .sort((a, b) => a.port - b.port || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
    const first = ports.find((p) => p.proto === 'tcp') ?? ports[0];
    if (first) out.env.push(`${A}_PORT=${first.proto}://${ep.ip}:${first.port}`);
    for (const p of ports) {
      const P = `${A}_PORT_${p.port}_${p.proto.toUpperCase()}`;
      out.env.push(`${P}=${p.proto}://${ep.ip}:${p.port}`, `${P}_ADDR=${ep.ip}`, `${P}_PORT=${p.port}`, `${P}_PROTO=${p.proto}`);
    }
    out.env.push(`${A}_NAME=/${self.name}/${l.alias}`);
    for (const e of x.config.env) {
      const eq = e.indexOf('=');
      const k = e.slice(0, eq);
      if (eq > 0 && k !== 'HOME' && k !== 'PATH') out.env.push(`${A}_ENV_${k}=${e.slice(eq + 1)}`);
    }
  }
  return out;
}
