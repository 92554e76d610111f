/**
 * The overlay agent: ONE small process per root on a host that has overlay links, started by
 * agentctl.ts (`node agent.js <root> <store> <advertise>`). It registers the host under an
 * etcd lease (TTL_S, kept alive; the host's endpoints hang off it), keeps a watch on the
 * store, and resyncs the kernel from a full snapshot: on start, on every change, after a
 * watch error or reconnect, and every RESYNC_MS. No packet ever passes through it: kill it,
 * or stop etcd, and the kernel keeps forwarding with the entries it holds. It exits (and
 * deregisters) when this host has no overlay links left.
 */
import { existsSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Lease } from 'etcd3';
import { setRoot } from '../../state/paths.js';
import { listNetworks, netFiles } from '../store.js';
import { linkExists } from '../bridge.js';
import { parseStore, type ClusterConfig } from './config.js';
import { client, keys, PREFIX, withStore, type StoreNode } from './kv.js';
import { apply, orphans, ownEndpoints, snapshot, updateKnown, type Known } from './reconcile.js';
import { underlayMtu } from './vxlan.js';
import { removePeersTable } from './peers.js';
import { shortHash } from '../store.js';

const argv = process.argv.slice(2);
if (argv.length < 3) {
  process.stderr.write('usage: agent <root> <store> <advertise-addr>\n');
  process.exit(2);
}
const [root, store, advertise] = argv as [string, string, string];
setRoot(root);
const cfg: ClusterConfig = { store, hosts: parseStore(store), advertise, nodeId: shortHash(`node:${advertise}`, 16) };
const TTL_S = Number(process.env.TSDOCKER_CLUSTER_TTL) || 15;
const RESYNC_MS = 10_000;
const HEARTBEAT_MS = 5_000;

let lease: Lease | undefined;
let leaseId: string | undefined;
let registering = false;
const known = new Map<string, Known>();
let idle = 0;

