/**
 * Published ports over IPv6, as Docker 20.10 publishes them: a plain `-p P:C` on a host with
 * IPv6 listens on 0.0.0.0 (DNAT) and on [::] (the monitor's relay, native/src/proxy6.c, as
 * containers have IPv4 only), `-p [::]:P:C` and `-p [::1]:P:C` on IPv6 alone; `port` and
 * `ps` list them in Docker's words (`0.0.0.0:8080->80/tcp, :::8080->80/tcp`). Another host
 * reaches them over IPv6 (a world namespace on 2001:db8::/64), UDP clients get their own
 * replies, a relay that cannot bind fails the start. A host without IPv6 (lo's disable_ipv6)
 * keeps IPv4 only, silently. After rm nothing listens and no relay is left. The sandbox's own
 * namespace plays the host; its lo has ::1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BUSYBOX_TAR, createSandbox, httpGet, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { buildFixture, buildUdpEcho, createWorld, nodeArgv, UDP_ASK, waitOutput } from '../helpers/netns.js';

let sb: Sandbox;
let udpecho: { path: string; cleanup: () => void };
/** UDP_ASK over IPv6, resending until the answer comes (the first datagram may meet a server still starting) */
const UDP_ASK6 = `
const d = require('node:dgram').createSocket('udp6');
const t = setTimeout(() => { process.stderr.write('timeout\\n'); process.exit(1); }, 20000);
const send = () => d.send(process.argv[3], Number(process.argv[2]), process.argv[1]);
const again = setInterval(send, 300);
d.on('message', (m) => { process.stdout.write(m.toString()); clearTimeout(t); clearInterval(again); d.close(); });
send();
`;
const ok = (args: string[]) => tsdOk(sb, args);
const serve = (body: string) => ['busybox', 'sh', '-c', `echo ${body} >/tmp/index.html; exec httpd -f -p 80 -h /tmp`];

const get = (url: string, tries?: number): Promise<string> => httpGet(sb, url, tries);

/** Relay processes (comm tsd-proxy6) in the sandbox's network namespace. */
function relays(): number[] {
  const ns = readlinkSync(`/proc/${sb.holderPid}/ns/net`);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'tsd-proxy6' && readlinkSync(`/proc/${d}/ns/net`) === ns) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** TCP ports listening on IPv6 in the sandbox (its /proc/net/tcp6, state 0A). */
async function listening6(): Promise<number[]> {
  const text = (await sb.sh(['cat', '/proc/net/tcp6'])).stdout;
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === '0A').map((f) => parseInt(f[1]!.split(':')[1]!, 16));
}

