/**
 * Docker parity of everyday behaviours (issue 12's bug list), each compared with what Docker
 * 20.10 prints or returns for the same command; the expected output is written here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, hostSnapshot, run, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { dockerSaveClassic } from '../helpers/archives.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';

let sb: Sandbox;
const before = hostSnapshot();
const tsd = (args: string[]): Promise<RunResult> => sb.tsd(args);

beforeAll(async () => {
  sb = await createSandbox('tsd-parity');
  expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('Docker parity', () => {
  it('bug 12: a warning is a plain "WARNING: ..." line; JSON only with --log-format json', async () => {
    const r = await tsd(['run', '--rm', '--network', 'host', '-p', '80:80', 'busybox', 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('WARNING: Published ports are discarded when using host network mode\n');
    const j = await tsd(['--log-format', 'json', 'run', '--rm', '--network', 'host', '-p', '80:80', 'busybox', 'true']);
    expect(JSON.parse(j.stderr.trim())).toMatchObject({ level: 40, msg: 'Published ports are discarded when using host network mode' });
  });

  it('bug 6: --env-file reaches tsdocker through the launcher (Node 20 does not take it)', async () => {
    // the launcher itself, as a user runs it (its #! line), not `node bin/tsdocker`
    const r = await run([...sb.enter, CLI, '--root', sb.root, 'run', '--rm', '--env-file', '/nonexistent-env', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).not.toMatch(/^node:/m);
    expect(r.stderr).toContain('/nonexistent-env');
  });

  it('bug 9: TERM=xterm with -t, for run and exec; not without', async () => {
    const t = await tsd(['run', '--rm', '-t', 'busybox', 'sh', '-c', 'echo "[$TERM]"']);
    expect(t.stdout.trim()).toBe('[xterm]');
    const n = await tsd(['run', '--rm', 'busybox', 'sh', '-c', 'echo "[$TERM]"']);
    expect(n.stdout.trim()).toBe('[]');
    const own = await tsd(['run', '--rm', '-t', '-e', 'TERM=vt100', 'busybox', 'sh', '-c', 'echo "[$TERM]"']);
    expect(own.stdout.trim()).toBe('[vt100]');
    expect((await tsd(['run', '-d', '--name', 'term', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await tsd(['exec', '-t', 'term', 'sh', '-c', 'echo "[$TERM]"'])).stdout.trim()).toBe('[xterm]');
    expect((await tsd(['exec', 'term', 'sh', '-c', 'echo "[$TERM]"'])).stdout.trim()).toBe('[]');
    expect((await tsd(['rm', '-f', 'term'])).code).toBe(0);
  });

  it('bug 15/16: rm -f of a container that does not exist exits 0, as Docker', async () => {
    const r = await tsd(['rm', '-f', 'nosuch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect((await tsd(['rm', 'nosuch'])).code).toBe(1);
  });

  it('bug 13: stats --format and volume ls --format use the template', async () => {
    expect((await tsd(['volume', 'create', 'v1'])).code).toBe(0);
    expect((await tsd(['volume', 'ls', '--format', '{{.Name}}/{{.Driver}}'])).stdout).toBe('v1/local\n');
    expect((await tsd(['run', '-d', '--name', 'st', 'busybox', 'sleep', '60'])).code).toBe(0);
    const s = await tsd(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'st']);
    expect(s.stdout).toBe('st 1\n');
    expect((await tsd(['rm', '-f', 'st'])).code).toBe(0);
  });
});

describe('users (bug 1)', () => {
  it('-u UID without a passwd entry: gid 0, groups 0, as Docker; exec -u alike; root keeps wheel', async () => {
    const id = async (...u: string[]) => (await tsd(['run', '--rm', ...u, 'busybox', 'id'])).stdout.trim();
    expect(await id()).toBe('uid=0(root) gid=0(root) groups=0(root),10(wheel)');
    expect(await id('-u', '1234')).toBe('uid=1234 gid=0(root) groups=0(root)');
    expect(await id('-u', '1234:10')).toBe('uid=1234 gid=10(wheel) groups=10(wheel)');
    expect(await id('-u', 'nobody')).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    expect((await tsd(['run', '-d', '--name', 'users', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await tsd(['exec', '-u', '1234', 'users', 'id'])).stdout.trim()).toBe('uid=1234 gid=0(root) groups=0(root)');
    expect((await tsd(['rm', '-f', 'users'])).code).toBe(0);
  });
});

describe('network connect persists (bug 2)', () => {
  const nets = async (name: string) => (await tsd(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', name])).stdout.trim();
  const ifs = async (name: string) => (await tsd(['exec', name, 'sh', '-c', 'ls /sys/class/net | grep eth | tr "\\n" " "'])).stdout.trim();

  it('connections survive stop/start; a stopped container can be connected and disconnected', async () => {
    expect((await tsd(['network', 'create', 'pn1'])).code).toBe(0);
    expect((await tsd(['network', 'create', 'pn2'])).code).toBe(0);
    expect((await tsd(['run', '-d', '--name', 'pc', '--network', 'pn1', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await tsd(['network', 'connect', 'pn2', 'pc'])).code).toBe(0);
    expect(await nets('pc')).toBe('pn1 pn2');
    expect((await tsd(['stop', '-t', '0', 'pc'])).code).toBe(0);
    expect((await tsd(['ps', '-a', '--filter', 'name=pc', '--format', '{{.Networks}}'])).stdout).toBe('pn1,pn2\n');
    expect((await tsd(['start', 'pc'])).code).toBe(0);
    expect(await nets('pc')).toBe('pn1 pn2');
    expect(await ifs('pc')).toBe('eth0 eth1');
    // stopped: disconnect the first network, connect the default bridge; both hold at start
    expect((await tsd(['stop', '-t', '0', 'pc'])).code).toBe(0);
    expect((await tsd(['network', 'disconnect', 'pn1', 'pc'])).code).toBe(0);
    expect((await tsd(['network', 'connect', 'bridge', 'pc'])).code).toBe(0);
    const twice = await tsd(['network', 'connect', 'bridge', 'pc']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('endpoint with name pc already exists in network bridge');
    expect((await tsd(['start', 'pc'])).code).toBe(0);
    expect(await nets('pc')).toBe('bridge pn2');
    expect(await ifs('pc')).toBe('eth0 eth1');
    // the first network left: the next one carries the default route
    expect((await tsd(['exec', 'pc', 'ip', 'route', 'show', 'default'])).stdout).toMatch(/^default via \S+ dev eth0/);
    expect((await tsd(['rm', '-f', 'pc'])).code).toBe(0);
    expect((await tsd(['network', 'rm', 'pn1', 'pn2'])).code).toBe(0);
  });
});

describe('terminals, logs, exec (bugs 4, 5, 15)', () => {
  it('bug 4: -it with a pipe on stdin says "the input device is not a TTY" and exits 1 at once', async () => {
    const r = await tsd(['run', '-it', 'busybox', 'cat']); // the harness gives a pipe as stdin
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the input device is not a TTY');
    expect((await tsd(['ps', '-aq'])).stdout).toBe('');
    expect((await tsd(['run', '-d', '--name', 'tty1', 'busybox', 'sleep', '60'])).code).toBe(0);
    const e = await tsd(['exec', '-it', 'tty1', 'true']);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('the input device is not a TTY');
    // -t alone (no stdin attached) is fine, as Docker
    expect((await tsd(['exec', '-t', 'tty1', 'true'])).code).toBe(0);
    expect((await tsd(['rm', '-f', 'tty1'])).code).toBe(0);
  });

  it('bug 5: logs --tail 0, --tail -1, --since, --until, --details', async () => {
    expect((await tsd(['run', '-d', '--name', 'lg', 'busybox', 'sh', '-c', 'echo one; echo two; echo three'])).code).toBe(0);
    expect((await tsd(['wait', 'lg'])).stdout).toBe('0\n');
    const logs = async (...a: string[]) => {
      const r = await tsd(['logs', ...a, 'lg']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await logs('--tail', '0')).toBe('');
    expect(await logs('-f', '--tail', '0')).toBe('');
    expect(await logs('--tail', '-1')).toBe('one\ntwo\nthree\n');
    expect(await logs('-n', '2')).toBe('two\nthree\n');
    expect(await logs('--details', '--tail', '1')).toBe(' three\n');
    expect(await logs('--since', '10m')).toBe('one\ntwo\nthree\n');
    expect(await logs('--until', '10m')).toBe('');
    expect(await logs('--since', '2000-01-01T00:00:00Z', '--until', '2100-01-01')).toBe('one\ntwo\nthree\n');
    expect(await logs('--since', String(Math.floor(Date.now() / 1000) + 3600))).toBe('');
    const ts = (await logs('-t', '--tail', '1')).split(' ');
    expect(ts[1]).toBe('three\n');
    expect(await logs('--since', ts[0]!)).toBe('three\n');
    const bad = await tsd(['logs', '--since', 'yesterday', 'lg']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid value for "since": failed to parse value as time or duration: "yesterday"');
    expect((await tsd(['rm', 'lg'])).code).toBe(0);
  });

  it('bug 5: a container that ran in the foreground keeps its log, as Docker', async () => {
    const fg = await tsd(['run', '--name', 'fg', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(fg.code).toBe(3);
    expect(fg.stdout).toBe('out\n');
    expect(fg.stderr).toBe('err\n');
    const l = await tsd(['logs', 'fg']);
    expect(l.stdout).toBe('out\n');
    expect(l.stderr).toBe('err\n');
    const it = await tsd(['run', '-t', '--name', 'fgt', 'busybox', 'echo', 'on a tty']);
    expect(it.stdout).toBe('on a tty\r\n');
    expect((await tsd(['logs', 'fgt'])).stdout).toBe('on a tty\r\n');
    expect((await tsd(['rm', 'fg', 'fgt'])).code).toBe(0);
  });

  it('bug 15: exec of a missing command exits 126; exec -w of a missing directory fails and creates nothing', async () => {
    expect((await tsd(['run', '-d', '--name', 'ex1', 'busybox', 'sleep', '60'])).code).toBe(0);
    const miss = await tsd(['exec', 'ex1', 'nosuchcmd']);
    expect(miss.code).toBe(126);
    expect(miss.stderr).toContain('executable file not found in $PATH');
    expect((await tsd(['exec', 'ex1', 'sh', '-c', 'exit 127'])).code).toBe(127);
    const wd = await tsd(['exec', '-w', '/nonexistent', 'ex1', 'pwd']);
    expect(wd.code).toBe(126);
    expect(wd.stderr).toContain('chdir to cwd ("/nonexistent") failed: no such file or directory');
    expect((await tsd(['exec', 'ex1', 'ls', '-d', '/nonexistent'])).code).not.toBe(0);
    expect((await tsd(['exec', '-w', '/tmp', 'ex1', 'pwd'])).stdout).toBe('/tmp\n');
    // run -w still creates it, as Docker
    expect((await tsd(['run', '--rm', '-w', '/made/here', 'busybox', 'pwd'])).stdout).toBe('/made/here\n');
    expect((await tsd(['rm', '-f', 'ex1'])).code).toBe(0);
  });
});

describe('extended attributes in layers (bug 7)', () => {
  it("a setcap'd binary keeps its file capability; user.* attributes are kept; overlay's own are not", async () => {
    const bb = readFileSync('/bin/busybox');
    // struct vfs_cap_data, revision 2, effective: permitted = CAP_CHOWN (bit 0)
    const capChown = Buffer.alloc(20);
    capChown.writeUInt32LE(0x02000001, 0);
    capChown.writeUInt32LE(1, 4);
    const archive = dockerSaveClassic([{
      tags: ['capimg:1'],
      config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      layers: [[
        { name: 'bin/', type: 'dir' },
        { name: 'bin/busybox', data: bb, mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'tmp/', type: 'dir', mode: 0o1777 },
        { name: 'usr/', type: 'dir' },
        { name: 'usr/local/', type: 'dir' },
        { name: 'usr/local/bin/', type: 'dir' },
        { name: 'usr/local/bin/chown', data: bb, mode: 0o755, xattrs: { 'security.capability': capChown, 'user.origin': Buffer.from('tsdocker-test') } },
        { name: 'usr/local/bin/plain', data: bb, mode: 0o755, xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } },
      ]],
    }]);
    const dir = mkdtempSync(join(tmpdir(), 'tsd-caps-'));
    try {
      writeFileSync(join(dir, 'caps.tar'), archive);
      const load = await tsd(['load', '-i', join(dir, 'caps.tar')]);
      expect(load.code, load.stderr).toBe(0);
      expect(load.stderr).toContain('trusted.overlay.opaque');
      // uid 1000 may chown to root only through the file capability
      const r = await tsd(['run', '--rm', '-u', '1000', 'capimg:1', 'sh', '-c', 'touch /tmp/f; /usr/local/bin/chown 0 /tmp/f && stat -c %u /tmp/f']);
      expect(r.stdout.trim(), r.stderr).toBe('0');
      const plain = await tsd(['run', '--rm', '-u', '1000', 'capimg:1', 'sh', '-c', 'touch /tmp/f; /bin/busybox chown 0 /tmp/f']);
      expect(plain.code).not.toBe(0);
      const layer = JSON.parse((await tsd(['image', 'inspect', 'capimg:1'].slice(1))).stdout)[0].GraphDriver.Data.LowerDir as string;
      const caps = await run(['getcap', join(layer, 'usr/local/bin/chown')]);
      expect(caps.stdout).toMatch(/cap_chown[=+]ep/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await tsd(['rmi', 'capimg:1']);
    }
  });
});

describe('network namespace sysctls (bug 8)', () => {
  it("Docker's ip_unprivileged_port_start 0 and ping_group_range '0 2147483647' in a container's own network namespace; not in host mode", async () => {
    const read = 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range';
    for (const net of ['bridge', 'none']) {
      const r = await tsd(['run', '--rm', '--network', net, 'busybox', 'sh', '-c', read]);
      expect(r.stdout, r.stderr).toBe('0\n0\t2147483647\n');
    }
    // a user without privileges binds port 80
    const bind = await tsd(['run', '--rm', '-u', '1000', 'busybox', 'sh', '-c', 'nc -l -p 80 & sleep 0.5; netstat -ltn | grep -c ":80 "; kill %1']);
    expect(bind.stdout.trim(), bind.stderr).toBe('1');
    const host = await tsd(['run', '--rm', '--network', 'host', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
    expect(host.stdout).toBe('1024\n');
  });
});

describe('hostname and resolv.conf by network mode (bugs 10, 11)', () => {
  it("bug 10: container:NAME takes the target's hostname", async () => {
    expect((await tsd(['run', '-d', '--name', 'tgt', '--hostname', 'tgthost', 'busybox', 'sleep', '60'])).code).toBe(0);
    const r = await tsd(['run', '--rm', '--network', 'container:tgt', 'busybox', 'sh', '-c', 'hostname; grep -c tgthost /etc/hosts']);
    expect(r.stdout, r.stderr).toBe('tgthost\n1\n');
    expect((await tsd(['rm', '-f', 'tgt'])).code).toBe(0);
  });

  it("bug 11: none and host get the host's resolv.conf, with --dns and --dns-search applied", async () => {
    const host = (await sb.sh(['cat', '/etc/resolv.conf'])).stdout;
    const resolved = (await sb.sh(['cat', '/run/systemd/resolve/resolv.conf'])).stdout;
    for (const net of ['none', 'host']) {
      const plain = (await tsd(['run', '--rm', '--network', net, 'busybox', 'cat', '/etc/resolv.conf'])).stdout;
      expect(plain.length).toBeGreaterThan(0);
      expect([host, resolved]).toContain(plain);
      const dns = await tsd(['run', '--rm', '--network', net, '--dns', '192.0.2.53', '--dns-search', 'example.test', 'busybox', 'cat', '/etc/resolv.conf']);
      expect(dns.stdout, dns.stderr).toMatch(/^nameserver 192\.0\.2\.53\nsearch example\.test\n/);
    }
  });
});

describe('mtab and cgroups inside (bug 14)', () => {
  it("/etc/mtab links to /proc/mounts; /sys/fs/cgroup shows the container's own limits, read-only", async () => {
    const v2 = detectLayout().mode === 'v2';
    const limitFile = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const r = await tsd(['run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', `readlink /etc/mtab; cat ${limitFile}; touch /sys/fs/cgroup/x 2>&1; echo 1 > ${limitFile} 2>&1 || echo refused`]);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0], r.stderr).toBe('/proc/mounts');
    expect(lines[1]).toBe(String(64 * 1024 * 1024));
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(lines[lines.length - 1]).toBe('refused');
    // privileged: writable, as Docker
    const p = await tsd(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', `test -w ${limitFile} && echo writable`]);
    expect(p.stdout.trim(), p.stderr).toBe('writable');
  });
});

describe('prune asks first (bug 15)', () => {
  it('container/network/volume prune print Docker\'s warning and do nothing unless "y"; -f skips the question', async () => {
    expect((await tsd(['create', '--name', 'stale', 'busybox', 'true'])).code).toBe(0);
    const no = await sb.tsd(['container', 'prune'], { input: 'n\n' });
    expect(no.code).toBe(0);
    expect(no.stdout).toBe('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    expect((await tsd(['ps', '-aq', '--filter', 'name=stale'])).stdout).not.toBe('');
    const eof = await sb.tsd(['container', 'prune'], { input: '' });
    expect(eof.code).toBe(0);
    expect((await tsd(['ps', '-aq', '--filter', 'name=stale'])).stdout).not.toBe('');
    const yes = await sb.tsd(['container', 'prune'], { input: 'y\n' });
    expect(yes.stdout).toMatch(/\[y\/N\] Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
    expect((await tsd(['ps', '-aq', '--filter', 'name=stale'])).stdout).toBe('');
    const net = await sb.tsd(['network', 'prune'], { input: 'N\n' });
    expect(net.stdout).toBe('WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    const vol = await sb.tsd(['volume', 'prune'], { input: '\n' });
    expect(vol.stdout).toBe('WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    expect((await tsd(['container', 'prune', '-f'])).stdout).toBe('Total reclaimed space: 0B\n');
  });
});

describe('publishing and names (bug 15)', () => {
  it('-p with an address the host does not have fails at start; -p on an --internal network publishes nothing; DNS answers NAME.NETWORK', async () => {
    const bad = await tsd(['run', '-d', '--name', 'badip', '-p', '192.0.2.77:8090:80', 'busybox', 'sleep', '30']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('Error starting userland proxy: listen tcp4 192.0.2.77:8090: bind: cannot assign requested address');
    await tsd(['rm', '-f', 'badip']);
    expect((await tsd(['network', 'create', '--internal', 'intn'])).code).toBe(0);
    expect((await tsd(['run', '-d', '--name', 'ip1', '--network', 'intn', '-p', '8091:80', 'busybox', 'sleep', '60'])).code).toBe(0);
    const port = await tsd(['port', 'ip1']);
    expect(port.code).toBe(0);
    expect(port.stdout).toBe('');
    // as docker ps: -p exposes 80/tcp, which is listed without a binding
    expect((await tsd(['ps', '--filter', 'name=ip1', '--format', '[{{.Ports}}]'])).stdout).toBe('[80/tcp]\n');
    expect((await tsd(['rm', '-f', 'ip1'])).code).toBe(0);
    expect((await tsd(['network', 'rm', 'intn'])).code).toBe(0);
    expect((await tsd(['network', 'create', 'dn'])).code).toBe(0);
    expect((await tsd(['run', '-d', '--name', 'dweb', '--network', 'dn', 'busybox', 'sleep', '60'])).code).toBe(0);
    const ip = (await tsd(['inspect', '-f', '{{.NetworkSettings.Networks.dn.IPAddress}}', 'dweb'])).stdout.trim();
    const q = await tsd(['run', '--rm', '--network', 'dn', 'busybox', 'nslookup', 'dweb.dn']);
    expect(q.stdout, q.stderr).toContain(`Address: ${ip}`);
    expect((await tsd(['rm', '-f', 'dweb'])).code).toBe(0);
    expect((await tsd(['network', 'rm', 'dn'])).code).toBe(0);
  });
});

describe("exit codes outside run (bug 16)", () => {
  it('1 for what Docker\'s daemon refuses, 125 for bad flags and for run', async () => {
    for (const args of [['logs', 'nosuch'], ['exec', 'nosuch', 'true'], ['port', 'nosuch'], ['network', 'inspect', 'nosuch'], ['network', 'rm', 'nosuch'], ['stop', 'nosuch'], ['start', 'nosuch'], ['inspect', 'nosuch'], ['rmi', 'nosuch'], ['volume', 'rm', 'nosuch']]) {
      const r = await tsd(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
    }
    expect((await tsd(['stop', '-t', 'abc', 'nosuch'])).code).toBe(125);
    expect((await tsd(['ps', '--no-such-flag'])).code).toBe(125);
    expect((await tsd(['run', '--rm', 'nosuchimage'])).code).toBe(125);
  });
});
