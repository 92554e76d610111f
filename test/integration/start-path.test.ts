/**
 * The start path pays only for what it uses, counted (never timed): which Node modules a
 * `run` loads, which processes it execs, whether Node reads the CA bundle, and that what
 * `run --rm` owned is gone when it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUSYBOX_TAR, CLI, PROJECT, createSandbox, hostSnapshot, run, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let tmp: string;
const before = hostSnapshot();
const PRELOAD = resolve(PROJECT, 'test', 'fixtures', 'modules-at-exit.cjs');

beforeAll(async () => {
  sb = await createSandbox('tsd-start');
  tmp = mkdtempSync(join(tmpdir(), 'tsd-start-'));
  const r = await sb.tsd(['load', '-i', BUSYBOX_TAR]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  rmSync(tmp, { recursive: true, force: true });
  expect(hostSnapshot()).toEqual(before);
});

/** bin/tsdocker exec'd as a user runs it (its #! line included), inside the sandbox */
function tsdExec(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []) {
  const cg = { TSDOCKER_CGROUP_PARENT: `tsdocker-test-${sb.root.split('/').pop()}` };
  return run([...sb.enter, ...wrap, CLI, '--root', sb.root, ...args], { env: { ...process.env, ...cg, ...env } });
}

function modulesOf(stderr: string): string[] {
  const line = stderr.split('\n').find((l) => l.startsWith('TSD-MODULES '));
  expect(line, stderr).toBeDefined();
  return line!.slice('TSD-MODULES '.length).split(' ');
}

