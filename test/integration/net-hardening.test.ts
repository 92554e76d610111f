/**
 * A container attacking the host and its neighbours with hand-made frames (test/fixtures/rawnet.c;
 * a default container has CAP_NET_RAW): the host's 127.0.0.1-only services stay out of reach
 * (CVE-2020-8558 class) on the default bridge, a user network and an --internal network, and
 * spoofed source addresses, spoofed source MACs and gratuitous ARP claims are dropped and counted.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSandbox, BUSYBOX_TAR, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { buildFixture, nodeArgv, output, waitOutput } from '../helpers/netns.js';
import type { ChildProcess } from 'node:child_process';

let sb: Sandbox;
let rawnet: { path: string; cleanup: () => void };
const servers: ChildProcess[] = [];

const ok = (args: string[]) => tsdOk(sb, args);

/** A TCP server printing each caller's address (a reset from the caller is no crash). */
const TCP_PRINT = `
const s = require('node:net').createServer((c) => { c.on('error', () => {}); process.stdout.write(c.remoteAddress + '\\n'); c.end('hello\\n'); });
s.listen(Number(process.argv[1]), process.argv[2], () => process.stdout.write('listening\\n'));
`;

/** A UDP server printing every datagram it receives, one per line. */
const UDP_PRINT = `
const d = require('node:dgram').createSocket('udp4');
d.on('message', (m, r) => process.stdout.write(r.address + ' ' + m.toString() + '\\n'));
d.bind(Number(process.argv[1]), process.argv[2], () => process.stdout.write('listening\\n'));
`;

async function hostServer(script: string, args: string[]): Promise<ChildProcess> {
  const { spawn } = await import('node:child_process');
  const c = spawn(sb.enter[0]!, [...sb.enter.slice(1), ...nodeArgv(script, args)], { stdio: 'pipe' });
  servers.push(c);
  await waitOutput(c, 'listening');
  return c;
}

interface Net {
  bridge: string;
  gateway: string;
  mac: string;
}

async function netInfo(name: string): Promise<Net> {
  const j = JSON.parse(await ok(['network', 'inspect', name])) as { Options: Record<string, string>; IPAM: { Config: { Gateway: string }[] } }[];
  const bridge = j[0]!.Options['tsdocker.bridge']!;
  const link = JSON.parse((await sb.sh(['ip', '-j', 'link', 'show', 'dev', bridge])).stdout) as { address: string }[];
  return { bridge, gateway: j[0]!.IPAM.Config[0]!.Gateway, mac: link[0]!.address };
}

async function endpoint(name: string, idx = 0): Promise<{ ip: string; mac: string }> {
  const j = JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; MacAddress: string }> } }[];
  const n = Object.values(j[0]!.NetworkSettings.Networks)[idx]!;
  return { ip: n.IPAddress, mac: n.MacAddress };
}
const ipOf = async (name: string) => (await endpoint(name)).ip;

/** `rawnet sniff` in a container: everything UDP its eth0 receives while `during` runs. */
async function sniff(ctr: string, during: () => Promise<unknown>): Promise<string> {
  const c = sb.spawnTsd(['exec', ctr, '/rawnet', 'sniff', 'eth0', '1500']);
  await waitOutput(c, 'listening');
  await during();
  await new Promise((r) => c.once('exit', r));
  return output(c).buf;
}

