/**
 * Network records on disk. net/ owns the inside of <root>/networks:
 *
 *   networks/<id>/network.json        the record (written atomically, under the `net` lock)
 *   networks/<id>/leases/<ip>         one file per leased address: "<containerId>\n<ifname>\n"
 *   networks/<id>/endpoints/<ctr>.json  who is attached (name, aliases, address): DNS reads these
 *   networks/ports/<proto>-<port>     one file per published host port: "<containerId>\n<hostIp>\n"
 *   networks/host.json                host settings tsdocker changed (ip_forward), to undo only ours
 *
 * Every mutation happens under withLock(NET_LOCK); readers need no lock (atomic renames).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { randomBytes } from '../sys/random.js';
import { DEFAULT_ROOT, paths, rootDir } from '../state/paths.js';
import { writeJsonAtomicSync } from '../sys/fs.js';
import { TsdError, isCorruptRecord } from '../sys/errors.js';
import { readRecordSync, reportSkipped, type Schema } from '../state/records.js';

export const NET_LOCK = 'net';
export const DEFAULT_NETWORK = 'bridge';
/** The default network's bridge: tsd0 for the default root, tsd0-<6 hex> for any other --root. */
export function defaultBridgeName(): string {
  return rootDir() === DEFAULT_ROOT ? 'tsd0' : `tsd0-${shortHash(`root:${rootDir()}`, 6)}`;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge' | 'overlay';
  created: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  mtu: number;
  bridge: string;
  /** user-defined networks get the embedded DNS; the default bridge does not (as Docker) */
  dns: boolean;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** overlay only: the cluster-wide part (VXLAN id and UDP port) and this host's VXLAN device */
  vni?: number;
  vxlanPort?: number;
  vxlan?: string;
  /** overlay only: -o mtu was given (else each host derives it from its underlay) */
  mtuFixed?: boolean;
}

export interface EndpointRecord {
  containerId: string;
  name: string;
  aliases: string[];
  ip: string;
  /** the container side's MAC (absent in records of older versions) */
  mac?: string;
  ifname: string;
  hostIfname: string;
  /** --dns servers of the container: the embedded DNS forwards its queries there first */
  dns?: string[];
}

export const netFiles = {
  dir: (id: string) => join(paths.networks(), id),
  record: (id: string) => join(paths.networks(), id, 'network.json'),
  leases: (id: string) => join(paths.networks(), id, 'leases'),
  lease: (id: string, ip: string) => join(paths.networks(), id, 'leases', ip),
  cursor: (id: string) => join(paths.networks(), id, 'leases', '.cursor'),
  endpoints: (id: string) => join(paths.networks(), id, 'endpoints'),
  endpoint: (id: string, ctr: string) => join(paths.networks(), id, 'endpoints', `${ctr}.json`),
  ports: () => join(paths.networks(), 'ports'),
  port: (proto: string, port: number) => join(paths.networks(), 'ports', `${proto}-${port}`),
  host: () => join(paths.networks(), 'host.json'),
  /** overlay: remote endpoints mirrored from the cluster store by the agent (the embedded DNS reads them) */
  remote: (id: string) => join(paths.networks(), id, 'remote'),
  agentState: () => join(paths.run(), 'ovagent.json'),
  agentLog: () => join(paths.run(), 'ovagent.log'),
  dnsPid: () => join(paths.run(), 'dnsd.pid'),
  forwardOk: () => join(paths.run(), 'forward-ok.json'),
  dnsLog: () => join(paths.run(), 'dnsd.log'),
  containerFile: (ctr: string, name: 'hosts' | 'resolv.conf') => join(paths.container(ctr), name),
};

export function newNetworkId(): string {
  return randomBytes(32).toString('hex');
}

/** 12 hex chars derived from a long id: names of chains, veths and bridges. */
export function shortHash(text: string, n = 12): string {
  // noble's sha256, not node:crypto: loading node:crypto would cost every start ~3.5 ms
  return bytesToHex(sha256(new TextEncoder().encode(text))).slice(0, n);
}