describe('pay only for what a command uses', () => {
  it('run loads none of tar, zlib, http(s), tls, child_process, dgram, nor net and the streams (its stdout a pipe)', async () => {
    // the first bridge start makes the bridge and its tables (with ip and nft): not measured
    expect((await sb.tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0);
    for (const net of ['none', 'bridge']) {
      const r = await tsdExec(['run', '--rm', '--network', net, 'busybox', 'true'], { NODE_OPTIONS: `--require ${PRELOAD}` });
      expect(r.code, r.stderr).toBe(0);
      const mods = modulesOf(r.stderr);
      expect(mods).toContain('fs'); // the list is real
      // net and stream: a net.Socket for the monitor's channel, or process.stdout made for a pipe
      for (const m of ['zlib', 'http', 'https', 'tls', '_tls_wrap', 'child_process', 'dgram', 'net', 'stream']) expect(mods, net).not.toContain(m);
    }
  });

  it('Node does not read the NODE_EXTRA_CA_CERTS file for a command that makes no TLS connection', async () => {
    const ca = join(tmp, 'extra-ca.pem');
    writeFileSync(ca, '');
    const trace = join(tmp, 'open.trace');
    const r = await tsdExec(['run', '--rm', '--network', 'none', 'busybox', 'true'], { NODE_EXTRA_CA_CERTS: ca }, [
      'strace', '-f', '-qq', '-e', 'trace=open,openat', '-o', trace,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const opens = readFileSync(trace, 'utf8');
    expect(opens).toMatch(/tsdocker\.cjs/); // the trace saw the start
    expect(opens).not.toContain(ca);
  });

  it('the extra CA path reaches tsdocker, and --env-file still reaches the command', async () => {
    const envFile = join(tmp, 'env');
    writeFileSync(envFile, 'FOO=from-file\n');
    const r = await tsdExec(['run', '--rm', '--network', 'none', '--env-file', envFile, 'busybox', 'sh', '-c', 'echo $FOO'], {
      NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
      NODE_OPTIONS: `--require ${PRELOAD}`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('from-file');
    expect(r.stderr).toContain('TSD-CAFILE /nonexistent/ca.pem\n');
  });
});

/** one traced `tsdocker ...` inside the sandbox: the strace lines */
async function traced(args: string[], syscalls: string): Promise<{ code: number; lines: string[]; stderr: string }> {
  const out = join(tmp, `trace.${Math.random().toString(36).slice(2)}`);
  const r = await tsdExec(args, {}, ['strace', '-f', '-qq', '-y', '-e', `trace=${syscalls}`, '-o', out]);
  const lines = readFileSync(out, 'utf8').split('\n');
  rmSync(out, { force: true });
  return { code: r.code, lines, stderr: r.stderr };
}

describe('no work without a purpose', () => {
  it('run --rm fsyncs no state file and takes no volumes lock; a kept container fsyncs its config, resources and exit record', async () => {
    const rm = await traced(['run', '--rm', '--network', 'none', 'busybox', 'true'], 'fsync,fdatasync,flock');
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.lines.some((l) => l.includes('containers.lock'))).toBe(true); // the trace sees the state
    expect(rm.lines.filter((l) => /f(data)?sync\(/.test(l) && l.includes(sb.root))).toEqual([]);
    expect(rm.lines.filter((l) => l.includes('volumes.lock'))).toEqual([]);

    const kept = await traced(['run', '--name', 'kept', '--network', 'none', 'busybox', 'true'], 'fsync,fdatasync');
    expect(kept.code, kept.stderr).toBe(0);
    const synced = kept.lines.filter((l) => /f(data)?sync\(/.test(l) && l.includes(sb.root)).map((l) => l.match(/\/([^/]+)>/)?.[1]);
    expect(synced.some((f) => f?.includes('config.json'))).toBe(true);
    expect(synced.some((f) => f?.includes('resources.json'))).toBe(true);
    expect(synced.some((f) => f?.includes('exit.json'))).toBe(true);
    expect((await sb.tsd(['rm', 'kept'])).code).toBe(0);
  });

  it('records are read and written on the main thread (no thread-pool trip per step), the bundle in one read', async () => {
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'openat,read');
    expect(t.code, t.stderr).toBe(0);
    const main = t.lines[0]!.split(' ')[0];
    const records = t.lines.filter((l) => /openat\(.*\.json(\.\d+\.\d+\.tmp)?"/.test(l) && l.includes(sb.root));
    expect(records.length).toBeGreaterThan(5); // the trace sees the records
    expect(records.filter((l) => l.split(' ')[0] !== main)).toEqual([]);
    // Node reads a file asked for as 'utf8' in 8 KB chunks: the launcher reads bytes
    expect(t.lines.filter((l) => /^\d+ +read\(\d+<[^>]*\/tsdocker\.cjs>/.test(l)).length).toBeLessThanOrEqual(2);
  });

  it('the device rules of a start go through one open of devices.allow (cgroup v1)', async () => {
    const t = await traced(['run', '--rm', '--network', 'none', 'busybox', 'true'], 'openat,write');
    expect(t.code, t.stderr).toBe(0);
    const rules = t.lines.filter((l) => /write\(\d+<[^>]*\/devices\.allow>/.test(l));
    if (!existsSync('/sys/fs/cgroup/devices')) return; // cgroup v2: device rules are an eBPF program
    expect(rules.length).toBeGreaterThan(5);
    expect(t.lines.filter((l) => /openat\(.*\/devices\.allow"/.test(l)).length).toBe(1);
  });

  it("run --rm removes its container's directory from the main thread (no thread-pool trip per entry)", async () => {
    // execve: the first line is the CLI's own (its pid is Node's main thread), whoever unlinks first
    const t = await traced(['run', '--rm', '--network', 'none', 'busybox', 'true'], 'execve,unlink,unlinkat,rmdir');
    expect(t.code, t.stderr).toBe(0);
    const main = t.lines[0]!.split(' ')[0];
    expect(t.lines[0]).toMatch(/execve\(/);
    const removals = t.lines.filter((l) => /(unlink|unlinkat|rmdir)\(/.test(l) && l.includes(`${sb.root}/containers/`));
    expect(removals.length).toBeGreaterThan(5);
    expect(removals.filter((l) => l.split(' ')[0] !== main)).toEqual([]);
  });

  it('run plans the resources once: the host limits are read once for create and start', async () => {
    const t = await traced(['run', '--rm', '--network', 'none', 'busybox', 'true'], 'open,openat');
    expect(t.code, t.stderr).toBe(0);
    expect(t.lines.filter((l) => l.includes('"/proc/self/limits"')).length).toBe(1);
  });

  it('the host port tables are never read: a published port is probed by a bind, as Docker\'s proxy finds it taken; no address dump for 0.0.0.0', async () => {
    const plain = await traced(['run', '--rm', 'busybox', 'true'], 'open,openat,bind');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.lines.some((l) => l.includes('tsdocker.cjs'))).toBe(true);
    expect(plain.lines.filter((l) => /\/proc\/net\/(tcp|udp)/.test(l))).toEqual([]);
    expect(plain.lines.filter((l) => /bind\(.*htons\(/.test(l))).toEqual([]);
    const published = await traced(['run', '--rm', '-p', '18080:80', 'busybox', 'true'], 'open,openat,bind,sendto,sendmsg');
    expect(published.code, published.stderr).toBe(0);
    expect(published.lines.filter((l) => /\/proc\/net\/(tcp|udp)/.test(l))).toEqual([]);
    // the host's addresses are asked (a netlink dump) only for a port published on one of them
    expect(published.lines.some((l) => /RTM_[A-Z]+LINK/.test(l))).toBe(true); // the trace sees rtnetlink (the veth)
    expect(published.lines.filter((l) => l.includes('RTM_GETADDR'))).toEqual([]);
    // 0.0.0.0 and [::] (the sandbox has IPv6), once when planned and once under the lock
    const probes = published.lines.filter((l) => /bind\(.*sin6?_port=htons\(18080\)/.test(l));
    expect(probes.filter((l) => l.includes('AF_INET6')).length).toBeGreaterThanOrEqual(2);
    expect(probes.filter((l) => !l.includes('AF_INET6')).length).toBe(2);
    // the port records exist now: a start and removal that publish nothing do not read them
    const again = await traced(['run', '--rm', 'busybox', 'true'], 'open,openat');
    expect(again.code, again.stderr).toBe(0);
    expect(again.lines.some((l) => l.includes('libtsdocker.so'))).toBe(true);
    expect(again.lines.filter((l) => /\/networks\/ports"/.test(l))).toEqual([]);
  });
});

describe('ps reads what it shows once', () => {
  it('one listing of the records when nothing needs reconciling; the freezer is read only for a paused container', async () => {
    for (const n of ['ps1', 'ps2']) expect((await sb.tsd(['run', '-d', '--name', n, '--network', 'none', 'busybox', 'sleep', '60'])).code).toBe(0);
    try {
      const ids = (await sb.tsd(['ps', '-q', '--no-trunc'])).stdout.trim().split('\n');
      expect(ids.length).toBe(2);
      // ps2 paused: its .paused marker says to read its freezer (runtime/pause.ts)
      expect((await sb.tsd(['pause', 'ps2'])).code).toBe(0);
      const paused = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'ps2'])).stdout.trim();
      const t = await traced(['ps'], 'openat');
      expect(t.code, t.stderr).toBe(0);
      for (const id of ids) {
        const opens = (file: RegExp) => t.lines.filter((l) => l.includes(id) && file.test(l) && !/= -1 E/.test(l)).length;
        expect(opens(/\/config\.json"/)).toBe(1);
        expect(opens(/\/(freezer\.state|cgroup\.events)"/)).toBe(id === paused ? 1 : 0);
      }
      expect((await sb.tsd(['unpause', 'ps2'])).code).toBe(0);
    } finally {
      expect((await sb.tsd(['rm', '-f', 'ps1', 'ps2'])).code).toBe(0);
    }
  });
});

describe('a removal reads only what it removes', () => {
  it("rm -f reads the container's own lease (its endpoint record names it), not its neighbours'", async () => {
    for (const n of ['nb1', 'nb2']) expect((await sb.tsd(['run', '-d', '--name', n, 'busybox', 'sleep', '60'])).code).toBe(0);
    const ipOf = async (n: string) => (await sb.tsd(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', n])).stdout.trim();
    const [own, other] = [await ipOf('nb1'), await ipOf('nb2')];
    expect(own).toMatch(/^172\.17\./);
    const t = await traced(['rm', '-f', 'nb1'], 'openat');
    expect(t.code, t.stderr).toBe(0);
    expect(t.lines.filter((l) => l.includes(`/leases/${own}"`)).length).toBeGreaterThan(0);
    expect(t.lines.filter((l) => l.includes(`/leases/${other}"`))).toEqual([]);
    expect((await sb.tsd(['rm', '-f', 'nb2'])).code).toBe(0);
  });
});

describe('the FORWARD policy check runs only when the firewall changed', () => {
  const iptablesRuns = async (): Promise<number> => {
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'execve');
    expect(t.code, t.stderr).toBe(0);
    // an iptables process that ran: its execve succeeded (PATH misses fail with ENOENT)
    return t.lines.filter((l) => /execve\("[^"]*\/iptables", \["iptables"/.test(l) && !/= -1 E[A-Z]+ /.test(l)).length;
  };

  it('skips iptables while the nf_tables generation is the one checked, checks again after a change', async () => {
    for (let i = 0; i < 2; i++) expect((await sb.tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0);
    expect(await iptablesRuns()).toBe(0); // our own nft batches do not count as a change
    // another firewall (Docker) sets FORWARD to DROP: the next start sees it and lets our bridge through
    expect((await sb.sh(['iptables', '-w', '-P', 'FORWARD', 'DROP'])).code).toBe(0);
    expect(await iptablesRuns()).toBeGreaterThan(0);
    const fwd = (await sb.sh(['iptables', '-w', '-S', 'FORWARD'])).stdout;
    expect(fwd).toMatch(/-A FORWARD -i tsd0-\S+ .*tsdocker:tsd0-\S+.* -j ACCEPT/);
    expect(await iptablesRuns()).toBeGreaterThan(0); // it inserted: confirms once more, then records
    expect(await iptablesRuns()).toBe(0);
    expect((await sb.sh(['iptables', '-w', '-P', 'FORWARD', 'ACCEPT'])).code).toBe(0);
  });

  it('while FORWARD does not drop (asked over netlink), a bridge start and its removal keep no FORWARD-check record', async () => {
    expect((await sb.sh(['iptables', '-w', '-S', 'FORWARD'])).stdout).toMatch(/^-P FORWARD ACCEPT$/m); // the last test's end
    expect((await sb.tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0); // drops the record of the DROP days
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'openat,execve');
    expect(t.code, t.stderr).toBe(0);
    expect(t.lines.some((l) => l.includes('libtsdocker.so'))).toBe(true); // the trace sees the CLI
    expect(t.lines.filter((l) => /forward-ok\.json.*O_WRONLY/.test(l))).toEqual([]);
    expect(t.lines.filter((l) => /execve\("[^"]*\/iptables", \["iptables"/.test(l) && !/= -1 E[A-Z]+ /.test(l))).toEqual([]);
  });
});

describe('no helper processes on the start path', () => {
  it('a bridge start runs no ip, nsenter or iptables: the host side over rtnetlink, the container side by its init', async () => {
    expect((await sb.tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0); // the firewall check after the last test's change
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'execve');
    expect(t.code, t.stderr).toBe(0);
    const ran = (prog: string) => t.lines.filter((l) => new RegExp(`execve\\("[^"]*/${prog}", \\["${prog}"`).test(l) && !/= -1 E[A-Z]+ /.test(l)).length;
    expect(ran('tsdocker-monitor')).toBe(1); // the trace sees the start
    expect(ran('ip')).toBe(0);
    expect(ran('nsenter')).toBe(0);
    expect(ran('iptables')).toBe(0);
    expect(ran('nft')).toBe(0); // the port's binding in process (native/src/nftguard.c)
  });

  it('a start with -p and the removal of such a container run no nft; the rules are there while it runs and gone after', async () => {
    const ran = (lines: string[], prog: string) => lines.filter((l) => new RegExp(`execve\\("[^"]*/${prog}", \\["${prog}"`).test(l) && !/= -1 E[A-Z]+ /.test(l)).length;
    // foreground (strace -f would follow a detached monitor for the container's whole life)
    const start = await traced(['run', '--rm', '-p', '18282:80', 'busybox', 'true'], 'execve');
    expect(start.code, start.stderr).toBe(0);
    expect(ran(start.lines, 'tsdocker-monitor')).toBe(1);
    expect(ran(start.lines, 'nft')).toBe(0);
    expect((await sb.tsd(['run', '-d', '--name', 'pub', '-p', '18282:80', 'busybox', 'sleep', '60'])).code).toBe(0);
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'pub'])).stdout.trim();
    const rules = async () => (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
    expect(await rules()).toContain(`tcp . 18282 : jump ctr-${id.slice(0, 12)}`);
    expect(await rules()).toMatch(/chain ep-[0-9a-f]{12} \{[^}]*ether saddr != 02:42:ac:11:/);
    const rm = await traced(['rm', '-f', 'pub'], 'execve,sendto,sendmsg');
    expect(rm.code, rm.stderr).toBe(0);
    expect(ran(rm.lines, 'nft')).toBe(0);
    // its state names its ports: the chain and map entries go by name, the table is not listed
    expect(rm.lines.some((l) => l.includes('NFT_MSG_DELSETELEM'))).toBe(true); // the trace sees the batch
    expect(rm.lines.filter((l) => /NFT_MSG_GET(RULE|SETELEM)\b/.test(l))).toEqual([]);
    expect(await rules()).not.toContain('18282');
    expect(await rules()).not.toMatch(/chain ep-/);
  });

  it("a bridge start and its removal load no libnftables: the port's binding is our own transaction, the rules nft makes of it", async () => {
    const start = await traced(['run', '--rm', 'busybox', 'true'], 'openat');
    expect(start.code, start.stderr).toBe(0);
    expect(start.lines.some((l) => l.includes('libtsdocker.so'))).toBe(true); // the trace sees the CLI
    expect(start.lines.filter((l) => l.includes('libnftables'))).toEqual([]);
    expect((await sb.tsd(['run', '-d', '--name', 'bound', 'busybox', 'sleep', '60'])).code).toBe(0);
    const ruleset = (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
    const [, table, chain] = /table bridge (\S+) \{[\s\S]*?chain (ep-[0-9a-f]{12}) \{/.exec(ruleset) ?? [];
    expect(chain).toBeDefined();
    // the kernel's view of the chain (expressions, set elements), minus handles and set numbers
    const bytecode = async () =>
      (await sb.sh(['nft', '--debug=netlink', 'list', 'chain', 'bridge', table!, chain!])).stdout
        .replace(/__set\d+/g, '__set')
        .replace(/^(bridge \S+ \S+)( \d+)+$/gm, '$1');
    const ours = await bytecode();
    expect(ours).toContain('[ cmp neq reg 1 0x11ac4202'); // 02:42:ac:11:..: the container's MAC
    // `network reload` on an empty ruleset makes every binding again through nft, from portGuardScript
    await sb.sh(['nft', 'flush', 'ruleset']);
    expect((await sb.tsd(['network', 'reload'])).code).toBe(0);
    expect(await bytecode()).toBe(ours);
    const rm = await traced(['rm', '-f', 'bound'], 'openat');
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.lines.filter((l) => l.includes('libnftables'))).toEqual([]);
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).not.toContain(chain!);
  });

  it('a start with -p and its removal load no libnftables: the DNAT chain and map entries are our own transaction, the rules nft makes of them', async () => {
    const start = await traced(['run', '--rm', '-p', '18383:80', 'busybox', 'true'], 'openat');
    expect(start.code, start.stderr).toBe(0);
    expect(start.lines.some((l) => l.includes('libtsdocker.so'))).toBe(true); // the trace sees the CLI
    expect(start.lines.filter((l) => l.includes('libnftables'))).toEqual([]);
    // every kind of rule: any address, a loopback one (fib saddr type local), another address of the host; tcp and udp
    await sb.sh(['ip', 'addr', 'add', '198.51.100.1/32', 'dev', 'lo']);
    try {
      const ports = ['-p', '18384:80', '-p', '127.0.0.1:18385:53/udp', '-p', '198.51.100.1:18386:443', '-p', '18387-18388:81-82'];
      expect((await sb.tsd(['run', '-d', '--name', 'dnat', ...ports, 'busybox', 'sleep', '60'])).code).toBe(0);
      const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'dnat'])).stdout.trim();
      const table = /table inet (\S+) \{/.exec((await sb.sh(['nft', 'list', 'ruleset'])).stdout)![1]!;
      // the kernel's view of the chain (expressions, minus handles) and of the map's elements (in any order)
      const bytecode = async () => {
        const chain = (await sb.sh(['nft', '--debug=netlink', 'list', 'chain', 'inet', table, `ctr-${id.slice(0, 12)}`])).stdout;
        const map = (await sb.sh(['nft', '--debug=netlink', 'list', 'map', 'inet', table, 'ports'])).stdout;
        const elements = /@ports\n((?:\telement .*\n)+)/.exec(map)?.[1]?.split('\n').sort().join('\n');
        // (the listing prints every set of the table first: the chain's rules start at its name)
        const rules = chain.slice(chain.indexOf(`inet ${table} ctr-`)).split('\ntable ')[0]!;
        return rules.replace(/^(inet \S+ \S+)( \d+)+$/gm, '$1') + (elements ?? '');
      };
      const ours = await bytecode();
      expect(ours).toContain('[ fib saddr type => reg 1 ]'); // the loopback rule
      expect(ours).toContain('[ cmp eq reg 1 0x016433c6 ]'); // ip daddr 198.51.100.1
      expect(ours).toContain('element 00000011 0000d147 '); // udp . 18385
      expect(ours.match(/\[ nat dnat ip /g)).toHaveLength(5);
      // `network reload` on an empty ruleset makes them again through nft, from containerPortsScript
      await sb.sh(['nft', 'flush', 'ruleset']);
      expect((await sb.tsd(['network', 'reload'])).code).toBe(0);
      expect(await bytecode()).toBe(ours);
      const rm = await traced(['rm', '-f', 'dnat'], 'openat');
      expect(rm.code, rm.stderr).toBe(0);
      expect(rm.lines.filter((l) => l.includes('libnftables'))).toEqual([]);
      expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).not.toMatch(/ctr-|1838\d/);
    } finally {
      await sb.tsd(['rm', '-f', 'dnat']);
      await sb.sh(['ip', 'addr', 'del', '198.51.100.1/32', 'dev', 'lo']);
    }
  });

  it('a bridge run --rm reads the network records three times: to plan, to lease under the lock, to clean up', async () => {
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'openat');
    expect(t.code, t.stderr).toBe(0);
    expect(t.lines.filter((l) => /\/networks\/[0-9a-f]{64}\/network\.json"/.test(l))).toHaveLength(3);
  });

  it('a bridge run --rm talks to nf_tables over one socket, kept open: closing it would wait out the deferred destruction of the unbound chain', async () => {
    expect((await sb.tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0); // the network exists (made by nft and ip)
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'socket');
    expect(t.code, t.stderr).toBe(0);
    expect(t.lines.some((l) => l.includes('NETLINK_ROUTE'))).toBe(true); // the trace sees the veth made
    expect(t.lines.filter((l) => l.includes('NETLINK_NETFILTER'))).toHaveLength(1);
  });

  it('the address cursor and /etc/hosts are rewritten in place, never truncated (ext4 would flush them at close)', async () => {
    const t = await traced(['run', '--rm', 'busybox', 'true'], 'openat');
    expect(t.code, t.stderr).toBe(0);
    const cursor = t.lines.filter((l) => l.includes('/leases/.cursor"'));
    expect(cursor.some((l) => l.includes('O_RDWR'))).toBe(true); // the trace sees it written
    expect(cursor.filter((l) => l.includes('O_TRUNC') && !l.includes('O_EXCL'))).toEqual([]); // made with O_EXCL: nothing to cut
    // /etc/hosts gets the address in place too: one open read-write, no truncate but its creation
    const hosts = t.lines.filter((l) => /\/containers\/[0-9a-f]{64}\/hosts"/.test(l));
    expect(hosts.filter((l) => l.includes('O_RDWR'))).toHaveLength(1);
    expect(hosts.filter((l) => l.includes('O_TRUNC')).length).toBeLessThanOrEqual(1);
  });

  it('the host side is in the bridge, up, and the container has its address, MAC and route', async () => {
    const r = await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'cat /sys/class/net/eth0/address; ip -o -4 addr show eth0; ip route; ping -c1 -W2 172.17.0.1 >/dev/null && echo gw-ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^02:42:ac:11:/);
    expect(r.stdout).toMatch(/inet 172\.17\.\d+\.\d+\/16/);
    expect(r.stdout).toContain('default via 172.17.0.1 dev eth0');
    expect(r.stdout).toContain('gw-ok');
  });
});

describe('cleanup when run --rm returns', () => {
  const parent = () => `tsdocker-test-${sb.root.split('/').pop()}`;
  /** entries of a state dir, without dotfiles (cursors, temp files) */
  const entries = (dir: string): string[] => {
    try {
      return readdirSync(dir).filter((f) => !f.startsWith('.'));
    } catch {
      return [];
    }
  };
  const cgroupChildren = (): string[] =>
    entries('/sys/fs/cgroup').flatMap((h) => entries(join('/sys/fs/cgroup', h, parent())).filter((c) => statSync(join('/sys/fs/cgroup', h, parent(), c)).isDirectory()));

  it('name, --ip lease, published port, cgroups and records are free at once; no veth left 1 s later', async () => {
    expect((await sb.tsd(['network', 'create', '--subnet', '10.88.0.0/24', 'cl'])).code).toBe(0);
    const args = ['run', '--rm', '--name', 'same', '--network', 'cl', '--ip', '10.88.0.9', '-p', '18181:80', 'busybox', 'true'];
    // the checks below look where a running container's things are
    const d = await sb.tsd(['run', '-d', '--name', 'same', '--network', 'cl', '--ip', '10.88.0.9', '-p', '18181:80', 'busybox', 'sleep', '60']);
    expect(d.code, d.stderr).toBe(0);
    expect(cgroupChildren().length).toBeGreaterThan(0);
    expect(entries(join(sb.root, 'networks', 'ports')).length).toBeGreaterThan(0);
    expect((await sb.tsd(['run', '--rm', '--network', 'cl', '--ip', '10.88.0.9', 'busybox', 'true'])).code).not.toBe(0); // the address is taken
    expect((await sb.tsd(['rm', '-f', 'same'])).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = await sb.tsd(args); // the second at once: same name, same address, same port
      expect(r.code, r.stderr).toBe(0);
      expect(entries(join(sb.root, 'containers'))).toEqual([]);
      const net = entries(join(sb.root, 'networks')).find((d) => existsSync(join(sb.root, 'networks', d, 'network.json')) && readFileSync(join(sb.root, 'networks', d, 'network.json'), 'utf8').includes('"cl"'))!;
      expect(entries(join(sb.root, 'networks', net, 'leases'))).toEqual([]);
      expect(entries(join(sb.root, 'networks', net, 'endpoints'))).toEqual([]);
      expect(entries(join(sb.root, 'networks', 'ports'))).toEqual([]);
      expect(cgroupChildren()).toEqual([]);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const links = (await sb.sh(['ip', '-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter(Boolean);
    expect(links.filter((l) => /^tsd[0-9a-f]{12}$/.test(l))).toEqual([]); // container veths (bridges are tsd0-/tsdbr-)
    expect((await sb.tsd(['network', 'rm', 'cl'])).code).toBe(0);
  });

  it('a container whose namespace another joined: its veth is removed though the namespace lives on', async () => {
    const vethsNow = async (): Promise<string[]> =>
      (await sb.sh(['ip', '-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((l) => /^tsd[0-9a-f]{12}$/.test(l));
    const before = await vethsNow();
    expect((await sb.tsd(['run', '-d', '--name', 'host1', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await sb.tsd(['run', '-d', '--name', 'joiner', '--network', 'container:host1', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await vethsNow()).length).toBe(before.length + 1);
    expect((await sb.tsd(['rm', '-f', 'host1'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await vethsNow()).toEqual(before); // the joiner holds the namespace: tsdocker deleted the veth
    expect((await sb.tsd(['rm', '-f', 'joiner'])).code).toBe(0);
  });
});
