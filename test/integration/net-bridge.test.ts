/**
 * Bridge networking end to end, through the CLI, in a sandbox host plus a "world" namespace
 * (203.0.113.0/24): default bridge, NAT, published TCP/UDP ports (outside, 127.0.0.1, the
 * host's own address, hairpin), port conflicts, and that everything is gone afterwards.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createSandbox, hostSnapshot, BUSYBOX_TAR, type Sandbox, sandboxNetState, tsdOk } from '../helpers/sandbox.js';
import { createWorld, buildUdpEcho, nodeArgv, output, TCP_WHO, UDP_ASK, waitOutput, type World } from '../helpers/netns.js';

let sb: Sandbox;
let world: World;
let udpecho: { path: string; cleanup: () => void };
let before: { nft: string; links: string };
const realBefore = { snap: hostSnapshot(), nft: execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }) };

const sandboxState = () => sandboxNetState(sb);

const ok = (args: string[]) => tsdOk(sb, args);

/** Retry a command until its stdout is `want` (servers in fresh containers need a moment to bind). */
async function until(fn: () => Promise<{ stdout: string }>, want: string, ms = 4000): Promise<string> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    last = (await fn()).stdout;
    if (last === want) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

/** This root's default bridge (tsd0 only for the default root: every --root has its own). */
async function defaultBridge(): Promise<string> {
  const j = JSON.parse(await ok(['network', 'inspect', 'bridge'])) as { Options: Record<string, string> }[];
  return j[0]!.Options['tsdocker.bridge']!;
}

async function ipOf(name: string, idx = 0): Promise<string> {
  const j = JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
  return Object.values(j[0]!.NetworkSettings.Networks)[idx]!.IPAddress;
}

/** Sends argv[3] from one fixed source port every 200 ms and prints every reply. */
const UDP_PERSIST = `
const d = require('node:dgram').createSocket('udp4');
d.on('message', (m) => process.stdout.write(m.toString() + '\\n'));
d.on('error', () => {});
d.bind(40000, () => setInterval(() => d.send(process.argv[3], Number(process.argv[2]), process.argv[1]), 200));
`;

beforeAll(async () => {
  sb = await createSandbox('tsd-net');
  world = await createWorld(sb);
  udpecho = buildUdpEcho();
  before = await sandboxState();
  await ok(['load', '-i', BUSYBOX_TAR]);
});

afterAll(async () => {
  await sb?.close();
  await world?.close();
  udpecho?.cleanup();
});

