/**
 * Networking faults: tsdocker's nft tables or a bridge removed behind its back (the next start
 * repairs them as `network reload` does, so no container runs without isolation or NAT, and
 * the old containers stay on their bridge), and truly concurrent `network connect`s of one
 * container (one endpoint, one lease, distinct interface names, the DNS record kept).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createSandbox, BUSYBOX_TAR, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { createWorld, type World } from '../helpers/netns.js';

let sb: Sandbox;
let world: World;
const ok = (args: string[]) => tsdOk(sb, args);

/** The container's addresses per network (Docker's NetworkSettings.Networks), with the interface each is on inside. */
async function endpoints(name: string): Promise<{ ip: string; ifname: string; network: string }[]> {
  const j = JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
  const inside = (await sb.tsd(['exec', name, 'ip', '-o', '-4', 'addr'])).stdout;
  return Object.entries(j[0]!.NetworkSettings.Networks).map(([network, n]) => ({
    network,
    ip: n.IPAddress,
    ifname: new RegExp(`^\\d+:\\s+(\\S+)\\s+inet ${n.IPAddress.replace(/\./g, '\\.')}/`, 'm').exec(inside)?.[1] ?? '',
  }));
}

async function networkOf(name: string): Promise<{ id: string; bridge: string }> {
  const j = JSON.parse(await ok(['network', 'inspect', name])) as { Id: string; Options: Record<string, string> }[];
  return { id: j[0]!.Id, bridge: j[0]!.Options['tsdocker.bridge']! };
}