export function listNetworks(): NetworkRecord[] {
  let ids: string[];
  try {
    ids = readdirSync(paths.networks()).filter((d) => /^[0-9a-f]{64}$/.test(d));
  } catch {
    return [];
  }
  const out: NetworkRecord[] = [];
  for (const id of ids) {
    const r = readChecked<NetworkRecord>(netFiles.record(id), NETWORK_SCHEMA);
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

const NETWORK_SCHEMA: Schema = {
  id: 'string', name: 'string', driver: 'string', created: 'string', subnet: 'string', gateway: 'string', ipRange: 'string?',
  internal: 'boolean', mtu: 'number', bridge: 'string', dns: 'boolean', options: 'object', labels: 'object',
};
const ENDPOINT_SCHEMA: Schema = {
  containerId: 'string', name: 'string', aliases: 'strings', ip: 'string', ifname: 'string', hostIfname: 'string', dns: 'strings?',
};

/** A record checked against its schema; a corrupt one is reported once and skipped (undefined). */
function readChecked<T>(path: string, schema: Schema): T | undefined {
  try {
    return readRecordSync<T>(path, schema);
  } catch (err) {
    if (!isCorruptRecord(err)) throw err;
    reportSkipped(err);
    return undefined;
  }
}

/** Docker's lookup order: exact name, full id, unique id prefix. */
export function lookupNetwork(ref: string): NetworkRecord | undefined {
  const all = listNetworks();
  const byName = all.find((n) => n.name === ref);
  if (byName) return byName;
  const byId = all.find((n) => n.id === ref);
  if (byId) return byId;
  if (/^[0-9a-f]+$/.test(ref)) {
    const m = all.filter((n) => n.id.startsWith(ref));
    if (m.length === 1) return m[0];
  }
  return undefined;
}

export function findNetwork(ref: string): NetworkRecord {
  const n = lookupNetwork(ref);
  if (!n) {
    throw new TsdError('NETWORK_NOT_FOUND', `network ${ref} not found`, { hint: 'see `tsdocker network ls`' });
  }
  return n;
}

export function saveNetwork(rec: NetworkRecord): void {
  const fresh = !existsSync(netFiles.dir(rec.id));
  try {
    mkdirSync(netFiles.leases(rec.id), { recursive: true });
    mkdirSync(netFiles.endpoints(rec.id), { recursive: true });
    writeJsonAtomicSync(netFiles.record(rec.id), rec);
  } catch (err) {
    // a full disk: no directory of a network that was never recorded
    if (fresh) rmSync(netFiles.dir(rec.id), { recursive: true, force: true });
    throw err;
  }
}

export async function deleteNetworkRecord(id: string): Promise<void> {
  await fsp.rm(netFiles.dir(id), { recursive: true, force: true });
}

/** This host's endpoints on a network (`remote`: those on other hosts, overlay). */
export function listEndpoints(netId: string, where: 'endpoints' | 'remote' = 'endpoints'): EndpointRecord[] {
  const dir = netFiles[where](netId);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: EndpointRecord[] = [];
  for (const f of files) {
    const e = readChecked<EndpointRecord>(join(dir, f), ENDPOINT_SCHEMA);
    if (e) out.push(e);
  }
  return out;
}

/** Endpoints on other hosts (overlay), as the agent last mirrored them. */
export const listRemoteEndpoints = (netId: string): EndpointRecord[] => listEndpoints(netId, 'remote');

export function readEndpoint(netId: string, ctr: string): EndpointRecord | undefined {
  return readChecked<EndpointRecord>(netFiles.endpoint(netId, ctr), ENDPOINT_SCHEMA);
}

export function saveEndpoint(netId: string, e: EndpointRecord): void {
  mkdirSync(netFiles.endpoints(netId), { recursive: true });
  // no fsync: an endpoint lives as long as the container's network namespace, which no
  // crash of the machine survives (reconcile frees what a killed run left)
  writeJsonAtomicSync(netFiles.endpoint(netId, e.containerId), e, { durable: false });
}

export async function removeEndpoint(netId: string, ctr: string): Promise<void> {
  rmSync(netFiles.endpoint(netId, ctr), { force: true }); // one file: no thread-pool trip (sys/fs.ts)
}

export interface HostSettings {
  /** tsdocker turned net.ipv4.ip_forward on (it was 0) */
  ipForwardChanged?: boolean;
  /** bridges for which narrow iptables ACCEPT rules were inserted (FORWARD policy DROP) */
  iptablesAccept?: string[];
}

export function readHostSettings(): HostSettings {
  return readChecked<HostSettings>(netFiles.host(), {}) ?? {};
}

export function writeHostSettings(h: HostSettings): void {
  mkdirSync(paths.networks(), { recursive: true });
  writeJsonAtomicSync(netFiles.host(), h);
}