describe('published ports over IPv6', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-p6');
    udpecho = buildUdpEcho();
    await ok(['load', '-i', BUSYBOX_TAR]);
  }, 60_000);
  afterAll(async () => {
    await sb?.close();
    udpecho?.cleanup();
  });

  it('a plain -p answers on [::1] and [::] too, and port/ps/inspect list both sides as Docker 20.10', async () => {
    await ok(['run', '-d', '--name', 'web', '-p', '8080:80', ...serve('hi-web')]);
    expect(await get('http://127.0.0.1:8080/')).toBe('hi-web\n');
    expect(await get('http://[::1]:8080/')).toBe('hi-web\n');
    expect(await get('http://[::]:8080/')).toBe('hi-web\n');
    expect(await ok(['port', 'web'])).toBe('80/tcp -> 0.0.0.0:8080\n80/tcp -> :::8080\n');
    expect(await ok(['port', 'web', '80'])).toBe('0.0.0.0:8080\n:::8080\n');
    expect(await ok(['ps', '--format', '{{.Ports}}'])).toBe('0.0.0.0:8080->80/tcp, :::8080->80/tcp\n');
    expect(JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web']))).toEqual({
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
    });
    expect(relays()).toHaveLength(1);
    await ok(['rm', '-f', 'web']);
    expect(relays()).toEqual([]);
    expect(await listening6()).not.toContain(8080);
    expect(await get('http://[::1]:8080/', 1)).toBe('');
  });

  it('another host reaches a plain -p over IPv6 (2001:db8::/32, the documentation prefix)', async () => {
    const world = await createWorld(sb);
    try {
      await sb.sh(['ip', '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'uplink', 'nodad']);
      await world.sh(['ip', '-6', 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
      await ok(['run', '-d', '--name', 'far', '-p', '8086:80', ...serve('hi-far')]);
      expect(await httpGet(world, 'http://[2001:db8::1]:8086/')).toBe('hi-far\n');
      await ok(['rm', '-f', 'far']);
    } finally {
      await world.close();
    }
  });

  it('-p [::1]:P:C and -p [::]:P:C publish on IPv6 only', async () => {
    await ok(['run', '-d', '--name', 'lo6', '-p', '[::1]:8081:80', ...serve('hi-lo6')]);
    await ok(['run', '-d', '--name', 'any6', '-p', '[::]:8082:80', ...serve('hi-any6')]);
    expect(await get('http://[::1]:8081/')).toBe('hi-lo6\n');
    expect(await get('http://[::]:8082/')).toBe('hi-any6\n');
    expect(await get('http://[::1]:8082/')).toBe('hi-any6\n');
    expect(await get('http://127.0.0.1:8081/', 1)).toBe('');
    expect(await get('http://127.0.0.1:8082/', 1)).toBe('');
    expect(await ok(['port', 'lo6'])).toBe('80/tcp -> ::1:8081\n');
    expect(await ok(['port', 'any6'])).toBe('80/tcp -> :::8082\n');
    // the host port is taken for IPv4 too, as the port records are per port
    const clash = await sb.tsd(['run', '--rm', '-p', '8082:80', 'busybox', 'true']);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toContain('port is already allocated');
    expect(relays()).toHaveLength(2);
    await ok(['rm', '-f', 'lo6', 'any6']);
    expect(relays()).toEqual([]);
    const left = await listening6();
    expect(left).not.toContain(8081);
    expect(left).not.toContain(8082);
  });

  it('UDP too: a plain -p P:C/udp answers on [::1] and each client gets its own replies', async () => {
    await ok(['run', '-d', '--name', 'echo', '-v', `${udpecho.path}:/udpecho:ro`, '-p', '5353:5353/udp', 'busybox', '/udpecho', '5353']);
    expect(await ok(['port', 'echo'])).toBe('5353/udp -> 0.0.0.0:5353\n5353/udp -> :::5353\n');
    // two clients at once, each must get its own answer back
    const ask = (ip: string, word: string) => sb.sh(nodeArgv(UDP_ASK6, [ip, '5353', word]), { timeoutMs: 30_000 });
    const [a, b] = await Promise.all([ask('::1', 'one'), ask('::1', 'two')]);
    expect(a.stdout, a.stderr).toContain('one');
    expect(a.stdout).not.toContain('two');
    expect(b.stdout, b.stderr).toContain('two');
    expect((await sb.sh(nodeArgv(UDP_ASK, ['127.0.0.1', '5353', 'four']), { timeoutMs: 30_000 })).stdout).toContain('four');
    await ok(['rm', '-f', 'echo']);
    expect(relays()).toEqual([]);
    expect((await sb.sh(['cat', '/proc/net/udp6'])).stdout).not.toMatch(/:14E9 /);
  });

  it('an IPv6 side that cannot be bound fails the start in one line, leaving the port free', async () => {
    const fx = buildFixture('bind6');
    const holder = spawn(sb.enter[0]!, [...sb.enter.slice(1), fx.path, '8085'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitOutput(holder, 'bound');
      const r = await sb.tsd(['run', '-d', '--name', 'taken6', '-p', '8085:80', 'busybox', 'sleep', '300']);
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr).toMatch(/Error starting userland proxy: listen tcp6 \[::\]:8085: bind: address already in use/);
      // one line (and its hint): found when planned, by a bind (ports.ts), or by the relay's own bind at go
      expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '))).toHaveLength(1);
      expect(await ok(['ps', '-q'])).toBe('');
      expect(relays()).toEqual([]);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((res) => (holder.exitCode !== null || holder.signalCode !== null ? res(undefined) : holder.once('exit', res)));
      fx.cleanup();
    }
    // the IPv4 port was given back: the same -p works now that the IPv6 side is free
    await ok(['rm', '-f', 'taken6']).catch(() => '');
    await ok(['run', '-d', '--name', 'free6', '-p', '8085:80', ...serve('hi-free6')]);
    expect(await get('http://[::1]:8085/')).toBe('hi-free6\n');
    await ok(['rm', '-f', 'free6']);
  });

  it('a host without IPv6 keeps a plain -p on IPv4 only, silently', async () => {
    await sb.sh(['sysctl', '-qw', 'net.ipv6.conf.lo.disable_ipv6=1']);
    try {
      const r = await sb.tsd(['run', '-d', '--name', 'v4', '-p', '8083:80', ...serve('hi-v4')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(await get('http://127.0.0.1:8083/')).toBe('hi-v4\n');
      expect(await ok(['port', 'v4'])).toBe('80/tcp -> 0.0.0.0:8083\n');
      expect(relays()).toEqual([]);
      await ok(['rm', '-f', 'v4']);
    } finally {
      await sb.sh(['sysctl', '-qw', 'net.ipv6.conf.lo.disable_ipv6=0']);
    }
  });
});
