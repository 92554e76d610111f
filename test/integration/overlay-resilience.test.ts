/**
 * The overlay when things go wrong, on three simulated hosts and a real etcd: drifted kernel
 * entries come back, a killed agent is restarted by the next command while traffic keeps
 * flowing, a stopped etcd stops no traffic and makes overlay commands fail fast naming the
 * store, a host that only lost etcd keeps its peers, a dead host disappears from its peers,
 * and nothing is left afterwards.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_TAR, sandboxNetState, tsdOk } from '../helpers/sandbox.js';
import { createCluster, type Cluster, type Host } from '../helpers/cluster.js';
import { eventually, inspectOne, remoteEntries, vxlanOf } from '../helpers/overlay.js';

let cl: Cluster;
let A: Host;
let B: Host;
let C: Host;
let vx: string;
const before = new Map<Host, { nft: string; links: string }>();

const ping = (h: Host, ctr: string, ip: string) => h.tsd(['exec', ctr, 'ping', '-c', '1', '-W', '2', ip]);

beforeAll(async () => {
  cl = await createCluster(3);
  [A, B, C] = cl.hosts as [Host, Host, Host];
  for (const h of cl.hosts) before.set(h, await sandboxNetState(h));
  await Promise.all(cl.hosts.map((h) => tsdOk(h, ['load', '-i', BUSYBOX_TAR])));
  await tsdOk(A, ['network', 'create', '-d', 'overlay', '--subnet', '10.88.0.0/24', 'ov']);
  for (const [h, n] of [[A, 'a1'], [B, 'b1'], [C, 'c1']] as const) await tsdOk(h, ['run', '-d', '--name', n, '--network', 'ov', 'busybox', 'sleep', '900']);
  vx = await vxlanOf(A, 'ov');
}, 180_000);

afterAll(async () => {
  await cl?.close();
}, 180_000);

describe('the kernel state is reconciled', () => {
  it('deleted and bogus FDB/neighbour entries are put right by the agent within 30 s', async () => {
    const b1 = await inspectOne(B, 'b1');
    expect(await eventually(async () => (await ping(A, 'a1', b1.ip)).code === 0, 15_000)).toBe(true);
    const want = await remoteEntries(A, vx);
    expect(want.fdb.length).toBe(2); // b1 and c1
    const mac = want.neigh.find((l) => l.startsWith(`${b1.ip} `))!.split(' ')[1]!;
    await A.sh(['bridge', 'fdb', 'del', mac, 'dev', vx, 'self']);
    await A.sh(['ip', 'neigh', 'del', b1.ip, 'dev', vx]);
    await A.sh(['ip', 'neigh', 'replace', '10.88.0.250', 'lladdr', '02:42:0a:58:00:fa', 'dev', vx, 'nud', 'permanent']);
    await A.sh(['bridge', 'fdb', 'replace', '02:42:0a:58:00:fa', 'dev', vx, 'self', 'permanent', 'dst', '192.0.2.99']);
    expect(await remoteEntries(A, vx)).not.toEqual(want);
    expect(await eventually(async () => JSON.stringify(await remoteEntries(A, vx)) === JSON.stringify(want), 30_000)).toBe(true);
    expect((await ping(A, 'a1', b1.ip)).code).toBe(0);
  }, 60_000);
});

describe('identities are derived', () => {
  it('a recreated VXLAN device (network reload) has the same MAC; traffic resumes with no change on the peers', async () => {
    const mac = async () => (JSON.parse((await B.sh(['ip', '-j', 'link', 'show', vx])).stdout) as { address: string }[])[0]!.address;
    const before = await mac();
    const onA = await remoteEntries(A, vx);
    await B.sh(['ip', 'link', 'del', vx]);
    await tsdOk(B, ['network', 'reload']);
    expect(await mac()).toBe(before);
    expect(await eventually(async () => (await ping(B, 'b1', 'a1')).code === 0, 20_000)).toBe(true);
    expect(await remoteEntries(A, vx)).toEqual(onA);
  }, 60_000);
});

describe('the data path does not depend on the agent or on etcd', () => {
  it('kill -9 the agent: traffic keeps flowing; the next command restarts it and it catches up', async () => {
    const b1 = await inspectOne(B, 'b1');
    const old = cl.agentPid(A)!;
    process.kill(old, 'SIGKILL');
    expect(await eventually(async () => cl.agentPid(A) === undefined, 5000, 100)).toBe(true);
    expect((await ping(A, 'a1', b1.ip)).code).toBe(0);
    // a container started on B meanwhile
    await tsdOk(B, ['run', '-d', '--name', 'b2', '--network', 'ov', 'busybox', 'sleep', '900']);
    await tsdOk(A, ['ps']);
    const now = cl.agentPid(A);
    expect(now).toBeDefined();
    expect(now).not.toBe(old);
    expect(await eventually(async () => (await ping(A, 'a1', 'b2')).code === 0, 15_000)).toBe(true);
  }, 60_000);

  it('etcd stopped: traffic flows; overlay create and run fail within 10 s with 125 naming the store; back when etcd is', async () => {
    const b1 = await inspectOne(B, 'b1');
    await cl.stopEtcd();
    try {
      expect((await ping(A, 'a1', b1.ip)).code).toBe(0);
      const cr = await A.tsd(['network', 'create', '-d', 'overlay', 'while-down'], { timeoutMs: 10_000 });
      expect(cr.code).toBe(125);
      expect(cr.stderr).toContain('etcd://192.0.2.100:2379');
      const rn = await B.tsd(['run', '--rm', '--network', 'ov', 'busybox', 'true'], { timeoutMs: 10_000 });
      expect(rn.code).toBe(125);
      expect(rn.stderr).toContain('etcd://192.0.2.100:2379');
      // a while later (the agents retry meanwhile), still flowing
      await new Promise((r) => setTimeout(r, 5000));
      expect((await ping(B, 'b1', 'a1')).code).toBe(0);
    } finally {
      await cl.startEtcd();
    }
    expect(await eventually(async () => (await B.tsd(['run', '--rm', '--network', 'ov', 'busybox', 'true'])).code === 0, 30_000, 1000)).toBe(true);
    await tsdOk(A, ['network', 'create', '-d', 'overlay', '--subnet', '10.89.0.0/24', 'after']);
    await tsdOk(A, ['network', 'rm', 'after']);
  }, 120_000);
});

describe('hosts that go', () => {
  it('a host that only lost etcd (lease expired) but answers its peers keeps its entries on them', async () => {
    const c1 = await inspectOne(C, 'c1');
    await C.sh(['nft', 'add', 'table', 'inet', 'cut']);
    await C.sh(['nft', 'add', 'chain', 'inet', 'cut', 'o', '{ type filter hook output priority 0; }']);
    await C.sh(['nft', 'add', 'rule', 'inet', 'cut', 'o', 'ip', 'daddr', '192.0.2.100', 'drop']);
    try {
      expect(await eventually(async () => /192\.0\.2\.3\s+gone/.test(await tsdOk(A, ['node', 'ls'])), 40_000, 1000)).toBe(true);
      // two resyncs later, A still forwards to C
      await new Promise((r) => setTimeout(r, 12_000));
      expect((await remoteEntries(A, vx)).fdb.some((l) => l.endsWith(' 192.0.2.3'))).toBe(true);
      expect((await ping(A, 'a1', c1.ip)).code).toBe(0);
    } finally {
      await C.sh(['nft', 'delete', 'table', 'inet', 'cut']);
    }
    // C registers again, with its container, and lists as ready
    const back = await eventually(async () => /192\.0\.2\.3\s+ready\s+.*ago\s+1\s/.test(await tsdOk(A, ['node', 'ls'])), 40_000, 1000);
    expect(back, readFileSync(join(C.root, 'run', 'ovagent.log'), 'utf8') + (await tsdOk(A, ['node', 'ls']))).toBe(true);
  }, 120_000);

  it('a dead host (lease expired, VTEP silent) disappears from its peers within TTL + 30 s; its addresses are free again', async () => {
    const c1 = await inspectOne(C, 'c1');
    expect((await remoteEntries(A, vx)).fdb.some((l) => l.endsWith(' 192.0.2.3'))).toBe(true);
    process.kill(cl.agentPid(C)!, 'SIGKILL');
    await C.sh(['ip', 'link', 'set', 'ul', 'down']);
    try {
      for (const h of [A, B]) {
        expect(await eventually(async () => !JSON.stringify(await remoteEntries(h, vx)).includes('192.0.2.3'), 45_000, 1000), h.name).toBe(true);
      }
      expect(await tsdOk(A, ['node', 'ls'])).toMatch(/192\.0\.2\.3\s+gone/);
      expect(await cl.etcdctl(['get', '--prefix', '--keys-only', '/tsdocker/v1/ipam/'])).not.toContain(`/${c1.ip}\n`);
      const r = await tsdOk(A, ['run', '-d', '--name', 'reuse', '--network', 'ov', '--ip', c1.ip, 'busybox', 'sleep', '60']);
      expect(r).toBeTruthy();
      await tsdOk(A, ['rm', '-f', 'reuse']);
    } finally {
      await C.sh(['ip', 'link', 'set', 'ul', 'up']);
    }
  }, 120_000);

  it('afterwards nothing is left in etcd, links or rules', async () => {
    await Promise.all([tsdOk(A, ['rm', '-f', 'a1']), tsdOk(B, ['rm', '-f', 'b1', 'b2']), tsdOk(C, ['rm', '-f', 'c1'])]);
    await tsdOk(B, ['network', 'rm', 'ov']);
    expect(await cl.etcdctl(['get', '--prefix', '--keys-only', '/tsdocker/v1/'])).not.toMatch(/networks\/|vni\/|ipam\/|endpoints\//);
    for (const h of cl.hosts) {
      await eventually(async () => JSON.stringify(await sandboxNetState(h)) === JSON.stringify(before.get(h)), 40_000);
      expect(await sandboxNetState(h), h.name).toEqual(before.get(h));
    }
  }, 120_000);
});