describe('default bridge', () => {
  it('container to container by IP, and to the outside through NAT (the outside sees the host address)', async () => {
    await ok(['run', '-d', '--name', 'a1', 'busybox', 'sleep', '300']);
    const ip = await ipOf('a1');
    expect(ip).toMatch(/^172\.\d+\.0\.\d+$/);
    const ping = await sb.tsd(['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '2', ip]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);

    const who = world.spawn(nodeArgv(TCP_WHO, ['9000']));
    await waitOutput(who, 'listening');
    const r = await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'nc -w 3 203.0.113.2 9000 </dev/null']);
    expect(r.stdout, JSON.stringify(r) + (await sb.sh(['nft', 'list', 'ruleset'])).stdout + (await sb.sh(['ip', 'r'])).stdout).toContain('hello');
    const seen = await waitOutput(who, '203.');
    expect(seen).toContain('203.0.113.1');
    expect(seen).not.toContain('172.');
    who.kill('SIGKILL');
    await ok(['rm', '-f', 'a1']);
  });

  it('publishes a TCP port: from the outside, from the host via 127.0.0.1 and its own address, and by hairpin', async () => {
    await ok(['run', '-d', '--name', 'web', '-p', '8080:80', '-p', '80', 'busybox', 'sh', '-c', 'echo hi-from-web >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    const fromWorld = await until(() => world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8080/'], { timeoutMs: 2000 }).catch(() => ({ stdout: '' })), 'hi-from-web\n');
    expect(fromWorld).toBe('hi-from-web\n');
    const fromLoopback = await sb.sh(['busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
    expect(fromLoopback.stdout).toBe('hi-from-web\n');
    const fromOwnAddr = await sb.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8080/']);
    expect(fromOwnAddr.stdout).toBe('hi-from-web\n');
    const hairpin = await sb.tsd(['exec', 'web', 'wget', '-qO-', 'http://203.0.113.1:8080/']);
    expect(hairpin.stdout, hairpin.stderr).toBe('hi-from-web\n');
    const neighbour = await sb.tsd(['run', '--rm', 'busybox', 'wget', '-qO-', 'http://203.0.113.1:8080/']);
    expect(neighbour.stdout).toBe('hi-from-web\n');

    // a neighbour that routes to the container's address directly reaches only what is published
    const webIp = await ipOf('web');
    await world.sh(['ip', 'route', 'add', '172.16.0.0/12', 'via', '203.0.113.1']);
    const direct = await world.sh(['busybox', 'wget', '-qO-', `http://${webIp}:80/`], { timeoutMs: 3000 }).catch(() => ({ stdout: '', code: 1 }));
    await world.sh(['ip', 'route', 'del', '172.16.0.0/12', 'via', '203.0.113.1']);
    expect(direct.stdout).toBe('');

    const port = await ok(['port', 'web']);
    expect(port).toContain('80/tcp -> 0.0.0.0:8080');
    const auto = /80\/tcp -> 0\.0\.0\.0:(\d+)/.exec(port.split('\n').find((l) => !l.includes(':8080')) ?? '');
    expect(auto).not.toBeNull();
    expect(Number(auto![1])).toBeGreaterThanOrEqual(32768);
    const viaAuto = await world.sh(['busybox', 'wget', '-qO-', `http://203.0.113.1:${auto![1]}/`]);
    expect(viaAuto.stdout).toBe('hi-from-web\n');
    expect(await ok(['port', 'web', '80/tcp'])).toContain('0.0.0.0:');
    expect(await ok(['ps'])).toContain('0.0.0.0:8080->80/tcp');
    // a firewall reload wipes every table: `network reload` puts ours back from the records
    await sb.sh(['nft', 'flush', 'ruleset']);
    await sb.sh(['ip', 'link', 'del', await defaultBridge()]);
    expect((await world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8080/'], { timeoutMs: 2000 }).catch(() => ({ stdout: '' }))).stdout).toBe('');
    expect(await ok(['network', 'reload'])).toContain('1 container');
    expect((await world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8080/'], { timeoutMs: 3000 })).stdout).toBe('hi-from-web\n');

    // a host port already taken: by a container, or by a process of the host
    const taken = await sb.tsd(['run', '-d', '--name', 'web2', '-p', '8080:80', 'busybox', 'sleep', '30']);
    expect(taken.code).toBe(125);
    expect(taken.stderr).toMatch(/8080.*already allocated/);
    const hostSrv = (await import('node:child_process')).spawn(sb.enter[0]!, [...sb.enter.slice(1), ...nodeArgv(TCP_WHO, ['7070'])], { stdio: 'pipe' });
    await waitOutput(hostSrv, 'listening');
    const busy = await sb.tsd(['run', '-d', '-p', '7070:80', 'busybox', 'sleep', '30']);
    hostSrv.kill('SIGKILL');
    expect(busy.code).toBe(125);
    expect(busy.stderr).toMatch(/7070.*already allocated.*host/);
    const running = await ok(['ps', '-q']);
    expect(running.trim().split('\n')).toHaveLength(1);
    await ok(['rm', '-f', 'web']);
    // the port is free again at once
    await ok(['run', '-d', '--name', 'web3', '-p', '8080:80', 'busybox', 'sleep', '30']);
    await ok(['rm', '-f', 'web3']);
  });

  it('publishes a port range end to end: each host port reaches its own container port', async () => {
    const serve = 'for p in 80 81 82; do mkdir /w$p; echo port-$p >/w$p/index.html; httpd -p $p -h /w$p; done; exec sleep 300';
    await ok(['run', '-d', '--name', 'ranged', '-p', '8190-8192:80-82', 'busybox', 'sh', '-c', serve]);
    for (const [host, ctr] of [[8190, 80], [8191, 81], [8192, 82]]) {
      const got = await until(() => world.sh(['busybox', 'wget', '-qO-', `http://203.0.113.1:${host}/`], { timeoutMs: 2000 }).catch(() => ({ stdout: '' })), `port-${ctr}\n`);
      expect(got, `${host} -> ${ctr}`).toBe(`port-${ctr}\n`);
    }
    const port = await ok(['port', 'ranged']);
    // the sandbox has IPv6 (::1 on lo): each port is published on [::] too, as Docker 20.10 does
    expect(port.trim().split('\n').sort()).toEqual([
      '80/tcp -> 0.0.0.0:8190', '80/tcp -> :::8190', '81/tcp -> 0.0.0.0:8191', '81/tcp -> :::8191', '82/tcp -> 0.0.0.0:8192', '82/tcp -> :::8192',
    ]);
    await ok(['rm', '-f', 'ranged']);
  });

  it('a port published on 127.0.0.1 answers the host only', async () => {
    await ok(['run', '-d', '--name', 'lo-only', '-p', '127.0.0.1:8081:80', 'busybox', 'sh', '-c', 'echo local-only >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    const local = await until(() => sb.sh(['busybox', 'wget', '-qO-', 'http://127.0.0.1:8081/']), 'local-only\n');
    expect(local).toBe('local-only\n');
    const outside = await world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8081/'], { timeoutMs: 3000 }).catch(() => ({ stdout: '' }));
    expect(outside.stdout).toBe('');
    expect(await ok(['port', 'lo-only'])).toContain('80/tcp -> 127.0.0.1:8081');
    await ok(['rm', '-f', 'lo-only']);
  });

  it('a container whose monitor was killed frees its port: the next one gets it, its rules are gone', async () => {
    const old = (await ok(['run', '-d', '--name', 'crashed', '-p', '8082:80', 'busybox', 'sh', '-c', 'echo old >/tmp/index.html; exec httpd -f -p 80 -h /tmp'])).trim();
    const monitor = JSON.parse(await ok(['inspect', 'crashed']))[0].Monitor.Pid as number;
    process.kill(monitor, 'SIGKILL'); // the container dies with it (PDEATHSIG); no cleanup ran
    for (let i = 0; i < 100 && JSON.parse(await ok(['inspect', 'crashed']))[0].State.Running; i++) await new Promise((r) => setTimeout(r, 20));
    await ok(['run', '-d', '--name', 'successor', '-p', '8082:80', 'busybox', 'sh', '-c', 'echo new >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    expect(await until(() => world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8082/']), 'new\n')).toBe('new\n');
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).not.toContain(`ctr-${old.slice(0, 12)}`);
    // the crashed one's state still names 8082: its removal must not take the successor's entry
    await ok(['rm', '-f', 'crashed']);
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).toMatch(/tcp \. 8082 : jump ctr-/);
    expect((await world.sh(['busybox', 'wget', '-qO-', 'http://203.0.113.1:8082/'])).stdout).toBe('new\n');
    await ok(['rm', '-f', 'successor']);
  });

  it('publishes a UDP port: from the outside and from the host via 127.0.0.1', async () => {
    await ok(['run', '-d', '--name', 'udp', '-v', `${udpecho.path}:/udpecho:ro`, '-p', '5353:5353/udp', 'busybox', '/udpecho', '5353']);
    const fromWorld = await world.sh(nodeArgv(UDP_ASK, ['203.0.113.1', '5353', 'hello']));
    expect(fromWorld.stdout, fromWorld.stderr).toBe('hello echo');
    const fromHost = await sb.sh(nodeArgv(UDP_ASK, ['127.0.0.1', '5353', 'local']));
    expect(fromHost.stdout, fromHost.stderr).toBe('local echo');
    expect(await ok(['port', 'udp'])).toContain('5353/udp -> 0.0.0.0:5353');
    await ok(['rm', '-f', 'udp']);

    // a client already sending before the port is published is not stuck on a stale flow
    const sender = world.spawn(nodeArgv(UDP_PERSIST, ['203.0.113.1', '5354', 'early']));
    await new Promise((r) => setTimeout(r, 600));
    await ok(['run', '-d', '--name', 'udp2', '-v', `${udpecho.path}:/udpecho:ro`, '-p', '5354:5354/udp', 'busybox', '/udpecho', '5354']);
    // (the message of a timeout names the text it waited for: compare the output, not that)
    const got = await waitOutput(sender, 'early echo', 2500).catch(() => output(sender).buf);
    sender.kill('SIGKILL');
    expect(got).toContain('early echo\n');
    await ok(['rm', '-f', 'udp2']);
  });

  it('refuses bad -p and --ip on the default bridge with one line and exit 125, creating nothing', async () => {
    for (const [args, msg] of [
      [['-p', '70000:80'], /between 1 and 65535/],
      [['-p', 'abc'], /invalid publish spec/],
      [['-p', '1:2:3:4'], /invalid publish spec/],
      [['-p', '8000-8002:80-81'], /differ in length/],
      [['-p', '80/sctp'], /protocol/],
      [['--ip', '172.17.0.9'], /user defined networks only/],
      [['--network', 'nosuchnet'], /network nosuchnet not found/],
      [['--dns', 'x.y'], /not an ip address/],
      [['--add-host', 'foo'], /--add-host/],
    ] as const) {
      const r = await sb.tsd(['run', '--rm', ...args, 'busybox', 'true']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(125);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('tsdocker:'))).toHaveLength(1);
    }
    expect((await ok(['ps', '-aq'])).trim()).toBe('');
  });

  it('with the iptables FORWARD policy DROP (Docker started after tsd0), tsdocker traffic passes narrowly, says so, and its rules go with the bridge', async () => {
    const ipt = async () => (await sb.sh(['iptables', '-S', 'FORWARD'])).stdout;
    await sb.sh(['iptables', '-P', 'FORWARD', 'DROP']);
    try {
      expect(await ipt()).toBe('-P FORWARD DROP\n');
      const who = world.spawn(nodeArgv(TCP_WHO, ['9001']));
      await waitOutput(who, 'listening');
      const r = await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'nc -w 3 203.0.113.2 9001 </dev/null']);
      who.kill('SIGKILL');
      expect(r.stdout).toContain('hello');
      expect(r.stderr).toContain('FORWARD policy is DROP'); // said so
      const rules = await ipt();
      const br = await defaultBridge();
      expect(br).toMatch(/^tsd0-[0-9a-f]{6}$/);
      expect(rules).toMatch(/^-P FORWARD DROP$/m); // never changed the policy
      expect(rules).toContain(`-A FORWARD -i ${br} -m comment --comment "tsdocker:${br}" -j ACCEPT`);
      expect(rules).toContain(`-A FORWARD -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "tsdocker:${br}" -j ACCEPT`);
      expect(rules.split('\n').filter(Boolean)).toHaveLength(3); // nothing else touched
      // the idle default bridge goes with `network prune`, and its accept rules with it
      await ok(['network', 'prune', '-f']);
      expect(await ipt()).toBe('-P FORWARD DROP\n');
    } finally {
      await sb.sh(['nft', 'delete', 'table', 'ip', 'filter']);
    }
  });

  it('also with a legacy-iptables Docker: FORWARD DROP in iptables-legacy is seen and passed narrowly', async () => {
    const ipt = async () => (await sb.sh(['iptables-legacy', '-S', 'FORWARD'])).stdout;
    await sb.sh(['iptables-legacy', '-P', 'FORWARD', 'DROP']);
    try {
      const who = world.spawn(nodeArgv(TCP_WHO, ['9002']));
      await waitOutput(who, 'listening');
      const r = await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'nc -w 3 203.0.113.2 9002 </dev/null']);
      who.kill('SIGKILL');
      expect(r.stdout).toContain('hello');
      expect(r.stderr).toContain('iptables-legacy FORWARD policy is DROP');
      expect(await ipt()).toContain(`tsdocker:${await defaultBridge()}`);
      await ok(['network', 'prune', '-f']);
      expect(await ipt()).toBe('-P FORWARD DROP\n');
    } finally {
      await sb.sh(['iptables-legacy', '-P', 'FORWARD', 'ACCEPT']);
    }
  });

  it('leaves the sandbox and the real host as it found them', async () => {
    await sb.tsd(['rm', '-f', ...(await ok(['ps', '-aq'])).split('\n').filter(Boolean)]);
    await ok(['network', 'prune', '-f']);
    const after = await sandboxState();
    expect(after.links).toBe(before.links);
    expect(after.nft).toBe(before.nft);
    expect(hostSnapshot().links).toBe(realBefore.snap.links);
    expect(execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' })).toBe(realBefore.nft);
  });
});