function say(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ovagent[${process.pid}] ${msg}\n`);
}

function writeState(): void {
  mkdirSync(dirname(netFiles.agentState()), { recursive: true });
  writeFileSync(netFiles.agentState(), JSON.stringify({ pid: process.pid, store, ...(leaseId ? { lease: leaseId } : {}) }) + '\n');
}

async function heartbeat(): Promise<void> {
  if (!leaseId) return;
  const mtu = (await underlayMtu(advertise)) ?? 0;
  const node: StoreNode = { addr: advertise, mtu, lastSeen: new Date().toISOString() };
  await withStore(cfg, 'heartbeat', async (c) => {
    await c.put(keys.node(cfg.nodeId)).value(JSON.stringify(node)).lease(leaseId!).exec();
    await c.put(keys.seen(cfg.nodeId)).value(JSON.stringify(node)).exec();
  });
}

/** A lease, the node key, and this host's endpoints put back under it. */
async function register(): Promise<void> {
  if (registering) return;
  registering = true;
  try {
    const c = await client(cfg);
    const l = c.lease(TTL_S, { autoKeepAlive: true });
    l.on('lost', (err) => {
      say(`lease lost (${err.message}): registering again`);
      if (lease === l) {
        lease = undefined;
        leaseId = undefined;
        writeState();
      }
      setTimeout(() => void register(), 1000);
    });
    const id = await withStore(cfg, 'lease', () => l.grant());
    lease = l;
    leaseId = id;
    await heartbeat();
    await republish();
    writeState();
    say(`registered as ${cfg.nodeId} (${advertise}), lease ${id}`);
    schedule();
  } catch (err) {
    say(`register: ${(err as Error).message}; retrying`);
    setTimeout(() => void register(), 2000);
  } finally {
    registering = false;
  }
}

async function republish(): Promise<void> {
  if (!leaseId) return;
  const own = ownEndpoints(cfg);
  if (own.length) say(`putting ${own.length} endpoint(s) of this host under lease ${leaseId}`);
  await withStore(cfg, 'republish', async (c) => {
    for (const { netId, ep } of own) {
      await c.put(keys.endpoint(netId, ep.containerId)).value(JSON.stringify(ep)).lease(leaseId!).exec();
      await c.put(keys.ipam(netId, ep.ip)).value(JSON.stringify({ node: cfg.nodeId, containerId: ep.containerId })).lease(leaseId!).exec();
    }
  });
}

let running = false;
let again = false;
async function resync(): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    if (!existsSync(root)) process.exit(0);
    const snap = await withStore(cfg, 'resync', snapshot);
    if (process.env.TSDOCKER_AGENT_DEBUG) say(`snapshot: ${snap.nets.length} networks, ${snap.nodes.size} nodes, ${snap.eps.length} endpoints`);
    await updateKnown(known, snap, cfg.nodeId);
    const n = await apply(cfg, snap, known);
    if (process.env.TSDOCKER_AGENT_DEBUG) say(`applied: ${n}, known ${[...known.keys()].join(',')}`);
    if (n) say(`resync: ${n} kernel entries written`);
    const stale = orphans(cfg, snap);
    if (stale.length) await withStore(cfg, 'clean-up', async (c) => Promise.all(stale.map((k) => c.delete().key(k).exec())));
    // this host's endpoints must hang off its current lease: missing ones (a store that lost
    // them) and ones left on an older lease (which will expire) are put again
    const current = (o: { netId: string; ep: { containerId: string } }) => snap.eps.some((e) => e.netId === o.netId && e.ep.containerId === o.ep.containerId && e.lease === leaseId);
    if (leaseId && !ownEndpoints(cfg).every(current)) await republish();
    await exitIfIdle();
  } catch (err) {
    say(`resync: ${(err as Error).message}; the kernel keeps what it has`);
  } finally {
    running = false;
    if (again) {
      again = false;
      schedule();
    }
  }
}

let timer: NodeJS.Timeout | undefined;
function schedule(ms = 50): void {
  clearTimeout(timer);
  timer = setTimeout(() => void resync(), ms);
}

async function exitIfIdle(): Promise<void> {
  const nets = listNetworks().filter((n) => n.driver === 'overlay');
  const links = await Promise.all(nets.map((n) => linkExists(n.bridge)));
  if (links.some(Boolean)) {
    idle = 0;
    return;
  }
  if (++idle < 2) return;
  say('no overlay links on this host: deregistering and exiting');
  await withStore(cfg, 'deregister', async (c) => {
    await c.delete().key(keys.seen(cfg.nodeId)).exec();
    await lease?.revoke();
  }).catch((err: Error) => say(err.message));
  await removePeersTable();
  rmSync(netFiles.agentState(), { force: true });
  process.exit(0);
}

async function watch(): Promise<void> {
  try {
    const c = await client(cfg);
    const w = await c.watch().prefix(PREFIX).create();
    // heartbeats (a known node's key written again, any seen/ key) change nothing to program
    w.on('put', (kv) => {
      const key = kv.key.toString();
      if (key.startsWith(keys.seens)) return;
      if (key.startsWith(keys.nodes) && known.has(key.slice(keys.nodes.length))) return;
      schedule();
    });
    w.on('delete', () => schedule());
    w.on('connected', () => schedule());
    w.on('disconnected', () => say('watch disconnected'));
    w.on('error', (err) => {
      say(`watch error: ${err.message}; resync`);
      schedule(1000);
    });
  } catch (err) {
    say(`watch: ${(err as Error).message}; retrying`);
    setTimeout(() => void watch(), 2000);
  }
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGHUP', () => schedule());
writeState();
say('started');
void register();
void watch();
setInterval(() => schedule(0), RESYNC_MS);
setInterval(() => void heartbeat().catch((err: Error) => say(err.message)), HEARTBEAT_MS);
