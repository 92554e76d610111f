/**
 * User-defined bridge networks through the CLI, in a sandbox host plus a world namespace:
 * names/aliases/id prefixes by DNS (also for containers started later), forwarding of other
 * names, isolation between networks, --internal, connect/disconnect on a running container,
 * container: mode, every bad input of `network create` and `run`, and no leftovers.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSandbox, BUSYBOX_TAR, type Sandbox, sandboxNetState, tsdOk } from '../helpers/sandbox.js';
import { hostIfname } from '../../src/net/bridge.js';
import { createWorld, nodeArgv, TCP_WHO, waitOutput, type World } from '../helpers/netns.js';

let sb: Sandbox;
let world: World;
let before: { nft: string; links: string };

const sandboxState = () => sandboxNetState(sb);

const ok = (args: string[]) => tsdOk(sb, args);

async function fails(args: string[], msg: RegExp, code = 125): Promise<void> {
  const r = await sb.tsd(args);
  expect(r.code, `${args.join(' ')}: ${r.stdout} ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(msg);
}

interface Inspected { Id: string; NetworkSettings: { Networks: Record<string, { IPAddress: string; NetworkID: string }> } }

/** The container's Id and its addresses per network, from Docker's NetworkSettings.Networks. */
async function inspect(name: string): Promise<{ Id: string; NetworkSettings: { endpoints: { ip: string; network: string; networkId: string }[] } }> {
  const j = (JSON.parse(await ok(['inspect', name])) as Inspected[])[0]!;
  const endpoints = Object.entries(j.NetworkSettings.Networks).map(([network, n]) => ({ ip: n.IPAddress, network, networkId: n.NetworkID }));
  return { Id: j.Id, NetworkSettings: { endpoints } };
}

beforeAll(async () => {
  sb = await createSandbox('tsd-netu');
  world = await createWorld(sb);
  before = await sandboxState();
  await ok(['load', '-i', BUSYBOX_TAR]);
});

afterAll(async () => {
  await sb?.close();
  await world?.close();
});

