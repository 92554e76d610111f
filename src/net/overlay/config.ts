/**
 * Where this host finds the cluster: `--cluster-store etcd://HOST:PORT[,HOST:PORT...]` and
 * `--advertise-addr IP` (global flags), else TSDOCKER_CLUSTER_STORE / TSDOCKER_ADVERTISE_ADDR,
 * else <root>/cluster.json: {"cluster-store": "etcd://...", "advertise-addr": "192.0.2.1"}.
 * A host without a store runs everything but the overlay. The node id is derived from the
 * advertise address, so a restarted host (or agent) comes back as the same member.
 */
import { readFileSync } from 'node:fs';
import { paths } from '../../state/paths.js';
import { TsdError } from '../../sys/errors.js';
import { parseIp } from '../ipv4.js';
import { shortHash } from '../store.js';

export interface ClusterConfig {
  /** as given, for messages */
  store: string;
  /** host:port endpoints for the etcd client */
  hosts: string[];
  advertise: string;
  nodeId: string;
}

let flags: { store?: string; advertise?: string } = {};

/** The global flags (set by the CLI before any command runs). */
export function setClusterFlags(f: { store?: string; advertise?: string }): void {
  flags = f;
}

function fileConfig(): { store?: string; advertise?: string } {
  try {
    const j = JSON.parse(readFileSync(paths.clusterConfig(), 'utf8')) as Record<string, unknown>;
    const s = j['cluster-store'];
    const a = j['advertise-addr'];
    return { ...(typeof s === 'string' ? { store: s } : {}), ...(typeof a === 'string' ? { advertise: a } : {}) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TsdError('BAD_ARGS', `cannot read ${paths.clusterConfig()}: ${(err as Error).message}`, {
      hint: 'it holds JSON: {"cluster-store": "etcd://HOST:PORT", "advertise-addr": "IP"}',
    });
  }
}

function raw(): { store?: string; advertise?: string } {
  const file = flags.store && flags.advertise ? {} : fileConfig();
  return {
    store: flags.store ?? (process.env.TSDOCKER_CLUSTER_STORE || undefined) ?? file.store,
    advertise: flags.advertise ?? (process.env.TSDOCKER_ADVERTISE_ADDR || undefined) ?? file.advertise,
  };
}

/** Whether a store is configured at all (cheap: no client is loaded). */
export function clusterConfigured(): boolean {
  return raw().store !== undefined;
}

export function parseStore(store: string): string[] {
  const m = /^etcd:\/\/(.+)$/.exec(store.trim());
  const hosts = m ? m[1]!.split(',').map((h) => h.trim().replace(/\/+$/, '')) : [];
  if (!m || !hosts.length || hosts.some((h) => !/^[A-Za-z0-9.-]+:[0-9]{1,5}$/.test(h))) {
    throw new TsdError('BAD_ARGS', `invalid cluster store "${store}"`, { hint: 'give it as etcd://HOST:PORT[,HOST:PORT...], e.g. etcd://192.0.2.10:2379' });
  }
  return hosts;
}

/** The cluster settings, or a clear error naming the missing flag. */
export function requireCluster(): ClusterConfig {
  const r = raw();
  if (r.store === undefined) {
    throw new TsdError('CLUSTER_STORE', 'the overlay driver needs a cluster store, and none is configured: --cluster-store is missing', {
      hint: `give --cluster-store etcd://HOST:PORT and --advertise-addr IP (or TSDOCKER_CLUSTER_STORE / TSDOCKER_ADVERTISE_ADDR, or ${paths.clusterConfig()})`,
    });
  }
  const hosts = parseStore(r.store);
  if (r.advertise === undefined) {
    throw new TsdError('CLUSTER_STORE', 'the overlay driver needs this host\'s address on the underlay: --advertise-addr is missing', {
      hint: 'give --advertise-addr IP (or TSDOCKER_ADVERTISE_ADDR): the address peers send VXLAN to',
    });
  }
  if (parseIp(r.advertise) === undefined) {
    throw new TsdError('BAD_ARGS', `invalid --advertise-addr "${r.advertise}": an IPv4 address is needed`);
  }
  return { store: r.store, hosts, advertise: r.advertise, nodeId: shortHash(`node:${r.advertise}`, 16) };
}
