/**
 * Overlay networks across three simulated hosts (namespaces on an underlay bridge in
 * 192.0.2.0/24 with MTU 1400) and a real etcd: the network is created once and seen
 * everywhere, races for subnets and VNIs have one winner, containers on different hosts
 * talk over TCP, UDP and ICMP by address, name and alias, through VXLAN on the underlay
 * (counted there), with the MTU derived from the underlay, concurrent starts never collide,
 * NAT out, -p and a bridge network still work, and `network rm` leaves nothing anywhere.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, sandboxNetState, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { buildUdpEcho, nodeArgv, TCP_WHO, UDP_ASK, waitOutput, createWorld, type World } from '../helpers/netns.js';
import { createCluster, STORE, type Cluster, type Host } from '../helpers/cluster.js';
import { eventually, inCtr, inspectOne, remoteEntries, vxlanOf } from '../helpers/overlay.js';

let cl: Cluster;
let A: Host;
let B: Host;
let C: Host;
let world: World;
let udpecho: { path: string; cleanup: () => void };
const before = new Map<Host, { nft: string; links: string }>();
const realBefore = { snap: hostSnapshot(), nft: execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }) };

beforeAll(async () => {
  cl = await createCluster(3, { mtu: 1400 });
  [A, B, C] = cl.hosts as [Host, Host, Host];
  udpecho = buildUdpEcho();
  world = await createWorld(A);
  for (const h of cl.hosts) before.set(h, await sandboxNetState(h));
  await Promise.all(cl.hosts.map((h) => tsdOk(h, ['load', '-i', BUSYBOX_TAR])));
}, 180_000);

afterAll(async () => {
  await world?.close();
  await cl?.close();
  udpecho?.cleanup();
}, 180_000);

describe('configuration', () => {
  it('-d overlay without a store fails naming the missing flag; the other flag is named too', async () => {
    const plain: Sandbox = await createSandbox('tsd-ovplain');
    try {
      // Docker's daemon refuses an overlay it cannot make: exit 1, as for any network create
      const r = await plain.tsd(['network', 'create', '-d', 'overlay', 'x']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--cluster-store is missing');
      const r2 = await plain.tsd(['--cluster-store', STORE, 'network', 'create', '-d', 'overlay', 'x']);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain('--advertise-addr is missing');
      const r3 = await plain.tsd(['network', 'create', '-d', 'overlay', 'x'], { env: { ...process.env, TSDOCKER_CLUSTER_STORE: 'consul://h:1' } });
      expect(r3.stderr).toContain('invalid cluster store');
      // a host without a store runs bridge networks as before
      expect((await plain.tsd(['network', 'create', 'plainnet'])).code).toBe(0);
    } finally {
      await plain.close();
    }
  });
});

describe('one network for all hosts', () => {
  it('created on A, listed and inspected on B and C (driver overlay, scope global, VNI, port, MTU from the underlay)', async () => {
    await tsdOk(A, ['network', 'create', '-d', 'overlay', '--subnet', '10.77.0.0/24', 'ov']);
    for (const h of [B, C]) {
      const ls = await tsdOk(h, ['network', 'ls']);
      expect(ls).toMatch(/ov\s+overlay\s+global/);
      const j = JSON.parse(await tsdOk(h, ['network', 'inspect', 'ov'])) as Record<string, unknown>[];
      expect(j[0]).toMatchObject({ Driver: 'overlay', Scope: 'global', VNI: 4096, VXLANPort: 4789 });
    }
    const dup = await B.tsd(['network', 'create', '-d', 'overlay', 'ov']);
    expect(dup.stderr).toContain('already exists');
    // the same settings as flags or environment instead of <root>/cluster.json
    const file = join(C.root, 'cluster.json');
    renameSync(file, `${file}.off`);
    try {
      expect((await C.tsd(['network', 'create', '-d', 'overlay', 'y'])).stderr).toContain('--cluster-store is missing');
      expect(await tsdOk(C, ['--cluster-store', STORE, '--advertise-addr', C.ip, 'network', 'ls'])).toMatch(/ov\s+overlay/);
      const env = { ...process.env, TSDOCKER_CLUSTER_STORE: STORE, TSDOCKER_ADVERTISE_ADDR: C.ip };
      expect((await C.tsd(['network', 'inspect', 'ov'], { env })).stdout).toContain('"Scope": "global"');
    } finally {
      renameSync(`${file}.off`, file);
    }
  });

  it('two hosts racing for overlapping subnets, or for one VNI: exactly one wins', async () => {
    const [r1, r2] = await Promise.all([
      B.tsd(['network', 'create', '-d', 'overlay', '--subnet', '10.9.0.0/16', 'race1']),
      C.tsd(['network', 'create', '-d', 'overlay', '--subnet', '10.9.128.0/17', 'race2']),
    ]);
    expect([r1.code, r2.code].sort()).toEqual([0, 1]);
    expect((r1.code ? r1 : r2).stderr).toMatch(/overlaps/);
    const [v1, v2] = await Promise.all([
      B.tsd(['network', 'create', '-d', 'overlay', '-o', 'vni=5000', '--subnet', '10.20.0.0/24', 'vni1']),
      C.tsd(['network', 'create', '-d', 'overlay', '-o', 'vni=5000', '--subnet', '10.21.0.0/24', 'vni2']),
    ]);
    expect([v1.code, v2.code].sort()).toEqual([0, 1]);
    expect((v1.code ? v1 : v2).stderr).toMatch(/VXLAN id 5000 is already used/);
    for (const n of ['race1', 'race2', 'vni1', 'vni2']) await A.tsd(['network', 'rm', n]);
    expect(await cl.etcdctl(['get', '--prefix', '--keys-only', '/tsdocker/v1/networks/'])).not.toMatch(/race|vni/);
  });
});

describe('containers on different hosts', () => {
  it('reach each other over TCP, UDP and ICMP, by address, name and alias; the MTU is the underlay minus 50', async () => {
    await tsdOk(A, ['run', '-d', '--name', 'srv', '--network-alias', 'web', '--network', 'ov', '-v', `${udpecho.path}:/udpecho:ro`, 'busybox', 'sh', '-c', '/udpecho 5000 & while true; do echo hi-from-a | nc -l -p 8000; done']);
    await tsdOk(B, ['run', '-d', '--name', 'cli', '--network', 'ov', 'busybox', 'sleep', '600']);
    const srv = await inspectOne(A, 'srv');
    const cli = await inspectOne(B, 'cli');
    expect((await inCtr(B, cli.pid, ['ip', '-o', 'link', 'show', 'eth0'])).stdout).toContain('mtu 1350');
    // by name as soon as the agent mirrored it (within moments)
    expect(await eventually(async () => (await B.tsd(['exec', 'cli', 'ping', '-c', '1', '-W', '1', 'srv'])).code === 0, 15_000)).toBe(true);
    // ICMP with the largest payload the MTU carries unfragmented (1350 - 28)
    const ping = await B.tsd(['exec', 'cli', 'ping', '-c', '2', '-s', '1322', srv.ip]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const tcp = await B.tsd(['exec', 'cli', 'sh', '-c', 'nc -w 3 web 8000 </dev/null']);
    expect(tcp.stdout).toContain('hi-from-a');
    const udp = await inCtr(B, cli.pid, nodeArgv(UDP_ASK, [srv.ip, '5000', 'ping-udp']));
    expect(udp.stdout).toContain('ping-udp echo');
    // the embedded DNS on A answers for B's container too
    const nsl = await A.tsd(['exec', 'srv', 'nslookup', 'cli']);
    expect(nsl.stdout).toContain(cli.ip);
  }, 60_000);

  it('the packets crossed the underlay as VXLAN (counted on the underlay bridge), from the advertise address', async () => {
    const ns = ['nsenter', `--net=/proc/${cl.underlayPid}/ns/net`, '--'];
    execFileSync(ns[0]!, [...ns.slice(1), 'nft', '-f', '-'], {
      input: 'table bridge cap {\n chain c { type filter hook forward priority 0; udp dport 4789 ip saddr 192.0.2.2 ip daddr 192.0.2.1 counter\n }\n}\n',
    });
    try {
      const srv = await inspectOne(A, 'srv');
      expect((await B.tsd(['exec', 'cli', 'ping', '-c', '3', srv.ip])).code).toBe(0);
      const out = execFileSync(ns[0]!, [...ns.slice(1), 'nft', 'list', 'table', 'bridge', 'cap'], { encoding: 'utf8' });
      expect(Number(/packets (\d+)/.exec(out)?.[1])).toBeGreaterThanOrEqual(3);
    } finally {
      execFileSync(ns[0]!, [...ns.slice(1), 'nft', 'delete', 'table', 'bridge', 'cap']);
    }
    const link = await A.sh(['ip', '-d', 'link', 'show', await vxlanOf(A, 'ov')]);
    expect(link.stdout).toMatch(/vxlan id 4096 local 192\.0\.2\.1 .*dstport 4789 nolearning/);
    expect(link.stdout).toContain('proxy');
  });

  it('VXLAN from a non-member address is dropped by the host (counter)', async () => {
    const count = async () => Number(/counter nonmember \{\s*packets (\d+)/.exec((await A.sh(['nft', 'list', 'counters'])).stdout)?.[1] ?? -1);
    const c0 = await count();
    expect(c0).toBeGreaterThanOrEqual(0);
    // the world namespace (203.0.113.2) is no cluster member
    await world.sh(nodeArgv("const d=require('node:dgram').createSocket('udp4');d.send(Buffer.alloc(60),4789,'203.0.113.1',()=>d.close())", []));
    expect(await eventually(async () => (await count()) > c0, 3000, 200)).toBe(true);
  });

  it('start on all hosts at once: distinct addresses, all reachable', async () => {
    const names = cl.hosts.flatMap((h, i) => [0, 1, 2, 3].map((k) => ({ h, name: `c${i}${k}` })));
    const rs = await Promise.all(names.map(({ h, name }) => h.tsd(['run', '-d', '--name', name, '--network', 'ov', 'busybox', 'sleep', '600'])));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    const ips = await Promise.all(names.map(async ({ h, name }) => (await inspectOne(h, name)).ip));
    expect(new Set(ips).size).toBe(ips.length);
    const keys = await cl.etcdctl(['get', '--prefix', '--keys-only', '/tsdocker/v1/ipam/']);
    for (const ip of ips) expect(keys).toContain(`/${ip}\n`);
    // a container on C reaches one on A by name
    expect(await eventually(async () => (await C.tsd(['exec', 'c20', 'ping', '-c', '1', '-W', '1', 'c00'])).code === 0, 15_000)).toBe(true);
    await Promise.all(names.map(({ h, name }) => h.tsd(['rm', '-f', name])));
  }, 120_000);

  it('reach the outside through their own host (NAT), publish on their own host, and join a bridge network too', async () => {
    const who = world.spawn(nodeArgv(TCP_WHO, ['9000']));
    await waitOutput(who, 'listening');
    const r = await A.tsd(['exec', 'srv', 'sh', '-c', 'nc -w 3 203.0.113.2 9000 </dev/null']);
    expect(r.stdout).toContain('hello');
    expect(await waitOutput(who, '203.')).toContain('203.0.113.1');

    await tsdOk(B, ['run', '-d', '--name', 'pub', '--network', 'ov', '-p', '8080:80', 'busybox', 'sh', '-c', 'while true; do echo published | nc -l -p 80; done']);
    // from host A's namespace to B's underlay address
    expect(await eventually(async () => (await A.sh(nodeArgv("require('node:net').connect(8080,'192.0.2.2').on('data',(d)=>{process.stdout.write(d);process.exit(0)})", []))).stdout.includes('published'), 10_000)).toBe(true);

    await tsdOk(B, ['network', 'create', 'localbr']);
    await tsdOk(B, ['network', 'connect', 'localbr', 'cli']);
    const cli = await inspectOne(B, 'cli');
    expect((await inCtr(B, cli.pid, ['ip', '-o', 'addr', 'show', 'dev', 'eth1'])).stdout).toMatch(/inet 172\./);
    await tsdOk(B, ['network', 'disconnect', 'localbr', 'cli']);
    await tsdOk(B, ['rm', '-f', 'pub']);
    await tsdOk(B, ['network', 'rm', 'localbr']);
  }, 60_000);

  it('options: -o mtu, -o vxlan-port and --internal (no way out, still across hosts)', async () => {
    await tsdOk(A, ['network', 'create', '-d', 'overlay', '--internal', '-o', 'mtu=1300', '-o', 'vxlan-port=4790', '--subnet', '10.78.0.0/24', 'iov']);
    await tsdOk(A, ['run', '-d', '--name', 'i1', '--network', 'iov', 'busybox', 'sleep', '600']);
    await tsdOk(B, ['run', '-d', '--name', 'i2', '--network', 'iov', 'busybox', 'sleep', '600']);
    const i1 = await inspectOne(A, 'i1');
    expect((await inCtr(A, i1.pid, ['ip', '-o', 'link', 'show', 'eth0'])).stdout).toContain('mtu 1300');
    expect((await A.sh(['ip', '-d', 'link', 'show', await vxlanOf(A, 'iov')])).stdout).toMatch(/dstport 4790/);
    expect(await eventually(async () => (await B.tsd(['exec', 'i2', 'ping', '-c', '1', '-W', '1', 'i1'])).code === 0, 15_000)).toBe(true);
    const out = await A.tsd(['exec', 'i1', 'sh', '-c', 'nc -w 2 203.0.113.2 9000 </dev/null']);
    expect(out.stdout).not.toContain('hello');
    await tsdOk(A, ['rm', '-f', 'i1']);
    await tsdOk(B, ['rm', '-f', 'i2']);
    await tsdOk(B, ['network', 'rm', 'iov']);
  }, 60_000);

  it('node ls lists the three hosts as ready', async () => {
    const out = await tsdOk(C, ['node', 'ls']);
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) expect(out).toMatch(new RegExp(`${ip.replace(/\./g, '\\.')}\\s+ready`));
  });
});

describe('removal', () => {
  it('network rm refuses while a live host has containers; afterwards nothing is left in etcd, links or rules', async () => {
    const refused = await C.tsd(['network', 'rm', 'ov']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/active endpoints.*cli/);
    await tsdOk(A, ['rm', '-f', 'srv']);
    await tsdOk(B, ['rm', '-f', 'cli']);
    await tsdOk(C, ['network', 'rm', 'ov']);
    expect(await cl.etcdctl(['get', '--prefix', '--keys-only', '/tsdocker/v1/'])).not.toMatch(/networks\/|vni\/|ipam\/|endpoints\//);
    for (const h of cl.hosts) {
      // every live host removes its devices and rules (the agent follows the store), then its agent goes
      await eventually(async () => JSON.stringify(await sandboxNetState(h)) === JSON.stringify(before.get(h)), 40_000);
      expect(await sandboxNetState(h), h.name).toEqual(before.get(h));
      expect(await eventually(async () => cl.agentPid(h) === undefined, 40_000)).toBe(true);
    }
    expect(hostSnapshot()).toEqual(realBefore.snap);
    expect(execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' })).toBe(realBefore.nft);
  }, 120_000);
});
