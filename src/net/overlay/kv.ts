/**
 * The cluster store: etcd v3 through the `etcd3` package (the maintained TypeScript client;
 * gRPC underneath), loaded only when an overlay command needs it, so no other command pays
 * for gRPC. Every call is bounded: when etcd is unreachable the caller gets, within a few
 * seconds, a TsdError naming the store address (exit 125), never a hang.
 *
 * Layout (one prefix, JSON values):
 *   /tsdocker/v1/networks/<name>          the network: id, subnet, gateway, vni, port, mtu?
 *   /tsdocker/v1/networks-rev             bumped by every create/remove: creates compare it,
 *                                         so two overlapping subnets cannot both commit
 *   /tsdocker/v1/vni/<n>                  network id; created only if absent
 *   /tsdocker/v1/nodes/<node>             leased to the node: addr, mtu, lastSeen
 *   /tsdocker/v1/seen/<node>              not leased: addr, lastSeen (node ls shows gone hosts)
 *   /tsdocker/v1/ipam/<net>/<ip>          leased to the owner node; created only if absent
 *   /tsdocker/v1/endpoints/<net>/<ctr>    leased: ip, mac, node, vtep, name, aliases
 *   /tsdocker/v1/epsrev/<net>             bumped by every allocation: a `network rm` that
 *                                         raced with a new container on another host fails
 */
import { createRequire } from 'node:module';
import type { Etcd3 } from 'etcd3';
import { TsdError } from '../../sys/errors.js';
import type { ClusterConfig } from './config.js';

export const PREFIX = '/tsdocker/v1/';
export const keys = {
  networks: `${PREFIX}networks/`,
  network: (name: string) => `${PREFIX}networks/${name}`,
  networksRev: `${PREFIX}networks-rev`,
  vni: (n: number) => `${PREFIX}vni/${n}`,
  nodes: `${PREFIX}nodes/`,
  node: (id: string) => `${PREFIX}nodes/${id}`,
  seens: `${PREFIX}seen/`,
  seen: (id: string) => `${PREFIX}seen/${id}`,
  ipamOf: (netId: string) => `${PREFIX}ipam/${netId}/`,
  ipam: (netId: string, ip: string) => `${PREFIX}ipam/${netId}/${ip}`,
  /** bumped by every address allocation on the network: `network rm` compares it */
  epsRev: (netId: string) => `${PREFIX}epsrev/${netId}`,
  endpointsAll: `${PREFIX}endpoints/`,
  endpointsOf: (netId: string) => `${PREFIX}endpoints/${netId}/`,
  endpoint: (netId: string, ctr: string) => `${PREFIX}endpoints/${netId}/${ctr}`,
};

export interface StoreNetwork {
  id: string;
  name: string;
  created: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  vni: number;
  vxlanPort: number;
  /** -o mtu; else each host uses its underlay's MTU - 50 */
  mtu?: number;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export interface StoreEndpoint {
  containerId: string;
  name: string;
  aliases: string[];
  ip: string;
  mac: string;
  node: string;
  vtep: string;
}

export interface StoreNode {
  addr: string;
  mtu: number;
  lastSeen: string;
}

const clients = new Map<string, Etcd3>();
// require, not import(): the CLI bundle runs in a vm.Script, which has no dynamic import
const require = createRequire(import.meta.url);

/** One client per store for this process (the agent keeps it; a CLI run exits with it). */
export async function client(cfg: ClusterConfig): Promise<Etcd3> {
  let c = clients.get(cfg.store);
  if (!c) {
    const { Etcd3: Ctor } = require('etcd3') as typeof import('etcd3');
    c = new Ctor({ hosts: cfg.hosts.map((h) => `http://${h}`), dialTimeout: 3000 });
    clients.set(cfg.store, c);
  }
  return c;
}

export function closeClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

export const STORE_TIMEOUT_MS = 4000;

/** Run `fn` against the store, bounded in time; failures name the store. */
export async function withStore<T>(cfg: ClusterConfig, what: string, fn: (c: Etcd3) => Promise<T>, ms = STORE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([client(cfg).then(fn), timeout]);
  } catch (err) {
    if (err instanceof TsdError) throw err;
    throw new TsdError('STORE_UNREACHABLE', `${what}: the cluster store ${cfg.store} is unreachable (${(err as Error).message.split('\n')[0]})`, {
      hint: `check that etcd runs at ${cfg.hosts.join(', ')} and that this host reaches it`,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Every key under a prefix, parsed (malformed values are skipped). */
export async function listJson<T>(c: Etcd3, prefix: string): Promise<Map<string, T>> {
  const all = await c.getAll().prefix(prefix).strings();
  const out = new Map<string, T>();
  for (const [k, v] of Object.entries(all)) {
    try {
      out.set(k.slice(prefix.length), JSON.parse(v) as T);
    } catch {
      /* not ours */
    }
  }
  return out;
}
