/**
 * The network module's face to the runtime. The runtime calls, in order:
 *   planNetwork(opts)           validate every network option; no side effects; throws TsdError
 *   attachNetwork(plan, ctx)    after the container's first process exists (ctx.pid), before it runs
 *   detachNetwork(id, state)    when the container is gone; idempotent
 * Modes here: `none` (own netns, lo up by the monitor) and `host` (the host's namespace).
 */
import { readFileSync } from 'node:fs';
import { TsdError } from '../sys/errors.js';

export interface NetworkOptions {
  containerId: string;
  name: string;
  hostname: string;
  /** --network value as given (default: none until bridge networking lands) */
  network?: string;
  publish: string[];
  ip?: string;
  aliases: string[];
  dns: string[];
  dnsSearch: string[];
  addHosts: string[];
  /** --hostname was given explicitly (refused in container: mode) */
  hostnameGiven?: boolean;
}

export interface NetworkPlan {
  mode: string;
  /** the container gets its own network namespace */
  newNetns: boolean;
  /** join this namespace instead (container:X mode) */
  joinNetns?: string;
  /** bring lo up in the new namespace */
  loopbackUp: boolean;
  /** contents of the container's /etc/hosts and /etc/resolv.conf */
  hosts: string;
  resolvConf: string;
  [key: string]: unknown;
}

export interface AttachContext {
  containerId: string;
  pid: number;
}

export type NetworkState = Record<string, unknown>;

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

function hostsFile(hostname: string, extra: string[]): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...extra,
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}

export async function planNetwork(opts: NetworkOptions): Promise<NetworkPlan> {
  const mode = opts.network ?? 'none';
  if (mode === 'none') {
    return { mode, newNetns: true, loopbackUp: true, hosts: hostsFile(opts.hostname, []), resolvConf: '' };
  }
  if (mode === 'host') {
    return {
      mode,
      newNetns: false,
      loopbackUp: false,
      hosts: readFileSync('/etc/hosts', 'utf8'),
      resolvConf: hostResolvConf(),
    };
  }
  throw new TsdError('BAD_ARGS', `network mode "${mode}" is not supported yet`, { hint: 'use --network none or --network host' });
}

export async function attachNetwork(_plan: NetworkPlan, _ctx: AttachContext): Promise<NetworkState> {
  return {};
}

export async function detachNetwork(_containerId: string, _state: NetworkState | undefined): Promise<void> {
  /* none and host leave nothing on the host */
}

/** Published ports of a running container, as `ps` shows them (none in none/host mode). */
export function formatPorts(_state: NetworkState | undefined): string {
  return '';
}