/** This root's nft tables ("inet tsdocker-…", "bridge tsdocker-…"): the sandbox has no others. */
async function tables(): Promise<string[]> {
  return (await sb.sh(['nft', 'list', 'tables'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('table '))
    .map((l) => l.slice('table '.length));
}

const ping = (ctr: string, ip: string) => sb.tsd(['exec', ctr, 'ping', '-c', '1', '-W', '1', ip]);

/** Delete a link behind tsdocker's back, and see it gone from the sandbox's device list before going on. */
async function deleteLink(name: string): Promise<void> {
  const del = await sb.sh(['ip', 'link', 'del', name]);
  expect(del.code, del.stderr).toBe(0);
  for (let i = 0; i < 50 && (await sb.sh(['ip', 'link', 'show', 'dev', name])).code === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect((await sb.sh(['ip', 'link', 'show', 'dev', name])).code, `${name} still exists`).not.toBe(0);
}

function finished(c: ChildProcess): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => c.once('close', (code) => r({ code: code ?? -1, stderr })));
}

beforeAll(async () => {
  sb = await createSandbox('tsd-netfault');
  world = await createWorld(sb);
  await ok(['load', '-i', BUSYBOX_TAR]);
  await ok(['network', 'create', '--subnet', '10.81.0.0/24', 'fa']);
  await ok(['network', 'create', '--subnet', '10.82.0.0/24', 'fb']);
});

afterAll(async () => {
  await sb?.close();
  await world?.close();
});

describe('firewall or bridge removed behind tsdocker\'s back', () => {
  it('after the nft tables are deleted, the next run rebuilds them: isolation, NAT and published ports hold', async () => {
    await ok(['run', '-d', '--name', 'old', '--network', 'fa', 'busybox', 'sleep', '300']);
    const oldIp = (await endpoints('old'))[0]!.ip;
    const ours = await tables();
    expect(ours.some((t) => t.startsWith('inet '))).toBe(true);
    expect(ours.some((t) => t.startsWith('bridge '))).toBe(true);
    for (const t of ours) await sb.sh(['nft', 'delete', 'table', ...t.split(' ')]);

    const r = await sb.tsd(['run', '-d', '--name', 'new', '--network', 'fb', 'busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed outside tsdocker.*network reload/);
    expect((await tables()).sort()).toEqual([...ours].sort());
    // isolation between the networks, and NAT to the outside, for the new and the old container
    expect((await ping('new', oldIp)).code).not.toBe(0);
    expect((await ping('new', world.ip)).code).toBe(0);
    expect((await ping('old', world.ip)).code).toBe(0);

    // the same with -p: no raw nft error, and the port answers
    await sb.sh(['nft', 'delete', 'table', ...ours.find((t) => t.startsWith('inet '))!.split(' ')]);
    const p = await sb.tsd(['run', '-d', '--name', 'web', '-p', '8095:80', 'busybox', 'sh', '-c', 'echo web >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    expect(p.code, p.stderr).toBe(0);
    let got = '';
    for (let i = 0; i < 30 && got !== 'web\n'; i++) {
      got = (await world.sh(['busybox', 'wget', '-qO-', `http://${world.hostIp}:8095/`], { timeoutMs: 3000 }).catch(() => ({ stdout: '' }))).stdout;
      if (got !== 'web\n') await new Promise((res) => setTimeout(res, 100));
    }
    expect(got).toBe('web\n');

    // the bridge table alone (the port bindings) is noticed too
    await sb.sh(['nft', 'delete', 'table', ...ours.find((t) => t.startsWith('bridge '))!.split(' ')]);
    await ok(['run', '-d', '--name', 'third', '--network', 'fa', 'busybox', 'sleep', '300']);
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout.match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(4);
    await ok(['rm', '-f', 'old', 'new', 'web', 'third']);
  });

  it('after a bridge is deleted, the next run recreates it with the old containers on it', async () => {
    await ok(['run', '-d', '--name', 'b-old', '--network', 'fa', 'busybox', 'sleep', '300']);
    const oldIp = (await endpoints('b-old'))[0]!.ip;
    await deleteLink((await networkOf('fa')).bridge);
    const r = await sb.tsd(['run', '-d', '--name', 'b-new', '--network', 'fa', 'busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed outside tsdocker/);
    expect((await ping('b-new', oldIp)).code).toBe(0);
    expect((await ping('b-old', world.ip)).code).toBe(0);
    await ok(['rm', '-f', 'b-old', 'b-new']);
  });
});

describe('firewall and bridge removed together', () => {
  it('a run that must make a bridge first rebuilds everything, its published ports and bindings included', async () => {
    await ok(['run', '-d', '--name', 'both', '--network', 'fa', '-p', '8096:80', 'busybox', 'sh', '-c', 'echo both >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    await sb.sh(['nft', 'flush', 'ruleset']);
    await deleteLink((await networkOf('fa')).bridge);
    const r = await sb.tsd(['run', '-d', '--name', 'both2', '--network', 'fa', 'busybox', 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed outside tsdocker/);
    const got = await world.sh(['busybox', 'wget', '-qO-', `http://${world.hostIp}:8096/`], { timeoutMs: 3000 }).catch(() => ({ stdout: '' }));
    expect(got.stdout).toBe('both\n');
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout.match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(2);
    expect((await ping('both2', (await endpoints('both'))[0]!.ip)).code).toBe(0);

    // the default bridge's first use, and network create, while fa is in use and the tables are gone
    await sb.sh(['nft', 'flush', 'ruleset']);
    const c = await sb.tsd(['network', 'create', '--subnet', '10.87.0.0/24', 'late']);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/removed outside tsdocker[\s\S]*network reload/);
    expect(await ok(['network', 'ls'])).not.toContain('late');
    const d = await sb.tsd(['run', '-d', '--name', 'dflt', 'busybox', 'sleep', '300']);
    expect(d.code, d.stderr).toBe(0);
    expect((await world.sh(['busybox', 'wget', '-qO-', `http://${world.hostIp}:8096/`], { timeoutMs: 3000 })).stdout).toBe('both\n');
    expect((await ping('dflt', (await endpoints('both'))[0]!.ip)).code).not.toBe(0);
    await ok(['network', 'create', '--subnet', '10.87.0.0/24', 'late']);
    await ok(['rm', '-f', 'both', 'both2', 'dflt']);
  });
});

describe('concurrent network connect', () => {
  it('two connects of one container to one network: one wins, its veth, lease and DNS record stay', async () => {
    await ok(['network', 'create', '--subnet', '10.83.0.0/24', 'race']);
    await ok(['run', '-d', '--name', 'racer', '--network', 'fa', 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', 'asker', '--network', 'race', 'busybox', 'sleep', '300']);
    for (let round = 0; round < 8; round++) {
      const results = await Promise.all([0, 1].map(() => finished(sb.spawnTsd(['network', 'connect', 'race', 'racer']))));
      const codes = results.map((x) => x.code).sort();
      expect(codes[0], results.map((x) => x.stderr).join('\n')).toBe(0);
      expect(codes[1]).not.toBe(0);
      expect(results.find((x) => x.code !== 0)!.stderr).toMatch(/already exists in network race/);
      const eps = (await endpoints('racer')).filter((e) => e.network === 'race');
      expect(eps).toHaveLength(1);
      const addrs = (await sb.tsd(['exec', 'racer', 'ip', '-o', '-4', 'addr'])).stdout.match(/10\.83\.0\.\d+/g);
      expect(addrs).toEqual([eps[0]!.ip]);
      const net = await networkOf('race');
      const leases = readdirSync(join(sb.root, 'networks', net.id, 'leases')).filter((f) => !f.startsWith('.'));
      expect(leases.sort()).toEqual([(await endpoints('asker'))[0]!.ip, eps[0]!.ip].sort());
      const lookup = await sb.tsd(['exec', 'asker', 'nslookup', 'racer']);
      expect(lookup.stdout).toContain(eps[0]!.ip);
      expect((await ping('asker', eps[0]!.ip)).code).toBe(0);
      await ok(['network', 'disconnect', 'race', 'racer']);
    }
    await ok(['rm', '-f', 'racer', 'asker']);
  });

  it('connects to several networks at once get distinct interface names', async () => {
    await ok(['network', 'create', '--subnet', '10.84.0.0/24', 'm1']);
    await ok(['network', 'create', '--subnet', '10.85.0.0/24', 'm2']);
    await ok(['network', 'create', '--subnet', '10.86.0.0/24', 'm3']);
    await ok(['run', '-d', '--name', 'multi', '--network', 'fa', 'busybox', 'sleep', '300']);
    const results = await Promise.all(['m1', 'm2', 'm3'].map((n) => finished(sb.spawnTsd(['network', 'connect', n, 'multi']))));
    expect(results.map((x) => x.code), results.map((x) => x.stderr).join('\n')).toEqual([0, 0, 0]);
    const eps = await endpoints('multi');
    expect(eps.map((e) => e.ifname).sort()).toEqual(['eth0', 'eth1', 'eth2', 'eth3']);
    const inside = (await sb.tsd(['exec', 'multi', 'ip', '-o', '-4', 'addr'])).stdout;
    for (const e of eps) expect(inside).toMatch(new RegExp(`${e.ifname}\\s+inet ${e.ip.replace(/\./g, '\\.')}/`));
    await ok(['rm', '-f', 'multi']);
  });
});
