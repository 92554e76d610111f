/**
 * Whether the host holds a port is asked the way Docker's proxy finds out, by binding the
 * address and port (native/src/portprobe.c), not by reading /proc/net: a host socket on the
 * same address or a wildcard one refuses the start before anything is made, in Docker's
 * words; a host socket on another address, or on IPv6 alone when only IPv4 is published,
 * does not. The sandbox's own namespace plays the host (its lo has ::1, and 198.51.100.1 as
 * a second address of its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { BUSYBOX_TAR, createSandbox, httpGet, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { nodeArgv, waitOutput } from '../helpers/netns.js';

let sb: Sandbox;
const ok = (args: string[]) => tsdOk(sb, args);

/** HOLD proto host port [v6only]: a TCP listener or a bound UDP socket of the host, until killed */
const HOLD = `
const [proto, host, port, v6only] = process.argv.slice(1);
const done = () => process.stdout.write('holding\\n');
if (proto === 'udp') require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4').bind(Number(port), host, done);
else require('node:net').createServer().listen({ port: Number(port), host, ipv6Only: v6only === 'v6only' }, done);
`;

async function hold(proto: string, host: string, port: number, v6only = false): Promise<ChildProcess> {
  const p = spawn(sb.enter[0]!, [...sb.enter.slice(1), ...nodeArgv(HOLD, [proto, host, String(port), v6only ? 'v6only' : ''])], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitOutput(p, 'holding');
  return p;
}

async function release(p: ChildProcess): Promise<void> {
  p.kill('SIGKILL');
  await new Promise((res) => (p.exitCode !== null || p.signalCode !== null ? res(undefined) : p.once('exit', res)));
}

/** `checks` while a host socket holds the port (hold's arguments), released after */
async function whileHeld(held: Parameters<typeof hold>, checks: () => Promise<void>): Promise<void> {
  const p = await hold(...held);
  try {
    await checks();
  } finally {
    await release(p);
  }
}

/** `run --rm -p SPEC busybox true`: exit code and stderr */
const publish = (spec: string) => sb.tsd(['run', '--rm', '-p', spec, 'busybox', 'true']);

/** refused before anything was made: exit 125, the message on tsdocker's first line, no container left */
async function refused(spec: string, message: RegExp): Promise<void> {
  const r = await publish(spec);
  expect(r.code, `${spec}: ${r.stderr}`).toBe(125);
  expect(r.stderr.split('\n')[0]).toMatch(message);
  expect(await ok(['ps', '-aq'])).toBe('');
}

async function accepted(spec: string): Promise<void> {
  const r = await publish(spec);
  expect(r.code, `${spec}: ${r.stderr}`).toBe(0);
}

describe('a host port in use is found by binding it', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-probe');
    await sb.sh(['ip', 'addr', 'add', '198.51.100.1/32', 'dev', 'lo']);
    await ok(['load', '-i', BUSYBOX_TAR]);
  }, 60_000);
  afterAll(async () => {
    await sb?.close();
  });

  it('a listener on 0.0.0.0, and a dual-stack one on [::], refuse every IPv4 side of the port', async () => {
    for (const host of ['0.0.0.0', '::']) {
      await whileHeld(['tcp', host, 9101], async () => {
        await refused('9101:80', /^tsdocker: Bind for 0\.0\.0\.0:9101 failed: port is already allocated \(by a process on the host\)$/);
        await refused('127.0.0.1:9101:80', /Bind for 127\.0\.0\.1:9101 failed: port is already allocated \(by a process on the host\)/);
      });
    }
    await accepted('9101:80'); // free again at once: the probes left nothing behind
  });

  it('a listener on [::] alone refuses a plain -p (its IPv6 side) but not -p 0.0.0.0:P', async () => {
    await whileHeld(['tcp', '::', 9102, true], async () => {
      await refused('9102:80', /Error starting userland proxy: listen tcp6 \[::\]:9102: bind: address already in use/);
      await accepted('0.0.0.0:9102:80'); // Docker publishes 0.0.0.0 alone then
    });
  });

  it('a listener on 127.0.0.1 refuses -p 127.0.0.1:P, not a port on another address of the host', async () => {
    await whileHeld(['tcp', '127.0.0.1', 9103], async () => {
      await refused('127.0.0.1:9103:80', /Bind for 127\.0\.0\.1:9103 failed: port is already allocated \(by a process on the host\)/);
      await refused('9103:80', /Bind for 0\.0\.0\.0:9103 failed/);
      await ok(['run', '-d', '--name', 'other-addr', '-p', '198.51.100.1:9103:80', 'busybox', 'sh', '-c', 'echo other >/tmp/index.html; exec httpd -f -p 80 -h /tmp']);
      expect(await httpGet(sb, 'http://198.51.100.1:9103/')).toBe('other\n');
      await ok(['rm', '-f', 'other-addr']);
    });
  });

  it('a bound UDP socket refuses the UDP port, not the TCP one', async () => {
    await whileHeld(['udp', '0.0.0.0', 9104], async () => {
      await refused('9104:80/udp', /Bind for 0\.0\.0\.0:9104 failed: port is already allocated \(by a process on the host\)/);
      await accepted('9104:80');
    });
    await accepted('9104:80/udp');
  });
});