async function spoofedCount(): Promise<number> {
  const t = (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
  return Number(/counter spoofed \{\s*packets (\d+)/.exec(t)?.[1] ?? -1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await createSandbox('tsd-nethard');
  rawnet = buildFixture('rawnet');
  await ok(['load', '-i', BUSYBOX_TAR]);
  await ok(['network', 'create', '--subnet', '10.77.0.0/24', 'usernet']);
  await ok(['network', 'create', '--internal', '--subnet', '10.78.0.0/24', 'internal']);
});

afterAll(async () => {
  for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
  await sb?.close();
  rawnet?.cleanup();
});

describe('the host loopback is out of reach (CVE-2020-8558)', () => {
  it('a frame to 127.0.0.1 at the gateway MAC reaches no 127.0.0.1-only service, on every kind of network', async () => {
    const tcp = await hostServer(TCP_PRINT, ['7001', '127.0.0.1']);
    const udp = await hostServer(UDP_PRINT, ['7002', '127.0.0.1']);
    const control = await hostServer(UDP_PRINT, ['7003', '0.0.0.0']);
    for (const network of ['bridge', 'usernet', 'internal']) {
      const name = `lo-${network}`;
      await ok(['run', '-d', '--name', name, '--network', network, '-v', `${rawnet.path}:/rawnet:ro`, 'busybox', 'sleep', '300']);
      const n = await netInfo(network);
      const ip = await ipOf(name);
      const send = (args: string[]) => sb.tsd(['exec', name, '/rawnet', ...args]);
      // control: the same kind of frame to the gateway's own address is delivered
      const c = await send(['udp', 'eth0', 'self', n.mac, ip, n.gateway, '7003', `control-${network}`]);
      expect(c.code, c.stderr).toBe(0);
      await waitOutput(control, `control-${network}`);

      // the host learns the container's MAC (an attacker needs no more than this)
      await sb.tsd(['exec', name, 'ping', '-c', '1', '-W', '1', n.gateway]);
      const t = await send(['tcp', 'eth0', 'self', n.mac, ip, '127.0.0.1', '7001']);
      expect(t.stdout.trim(), `${network}: TCP to 127.0.0.1`).toBe('no answer');
      const u = await send(['udp', 'eth0', 'self', n.mac, ip, '127.0.0.1', '7002', `leak-${network}`]);
      expect(u.code, u.stderr).toBe(0);
      await sleep(300);
      expect(output(udp).buf, `${network}: UDP to 127.0.0.1`).not.toContain(`leak-${network}`);
      expect(output(tcp).buf).not.toContain(ip);
      await ok(['rm', '-f', name]);
    }
    const nft = (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
    expect(nft).toMatch(/counter localnet \{\s*packets [1-9]/);
  });

  it('a port published on 127.0.0.1 still answers the host', async () => {
    await ok(['run', '-d', '--name', 'lo-pub', '-p', '127.0.0.1:8091:80', 'busybox', 'sh', '-c', 'echo local-only >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    let got = '';
    for (let i = 0; i < 40 && got !== 'local-only\n'; i++) {
      got = (await sb.sh(['busybox', 'wget', '-qO-', 'http://127.0.0.1:8091/'])).stdout;
      if (got !== 'local-only\n') await sleep(100);
    }
    expect(got).toBe('local-only\n');
    await ok(['rm', '-f', 'lo-pub']);
  });
});

describe('each bridge port is bound to its container\'s MAC and address', () => {
  it('drops and counts spoofed source addresses (same and other network), spoofed MACs and gratuitous ARP', async () => {
    await ok(['network', 'create', '--subnet', '10.79.0.0/24', 'othernet']);
    const run = (name: string, network: string) =>
      ok(['run', '-d', '--name', name, '--network', network, '-v', `${rawnet.path}:/rawnet:ro`, 'busybox', 'sleep', '300']);
    await run('attacker', 'usernet');
    await run('victim', 'usernet');
    await run('elsewhere', 'othernet');
    const n = await netInfo('usernet');
    const a = await endpoint('attacker');
    const v = await endpoint('victim');
    const o = await endpoint('elsewhere');
    expect(a.mac).toMatch(/^02:42:0a:4d:00:/);
    const host = await hostServer(UDP_PRINT, ['7010', '0.0.0.0']);
    const send = (args: string[]) => sb.tsd(['exec', 'attacker', '/rawnet', ...args]);
    const before = await spoofedCount();

    // to the host: own address delivered (control), a neighbour's or another network's dropped
    expect((await send(['udp', 'eth0', 'self', n.mac, a.ip, n.gateway, '7010', 'honest'])).code).toBe(0);
    await waitOutput(host, `${a.ip} honest`);
    await send(['udp', 'eth0', 'self', n.mac, v.ip, n.gateway, '7010', 'as-victim']);
    await send(['udp', 'eth0', 'self', n.mac, o.ip, n.gateway, '7010', 'as-elsewhere']);
    await send(['udp', 'eth0', v.mac, n.mac, a.ip, n.gateway, '7010', 'victims-mac']);
    await sleep(300);
    expect(output(host).buf).not.toContain('as-victim');
    expect(output(host).buf).not.toContain('as-elsewhere');
    expect(output(host).buf).not.toContain('victims-mac');

    // to a neighbour on the bridge (no IP hook sees this without br_netfilter)
    const seen = await sniff('victim', async () => {
      await send(['udp', 'eth0', 'self', v.mac, a.ip, v.ip, '7011', 'neighbourly']);
      await send(['udp', 'eth0', 'self', v.mac, o.ip, v.ip, '7011', 'bridged-spoof']);
      await send(['udp', 'eth0', '02:42:0a:4d:00:fe', v.mac, a.ip, v.ip, '7011', 'bridged-mac']);
    });
    expect(seen).toContain(`${a.ip} neighbourly`);
    expect(seen).not.toContain('bridged-spoof');
    expect(seen).not.toContain('bridged-mac');

    // a gratuitous ARP claiming the victim's address leaves the host's entry for it alone
    expect((await sb.sh(['busybox', 'ping', '-c', '1', '-W', '1', v.ip])).code).toBe(0);
    await sleep(1200); // past the neighbour table's locktime, so a genuine update would be taken
    await send(['arp', 'eth0', 'self', v.ip]);
    await send(['arp', 'eth0', v.mac, o.ip]);
    await sleep(200);
    const neigh = (await sb.sh(['ip', 'neigh', 'show', v.ip])).stdout;
    expect(neigh).toContain(v.mac);
    expect(neigh).not.toContain(a.mac);
    // the victim is still reachable from the host (no MAC was learnt on the attacker's port)
    expect((await sb.sh(['busybox', 'ping', '-c', '1', '-W', '1', v.ip])).code).toBe(0);

    expect((await spoofedCount()) - before).toBeGreaterThanOrEqual(7);
  });

  it('bindings go by name with their containers and come back with network reload', async () => {
    const list = async () => (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
    expect((await list()).match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(3);
    // a firewall reload wipes the tables: network reload brings the bindings back
    await sb.sh(['nft', 'flush', 'ruleset']);
    expect(await ok(['network', 'reload'])).toContain('reloaded');
    expect((await list()).match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(3);
    const n = await netInfo('usernet');
    const a = await endpoint('attacker');
    const v = await endpoint('victim');
    const host = await hostServer(UDP_PRINT, ['7012', '0.0.0.0']);
    await sb.tsd(['exec', 'attacker', '/rawnet', 'udp', 'eth0', 'self', n.mac, v.ip, n.gateway, '7012', 'after-reload']);
    await sb.tsd(['exec', 'attacker', '/rawnet', 'udp', 'eth0', 'self', n.mac, a.ip, n.gateway, '7012', 'control']);
    await waitOutput(host, 'control');
    expect(output(host).buf).not.toContain('after-reload');
    // network disconnect and rm remove a container's bindings, and only its own
    await ok(['network', 'connect', 'othernet', 'victim']);
    expect((await list()).match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(4);
    await ok(['network', 'disconnect', 'othernet', 'victim']);
    expect((await list()).match(/chain ep-[0-9a-f]{12}/g)).toHaveLength(3);
    await ok(['rm', '-f', 'attacker', 'victim', 'elsewhere']);
    const left = await list();
    expect(left).not.toMatch(/ep-[0-9a-f]{12}/);
    expect(left).toContain('counter spoofed');
  });
});