describe('user-defined networks', () => {
  it('creates, lists and inspects networks; default subnets skip host routes and other networks', async () => {
    // a host route that covers the first default pool must be skipped
    await sb.sh(['ip', 'route', 'add', '172.17.0.0/16', 'dev', 'uplink']);
    const id = (await ok(['network', 'create', 'front'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await ok(['network', 'create', '--subnet', '10.89.0.0/24', '--gateway', '10.89.0.254', '--ip-range', '10.89.0.128/25', '-o', 'mtu=1400', 'back']);
    const ls = await ok(['network', 'ls']);
    expect(ls).toMatch(/^[0-9a-f]{12}\s+front\s+bridge\s+local$/m);
    const subnets = await ok(['network', 'inspect', '-f', '{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}', 'front', 'back']);
    expect(subnets).toBe('front 172.18.0.0/16\nback 10.89.0.0/24\n');
    const back = (JSON.parse(await ok(['network', 'inspect', 'back'])) as { IPAM: { Config: { Gateway: string; IPRange: string }[] }; Options: { mtu: string } }[])[0]!;
    expect(back.IPAM.Config[0]).toMatchObject({ Gateway: '10.89.0.254', IPRange: '10.89.0.128/25' });
    expect(back.Options.mtu).toBe('1400');
    await sb.sh(['ip', 'route', 'del', '172.17.0.0/16', 'dev', 'uplink']);
  });

  it('resolves names, aliases and id prefixes, also of containers started later; forwards other names', async () => {
    await ok(['run', '-d', '--name', 'web', '--network', 'front', '--network-alias', 'www', 'busybox', 'sh', '-c', 'echo front-web >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    const web = await inspect('web');
    const r = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', `sleep 0.3; wget -qO- http://web/ && wget -qO- http://www/ && nslookup ${web.Id.slice(0, 12)}`]);
    expect(r.stdout, r.stderr).toContain('front-web\nfront-web\n');
    expect(r.stdout).toContain(web.NetworkSettings.endpoints[0]!.ip);
    const ptr = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'nslookup', web.NetworkSettings.endpoints[0]!.ip]);
    expect(ptr.stdout, ptr.stderr).toMatch(/name = web/);
    // over TCP too (clients retry there when a UDP answer was truncated): a 21-byte query for "web"
    const tcpQuery = String.raw`printf '\000\025\022\064\001\000\000\001\000\000\000\000\000\000\003web\000\000\001\000\001' | nc -w 2 172.18.0.1 53 | wc -c`;
    const tcp = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', tcpQuery]);
    expect(tcp.stdout.trim(), tcp.stderr).toBe('39'); // 2-byte length + header, question and one A record
    // a container started after the one that asks
    await ok(['run', '-d', '--name', 'asker', '--network', 'front', 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', 'late', '--network', 'front', 'busybox', 'sleep', '300']);
    const late = await inspect('late');
    const q = await sb.tsd(['exec', 'asker', 'nslookup', 'late']);
    expect(q.stdout).toContain(late.NetworkSettings.endpoints[0]!.ip);
    // /etc/hosts names the container's own address, resolv.conf points at the gateway
    const files = await ok(['exec', 'late', 'cat', '/etc/hosts', '/etc/resolv.conf']);
    expect(files).toContain(`${late.NetworkSettings.endpoints[0]!.ip}\t`);
    expect(files).toMatch(/nameserver 172\.18\.0\.1/);
    // the default bridge resolves no container names
    const onDefault = await sb.tsd(['run', '--rm', 'busybox', 'nslookup', 'web']);
    expect(onDefault.stdout).not.toContain(web.NetworkSettings.endpoints[0]!.ip);
    // a removed container's name goes away
    await ok(['rm', '-f', 'late']);
    const gone = await sb.tsd(['exec', 'asker', 'nslookup', 'late']);
    expect(gone.stdout).not.toContain(late.NetworkSettings.endpoints[0]!.ip);
  });

  it('forwards other names to the host resolvers', async () => {
    // the sandbox host's resolver is a Node DNS stub in the world namespace answering one name
    const stub = world.spawn(nodeArgv(DNS_STUB, ['53']));
    await waitOutput(stub, 'listening');
    // the file lives in the sandbox's own --root, which goes with the sandbox
    const conf = `${sb.root}/host-resolv.conf`;
    await sb.sh(['sh', '-c', `echo "nameserver 203.0.113.2" > ${conf} && mount --bind ${conf} /etc/resolv.conf`]);
    try {
      const r = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'nslookup', 'outside.example']);
      expect(r.stdout, r.stderr).toContain('192.0.2.77');
      const d = await sb.tsd(['run', '--rm', '--dns', '203.0.113.2', '--dns-search', 'corp.example', '--add-host', 'db:192.0.2.5', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf /etc/hosts; nslookup outside.example']);
      expect(d.stdout).toContain('nameserver 203.0.113.2');
      expect(d.stdout).toContain('search corp.example');
      expect(d.stdout).toContain('192.0.2.5\tdb');
      expect(d.stdout).toContain('192.0.2.77');
      // an --internal network forwards no names (no way out, not even by DNS)
      await ok(['network', 'create', '--internal', 'sealed']);
      const sealed = await sb.tsd(['run', '--rm', '--network', 'sealed', 'busybox', 'nslookup', 'outside.example']);
      expect(sealed.stdout + sealed.stderr).not.toContain('192.0.2.77');
      expect(sealed.stdout + sealed.stderr).toMatch(/NXDOMAIN|can't find/);
      await ok(['network', 'rm', 'sealed']);
    } finally {
      await sb.sh(['umount', '/etc/resolv.conf']);
      stub.kill('SIGKILL');
    }
  });

  it('isolates networks from each other; an --internal network has no way out', async () => {
    const webIp = (await inspect('web')).NetworkSettings.endpoints[0]!.ip;
    const same = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'ping', '-c', '1', '-W', '1', webIp]);
    expect(same.code).toBe(0);
    const other = await sb.tsd(['run', '--rm', '--network', 'back', 'busybox', 'ping', '-c', '1', '-W', '1', webIp]);
    expect(other.code).not.toBe(0);
    const fromDefault = await sb.tsd(['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '1', webIp]);
    expect(fromDefault.code).not.toBe(0);

    await ok(['network', 'create', '--internal', 'priv']);
    await ok(['run', '-d', '--name', 'p1', '--network', 'priv', 'busybox', 'sleep', '300']);
    const who = world.spawn(nodeArgv(TCP_WHO, ['9100']));
    await waitOutput(who, 'listening');
    await sb.tsd(['run', '--rm', '--network', 'priv', 'busybox', 'nc', '-w', '2', '203.0.113.2', '9100']);
    // the listener prints the peer of every connection it accepts: none came
    expect(await waitOutput(who, 'listening')).toBe('listening\n');
    const ping = await sb.tsd(['run', '--rm', '--network', 'priv', 'busybox', 'ping', '-c', '1', '-W', '1', '203.0.113.2']);
    expect(ping.code).not.toBe(0);
    const inside = await sb.tsd(['run', '--rm', '--network', 'priv', 'busybox', 'ping', '-c', '1', '-W', '1', 'p1']);
    expect(inside.code, inside.stdout + inside.stderr).toBe(0);
    const fromFront = await sb.tsd(['run', '--rm', '--network', 'front', 'busybox', 'ping', '-c', '1', '-W', '1', (await inspect('p1')).NetworkSettings.endpoints[0]!.ip]);
    expect(fromFront.code).not.toBe(0);
    who.kill('SIGKILL');
    // the embedded DNS of `front` answers neither another network's containers nor the outside
    const frontGw = '172.18.0.1';
    const dnsFromBack = await sb.tsd(['run', '--rm', '--network', 'back', 'busybox', 'nslookup', 'web', frontGw]);
    expect(dnsFromBack.stdout).not.toContain((await inspect('web')).NetworkSettings.endpoints[0]!.ip);
    await world.sh(['ip', 'route', 'add', '172.16.0.0/12', 'via', '203.0.113.1']);
    const dnsFromWorld = await world.sh(['busybox', 'nslookup', 'web', frontGw], { timeoutMs: 15000 }).catch(() => ({ stdout: '' }));
    await world.sh(['ip', 'route', 'del', '172.16.0.0/12', 'via', '203.0.113.1']);
    expect(dnsFromWorld.stdout).not.toContain((await inspect('web')).NetworkSettings.endpoints[0]!.ip);
    await ok(['rm', '-f', 'p1']);
    await ok(['network', 'rm', 'priv']);
  });

  it('connects and disconnects a running container: eth1 appears and goes', async () => {
    await ok(['run', '-d', '--name', 'b1', '--network', 'back', 'busybox', 'sleep', '300']);
    await ok(['network', 'connect', '--ip', '172.18.0.200', '--alias', 'asker-on-back', 'front', 'b1']);
    const links = await ok(['exec', 'b1', 'ip', '-o', '-4', 'addr']);
    expect(links).toMatch(/eth1\s+inet 172\.18\.0\.200\/16/);
    expect(links).toMatch(/eth0\s+inet 10\.89\.0\.1\d\d\/24/); // from the --ip-range
    expect((await ok(['exec', 'b1', 'wget', '-qO-', 'http://web/']))).toBe('front-web\n');
    const n = await sb.tsd(['exec', 'asker', 'nslookup', 'asker-on-back']);
    expect(n.stdout).toContain('172.18.0.200');
    await fails(['network', 'connect', 'front', 'b1'], /already exists in network front/, 1); // Docker: a daemon-side error, exit 1
    // the default bridge too: eth2 on tsd0
    await ok(['network', 'connect', 'bridge', 'b1']);
    expect(await ok(['exec', 'b1', 'ip', '-o', '-4', 'addr', 'show', 'eth2'])).toMatch(/inet 172\.\d+\.0\.\d+\//);
    expect(Object.keys((JSON.parse(await ok(['network', 'inspect', 'bridge'])) as { Containers: object }[])[0]!.Containers)).toHaveLength(1);
    await ok(['network', 'disconnect', 'bridge', 'b1']);
    await ok(['network', 'disconnect', 'front', 'b1']);
    expect(await ok(['exec', 'b1', 'ip', '-o', 'link'])).not.toContain('eth1');
    const mtu = await ok(['exec', 'b1', 'cat', '/sys/class/net/eth0/mtu']);
    expect(mtu.trim()).toBe('1400');
    await fails(['network', 'disconnect', 'front', 'b1'], /not connected to network front/, 1);
  });

  it('container: mode shares lo and the address; refuses conflicting flags', async () => {
    await ok(['run', '-d', '--name', 'owner', '--network', 'front', 'busybox', 'sh', '-c', 'echo on-lo >/tmp/index.html; exec httpd -f -p 127.0.0.1:81 -h /tmp']);
    const ownerIp = (await inspect('owner')).NetworkSettings.endpoints[0]!.ip;
    const r = await sb.tsd(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'sleep 0.3; wget -qO- http://127.0.0.1:81/; ip -o -4 addr show eth0']);
    expect(r.stdout, r.stderr).toContain('on-lo');
    expect(r.stdout).toContain(`inet ${ownerIp}/`);
    await fails(['run', '--rm', '--network', 'container:owner', '-p', '80:80', 'busybox', 'true'], /conflicting options: port publishing and the container type network mode/);
    await fails(['run', '--rm', '--network', 'container:owner', '--hostname', 'x', 'busybox', 'true'], /conflicting options: hostname/);
    await fails(['run', '--rm', '--network', 'container:owner', '--dns', '192.0.2.1', 'busybox', 'true'], /conflicting options: dns/);
    await fails(['run', '--rm', '--network', 'container:owner', '--add-host', 'a:192.0.2.1', 'busybox', 'true'], /custom host-to-IP mapping/);
    await fails(['run', '--rm', '--network', 'container:owner', '--ip', '172.18.0.9', 'busybox', 'true'], /user specified IP address/);
    await fails(['run', '--rm', '--network', 'container:nosuch', 'busybox', 'true'], /No such container: nosuch/);
    await ok(['run', '-d', '--name', 'stopped', 'busybox', 'true']);
    await new Promise((res) => setTimeout(res, 300));
    await fails(['run', '--rm', '--network', 'container:stopped', 'busybox', 'true'], /non running container/);
    await ok(['rm', '-f', 'owner', 'stopped']);
  });

  it('refuses bad input with one line and Docker\'s exit code (1 from network commands), leaving nothing half-made', async () => {
    const netsBefore = await ok(['network', 'ls', '-q']);
    const linksBefore = (await sandboxState()).links;
    await fails(['network', 'create', '--subnet', '10.0.0/24', 'x'], /invalid CIDR address: 10\.0\.0\/24/, 1);
    await fails(['network', 'create', '--subnet', '10.89.0.0/16', 'x'], /Pool overlaps/, 1);
    await fails(['network', 'create', '--subnet', '10.90.0.0/24', '--gateway', '10.91.0.1', 'x'], /no matching subnet for gateway/, 1);
    await fails(['network', 'create', '--subnet', '10.90.0.0/24', '--ip-range', '10.90.1.0/25', 'x'], /no matching subnet for range/, 1);
    await fails(['network', 'create', '--subnet', '10.90.0.0/24', '-o', 'mtu=10', 'x'], /invalid MTU/, 1);
    await fails(['network', 'create', 'front'], /network with name front already exists/, 1);
    await fails(['network', 'create', 'bridge'], /already exists/, 1);
    await fails(['network', 'create', '-d', 'macvlan', 'x'], /not supported/, 1);
    await fails(['network', 'create', '--subnet', '10.90.0.0/24', '-o', 'com.docker.network.bridge.name=uplink', 'x'], /a link named uplink already exists/, 1);
    await fails(['network', 'rm', 'nosuch'], /network nosuch not found/, 1);
    await fails(['network', 'inspect', 'nosuch'], /network nosuch not found/, 1); // Docker: exit 1 for inspect
    await fails(['run', '--rm', '--network', 'back', '--ip', '10.88.0.5', 'busybox', 'true'], /no configured subnet or ip-range contain the IP address 10\.88\.0\.5/);
    await fails(['run', '--rm', '--network', 'back', '--ip', 'ten', 'busybox', 'true'], /invalid IPv4 address/);
    const b1ip = (await inspect('b1')).NetworkSettings.endpoints[0]!.ip;
    await fails(['run', '--rm', '--network', 'back', '--ip', b1ip, 'busybox', 'true'], /Address already in use/);
    await fails(['run', '--rm', '--network', 'back', '--ip', '10.89.0.254', 'busybox', 'true'], /Address already in use/);
    // exhaustion: a /30 has one address besides network, gateway and broadcast
    await ok(['network', 'create', '--subnet', '10.77.0.0/30', 'tiny']);
    await ok(['run', '-d', '--name', 't1', '--network', 'tiny', 'busybox', 'sleep', '300']);
    await fails(['run', '-d', '--name', 't2', '--network', 'tiny', 'busybox', 'sleep', '300'], /no available IPv4 addresses.*tiny/);
    // a network with containers is not removed, and says which
    await fails(['network', 'rm', 'tiny'], /has active endpoints \(name:"t1"/, 1);
    await ok(['rm', '-f', 't1']);
    await ok(['rm', '-f', 't2']).catch(() => undefined);
    await ok(['network', 'rm', 'tiny']);
    expect(await ok(['network', 'ls', '-q'])).toBe(netsBefore);
    expect((await sandboxState()).links).toBe(linksBefore);
  });

  it('teardown is idempotent and needs no state; prune and rm leave the sandbox as it was', async () => {
    const b1 = await inspect('b1');
    const hostIf = hostIfname(b1.Id, b1.NetworkSettings.endpoints[0]!.networkId);
    // kill -9: the exit cleanup detaches the network once, with the namespace already gone
    const stateFile = join(sb.root, 'containers', b1.Id, 'state.json');
    const running = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    await ok(['kill', 'b1']);
    for (let i = 0; i < 250 && !(JSON.parse(readFileSync(stateFile, 'utf8')) as { cleanedUp?: boolean }).cleanedUp; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await sb.sh(['ip', 'link', 'show', hostIf])).code).not.toBe(0);
    // a CLI that died after that detach but before recording it: the record says "attached"
    // and holds no network state, so `rm` tears down again, from the id alone, and succeeds
    const { network: _, ...noNetwork } = running;
    writeFileSync(stateFile, JSON.stringify(noNetwork));
    await ok(['rm', 'b1']);
    expect((await sb.sh(['ip', 'link', 'show', hostIf])).code).not.toBe(0);
    await ok(['rm', '-f', ...(await ok(['ps', '-aq'])).split('\n').filter(Boolean)]);
    const pruned = await ok(['network', 'prune', '-f']);
    expect(pruned).toContain('front');
    expect(pruned).toContain('back');
    await new Promise((r) => setTimeout(r, 2500)); // the DNS daemon exits on its own
    const after = await sandboxState();
    expect(after.links).toBe(before.links);
    expect(after.nft).toBe(before.nft);
    const dnsd = await sb.sh(['sh', '-c', `cat ${sb.root}/run/dnsd.pid 2>/dev/null || true`]);
    expect(dnsd.stdout.trim()).toBe('');
  });
});

/** A one-name DNS server: outside.example -> 192.0.2.77, everything else NXDOMAIN. */
const DNS_STUB = `
const d = require('node:dgram').createSocket('udp4');
d.on('message', (q, r) => {
  let o = 12; const labels = [];
  while (q[o]) { labels.push(q.subarray(o + 1, o + 1 + q[o]).toString()); o += q[o] + 1; }
  o += 1; const qtype = q.readUInt16BE(o); o += 4;
  const name = labels.join('.').toLowerCase();
  const hit = name === 'outside.example' && qtype === 1;
  const h = Buffer.from(q.subarray(0, o));
  h.writeUInt16BE(0x8180 | (name === 'outside.example' ? 0 : 3), 2); h.writeUInt16BE(hit ? 1 : 0, 6);
  h.writeUInt16BE(0, 8); h.writeUInt16BE(0, 10);
  const a = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77]);
  d.send(hit ? Buffer.concat([h, a]) : h, r.port, r.address);
});
d.bind(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('listening\\n'));
`;
