/**
 * Published ports over IPv6, as Docker 20.10 publishes them: a plain `-p P:C` on a host with
 * IPv6 listens on 0.0.0.0 (DNAT) and on [::] (the monitor's relay, native/src/proxy6.c, as
 * containers have IPv4 only), `-p [::]:P:C` and `-p [::1]:P:C` on IPv6 alone; `port` and
 * `ps` list them in Docker's words (`0.0.0.0:8080->80/tcp, :::8080->80/tcp`). A host without
 * IPv6 (lo's disable_ipv6) keeps IPv4 only, silently. After rm nothing listens and no relay
 * is left. The sandbox's own namespace plays the host; its lo has ::1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BUSYBOX_TAR, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const ok = (args: string[]) => tsdOk(sb, args);
const serve = (body: string) => ['busybox', 'sh', '-c', `echo ${body} >/tmp/index.html; exec httpd -f -p 80 -h /tmp`];

/** GET / from the sandbox host; '' when nothing answers. Retries while the server starts. */
async function get(url: string, tries = 40): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const r = await sb.sh(['busybox', 'wget', '-qO-', url], { timeoutMs: 5000 }).catch(() => ({ code: 1, stdout: '' }));
    if (r.code === 0) return r.stdout;
    if (i < tries - 1) await new Promise((res) => setTimeout(res, 100));
  }
  return '';
}

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
    await ok(['load', '-i', BUSYBOX_TAR]);
  }, 60_000);
  afterAll(async () => {
    await sb?.close();
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
    // UDP has no IPv6 side (the relay carries TCP): IPv4 only, and an explicit IPv6 UDP port is refused
    await ok(['run', '-d', '--name', 'dns', '-p', '5353:53/udp', 'busybox', 'sleep', '300']);
    expect(await ok(['port', 'dns'])).toBe('53/udp -> 0.0.0.0:5353\n');
    const udp6 = await sb.tsd(['run', '--rm', '-p', '[::]:5354:53/udp', 'busybox', 'true']);
    expect(udp6.code).toBe(125);
    expect(udp6.stderr).toContain('UDP is published on IPv4 only');
    expect(relays()).toHaveLength(1);
    await ok(['rm', '-f', 'web', 'dns']);
    expect(relays()).toEqual([]);
    expect(await listening6()).not.toContain(8080);
    expect(await get('http://[::1]:8080/', 1)).toBe('');
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
