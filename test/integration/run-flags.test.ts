/**
 * `run`/`create` flags of Docker parity part 2 (issue 13): --init, and what follows. Expected
 * outputs are Docker 20.10's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { dockerSaveClassic } from '../helpers/archives.js';

let sb: Sandbox;
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await createSandbox('tsd-flags');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

async function inspect(ref: string): Promise<Record<string, any>> {
  return JSON.parse(await tsdOk(sb, ['inspect', ref]))[0];
}

async function until(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

/** Every process of a running container: "pid state cmdline", read from its /proc. */
async function procs(name: string): Promise<string[]> {
  const script = 'for p in /proc/[0-9]*; do [ "${p#/proc/}" = $$ ] && continue; ' +
    'c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); s=$(cut -d" " -f3 $p/stat 2>/dev/null); [ -n "$s" ] && echo "${p#/proc/} $s $c"; done';
  const out = await tsdOk(sb, ['exec', name, 'sh', '-c', script]);
  return out.split('\n').filter((l) => l && !l.includes('/proc/[0-9]'));
}

describe('--init', () => {
  it('runs the command under /sbin/docker-init as pid 1, the init mounted read-only', async () => {
    const r = await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c',
      'tr "\\0" " " < /proc/1/cmdline; echo; grep " /sbin/docker-init " /proc/mounts | cut -d" " -f4 | cut -d, -f1; echo x > /sbin/docker-init']);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      '/sbin/docker-init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; grep " /sbin/docker-init " /proc/mounts | cut -d" " -f4 | cut -d, -f1; echo x > /sbin/docker-init ',
      'ro',
    ]);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.code).toBe(1);
  });

  it('exits with the command status, 128+n when signal n killed it (pid 1 alone ignores it)', async () => {
    expect((await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    // the shell is not pid 1 under the init, so a signal without a handler kills it
    expect((await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -USR1 $$; exit 5'])).code).toBe(138);
    expect((await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'kill -USR1 $$; exit 5'])).code).toBe(5);
  });

  it('a command that does not exist: tini\'s message and 127', async () => {
    const r = await sb.tsd(['run', '--rm', '--init', 'busybox', 'nosuchcmd']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^\[FATAL tini \(\d+\)\] exec nosuchcmd failed: No such file or directory$/m);
  });

  it('forwards stop\'s SIGTERM to the command (sleep as pid 1 would ignore it and be killed: 137)', async () => {
    await tsdOk(sb, ['run', '-d', '--init', '--name', 'initsleep', 'busybox', 'sleep', '1000']);
    const c = await inspect('initsleep');
    expect(c.HostConfig.Init).toBe(true);
    expect([c.Path, c.Args]).toEqual(['sleep', ['1000']]);
    await tsdOk(sb, ['stop', '-t', '20', 'initsleep']);
    expect((await inspect('initsleep')).State.ExitCode).toBe(143);
    await tsdOk(sb, ['rm', 'initsleep']);
    await tsdOk(sb, ['create', '--name', 'noinit', 'busybox', 'true']);
    expect((await inspect('noinit')).HostConfig.Init).toBeUndefined();
    await tsdOk(sb, ['rm', 'noinit']);
  });

  it('reaps the orphans that come to pid 1; without it they stay zombies', async () => {
    // the inner shell leaves `sleep 1` behind: re-parented to pid 1, it exits a second later
    const cmd = ['sh', '-c', 'sh -c "sleep 1 &"; exec sleep 1000'];
    const orphanGone = async (name: string) => !(await procs(name)).some((l) => / [RSD] sleep 1 $/.test(l));
    await tsdOk(sb, ['run', '-d', '--init', '--name', 'reaper', 'busybox', ...cmd]);
    await tsdOk(sb, ['run', '-d', '--name', 'noreaper', 'busybox', ...cmd]);
    await until(() => orphanGone('reaper'));
    await until(() => orphanGone('noreaper'));
    expect((await procs('reaper')).map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      'S /sbin/docker-init -- sh -c sh -c "sleep 1 &"; exec sleep 1000 ',
      'S sleep 1000 ',
    ]);
    expect((await procs('noreaper')).map((l) => l.split(' ').slice(1).join(' '))).toEqual(['S sleep 1000 ', 'Z ']);
    await tsdOk(sb, ['rm', '-f', 'reaper', 'noreaper']);
  });
});

/** The sandbox host has IPv6 (an `lo` ::1), so a tcp -p is published on [::] too (net/ports.ts hostHasIpv6). */
async function sandboxIpv6(): Promise<boolean> {
  return /^0{31}1 /m.test((await sb.sh(['cat', '/proc/net/if_inet6'])).stdout);
}

/** A one-layer image of the host's static busybox with this config. */
async function loadImage(tag: string, config: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-flagimg-'));
  try {
    const bb = readFileSync('/bin/busybox');
    const links = ['sh', 'sleep', 'nc', 'cat', 'echo'].map((n) => ({ name: `bin/${n}`, type: 'symlink' as const, linkname: 'busybox' }));
    writeFileSync(join(dir, 'img.tar'), dockerSaveClassic([{
      tags: [tag],
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], ...config },
      layers: [[{ name: 'bin/', type: 'dir' }, { name: 'bin/busybox', data: bb, mode: 0o755 }, ...links]],
    }]));
    await tsdOk(sb, ['load', '-i', join(dir, 'img.tar')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('-P, --expose and the image\'s EXPOSE', () => {
  beforeAll(async () => {
    await loadImage('exposed:1', { ExposedPorts: { '80/tcp': {}, '53/udp': {} } });
    // the sandbox's own ephemeral range, where -P picks host ports (as Docker reads it)
    await sb.sh(['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40010']);
  });

  it('Config.ExposedPorts merges EXPOSE, --expose (ranges) and -p; ps shows the unpublished ones', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'ex', '--expose', '8000-8002', '--expose', '7/udp', '-p', '9090:90', 'exposed:1', 'sleep', '1000']);
    const c = await inspect('ex');
    expect(Object.keys(c.Config.ExposedPorts)).toEqual(['53/udp', '7/udp', '80/tcp', '8000/tcp', '8001/tcp', '8002/tcp', '90/tcp']);
    expect(c.HostConfig.PublishAllPorts).toBe(false);
    // docker/cli's DisplayablePorts: a port that breaks its protocol's run closes that run at once,
    // the last run of each protocol comes at the end, in the order the protocols first appeared
    const v6 = await sandboxIpv6();
    expect(await tsdOk(sb, ['ps', '--filter', 'name=ex', '--format', '{{.Ports}}'])).toBe(`7/udp, 80/tcp, 53/udp, 8000-8002/tcp, 0.0.0.0:9090->90/tcp${v6 ? ', :::9090->90/tcp' : ''}\n`);
    expect(await tsdOk(sb, ['port', 'ex'])).toBe(`90/tcp -> 0.0.0.0:9090\n${v6 ? '90/tcp -> :::9090\n' : ''}`);
    await tsdOk(sb, ['rm', '-f', 'ex']);
    const bad = await sb.tsd(['create', '--expose', '80:80', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('invalid port format for --expose: 80:80')]);
    const range = await sb.tsd(['create', '--expose', '90-80', 'busybox']);
    expect([range.code, range.stderr]).toEqual([125, expect.stringContaining('invalid range format for --expose: 90-80, error: Invalid range specified for the Port: 90-80')]);
  });

  it('-P publishes every exposed port -p does not bind, from the ephemeral range, and they answer', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'pa', '-P', '--expose', '8080', '-p', '40005:80', 'exposed:1',
      'sh', '-c', 'while :; do echo hi | nc -l -p 8080; done']);
    const c = await inspect('pa');
    expect(c.HostConfig.PublishAllPorts).toBe(true);
    // a tcp port is published on [::] too where the host has IPv6, as -p CONTAINERPORT (Docker 20.10); udp on IPv4
    const v6 = await sandboxIpv6();
    const six = (port: string) => (v6 ? [{ HostIp: '::', HostPort: port }] : []);
    expect(c.NetworkSettings.Ports).toEqual({
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '40000' }],
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '40005' }, ...six('40005')],
      '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '40000' }, ...six('40000')],
    });
    expect((await tsdOk(sb, ['port', 'pa'])).split('\n').filter(Boolean).sort()).toEqual([
      '53/udp -> 0.0.0.0:40000', '80/tcp -> 0.0.0.0:40005', ...(v6 ? ['80/tcp -> :::40005'] : []),
      '8080/tcp -> 0.0.0.0:40000', ...(v6 ? ['8080/tcp -> :::40000'] : []),
    ]);
    expect((await tsdOk(sb, ['port', 'pa', '8080'])).split('\n')[0]).toBe('0.0.0.0:40000');
    expect(await tsdOk(sb, ['ps', '--filter', 'name=pa', '--format', '{{.Ports}}'])).toBe(
      `0.0.0.0:40000->53/udp, 0.0.0.0:40005->80/tcp, ${v6 ? ':::40005->80/tcp, ' : ''}0.0.0.0:40000->8080/tcp${v6 ? ', :::40000->8080/tcp' : ''}\n`);
    let got = '';
    await until(async () => (got = (await sb.sh(['busybox', 'nc', '-w', '2', '127.0.0.1', '40000'])).stdout) === 'hi\n');
    expect(got).toBe('hi\n');
    // the next -P takes the next free port
    await tsdOk(sb, ['run', '-d', '--name', 'pb', '-P', 'exposed:1', 'sleep', '1000']);
    expect((await tsdOk(sb, ['port', 'pb', '80'])).split('\n')[0]).toBe('0.0.0.0:40001');
    await tsdOk(sb, ['rm', '-f', 'pa', 'pb']);
  });

  it('-P with --network container:X is refused, as Docker does', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'host1', 'busybox', 'sleep', '1000']);
    const r = await sb.tsd(['create', '-P', '--network', 'container:host1', 'exposed:1']);
    expect([r.code, r.stderr]).toEqual([125, expect.stringContaining('conflicting options: port publishing and the container type network mode')]);
    await tsdOk(sb, ['rm', '-f', 'host1']);
  });
});

describe('--pid, --ipc, --uts, --cgroupns, --shm-size', () => {
  const out = async (args: string[]) => (await tsdOk(sb, ['run', '--rm', ...args])).trim();

  it('--pid host sees the host\'s processes; container:X shares X\'s, only while X runs', async () => {
    expect(await out(['busybox', 'sh', '-c', 'echo $$'])).toBe('1');
    const [self, init] = (await out(['--pid', 'host', 'busybox', 'sh', '-c', 'echo $$; cat /proc/1/comm'])).split('\n');
    expect(self).not.toBe('1');
    expect(init).toBe(readFileSync('/proc/1/comm', 'utf8').trim());
    await tsdOk(sb, ['run', '-d', '--name', 'pidx', 'busybox', 'sleep', '1000']);
    expect(await out(['--pid', 'container:pidx', 'busybox', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'])).toBe('sleep 1000');
    await tsdOk(sb, ['create', '--name', 'pidj', '--pid', 'container:pidx', 'busybox', 'true']);
    expect((await inspect('pidj')).HostConfig.PidMode).toBe('container:pidx');
    await tsdOk(sb, ['kill', 'pidx']);
    const r = await sb.tsd(['start', 'pidj']);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('cannot join PID of a non running container: pidx')]);
    await tsdOk(sb, ['rm', '-f', 'pidx', 'pidj']);
    const bad = await sb.tsd(['create', '--pid', 'nope', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('--pid: invalid PID mode')]);
  });

  it('--pid host: what the command leaves behind ends with it (runc kills the cgroup), and rm works', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'phost', '--pid', 'host', 'busybox', 'sh', '-c', 'sleep 1000 & echo $!']);
    let pid = 0;
    try {
      await until(async () => (pid = Number((await tsdOk(sb, ['logs', 'phost'])).trim())) > 0);
      await until(async () => (await tsdOk(sb, ['inspect', '-f', '{{.State.Status}}', 'phost'])).trim() === 'exited');
      await until(async () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
      await tsdOk(sb, ['rm', 'phost']);
    } finally {
      // the test's own leftover, should the behaviour be broken: never left running
      if (pid > 0 && existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u00001000\u0000') process.kill(pid, 'SIGKILL');
    }
  });

  it('--ipc shareable lends its /dev/shm and IPC namespace to container:X; private does not; host; none', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'ipcx', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo hello > /dev/shm/f; exec sleep 1000']);
    expect((await inspect('ipcx')).HostConfig.IpcMode).toBe('shareable');
    await until(async () => (await sb.tsd(['exec', 'ipcx', 'cat', '/dev/shm/f'])).stdout === 'hello\n');
    const donorNs = (await tsdOk(sb, ['exec', 'ipcx', 'readlink', '/proc/1/ns/ipc'])).trim();
    expect(await out(['--ipc', 'container:ipcx', 'busybox', 'sh', '-c', 'cat /dev/shm/f; readlink /proc/self/ns/ipc'])).toBe(`hello\n${donorNs}`);
    await tsdOk(sb, ['run', '-d', '--name', 'ipcp', 'busybox', 'sleep', '1000']);
    expect((await inspect('ipcp')).HostConfig.IpcMode).toBe('private');
    const r = await sb.tsd(['run', '--rm', '--ipc', 'container:ipcp', 'busybox', 'true']);
    expect([r.code, r.stderr]).toEqual([125, expect.stringContaining('non-shareable IPC (hint: use IpcMode:shareable for the donor container)')]);
    expect(await out(['--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc'])).toBe(readlinkSync('/proc/self/ns/ipc'));
    const none = await sb.tsd(['run', '--rm', '--ipc', 'none', 'busybox', 'ls', '/dev/shm']);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('No such file or directory')]);
    await tsdOk(sb, ['rm', '-f', 'ipcx', 'ipcp']);
    // the shareable /dev/shm went with its container
    expect((await sb.sh(['grep', '-c', ' shm ', '/proc/self/mounts'])).stdout.trim()).toBe('0');
  });

  it('--shm-size sizes /dev/shm (Docker\'s default 64m)', async () => {
    expect(await out(['busybox', 'grep', ' /dev/shm ', '/proc/mounts'])).toBe('shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0');
    expect(await out(['--shm-size', '128m', 'busybox', 'grep', ' /dev/shm ', '/proc/mounts'])).toBe('shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=131072k 0 0');
    await tsdOk(sb, ['create', '--name', 'shm1', '--shm-size', '128m', 'busybox']);
    await tsdOk(sb, ['create', '--name', 'shm2', 'busybox']);
    expect([(await inspect('shm1')).HostConfig.ShmSize, (await inspect('shm2')).HostConfig.ShmSize]).toEqual([134217728, 67108864]);
    await tsdOk(sb, ['rm', 'shm1', 'shm2']);
  });

  it('--uts host keeps the host\'s hostname (and refuses -h); --cgroupns host shows the host\'s cgroup paths', async () => {
    expect(await out(['--uts', 'host', 'busybox', 'hostname'])).toBe(hostname());
    expect(hostname()).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
    const r = await sb.tsd(['create', '--uts', 'host', '-h', 'x', 'busybox']);
    expect([r.code, r.stderr]).toEqual([125, expect.stringContaining('conflicting options: hostname and the UTS mode')]);
    const own = (await out(['busybox', 'cat', '/proc/self/cgroup'])).split('\n');
    expect(own.every((l) => l.endsWith(':/'))).toBe(true);
    const id = (await tsdOk(sb, ['run', '-d', '--cgroupns', 'host', 'busybox', 'sleep', '1000'])).trim();
    expect((await inspect(id)).HostConfig.CgroupnsMode).toBe('host');
    const host = (await tsdOk(sb, ['exec', id, 'cat', '/proc/1/cgroup'])).trim().split('\n');
    expect(host.filter((l) => l.endsWith(`/${id}`)).length).toBeGreaterThan(0);
    await tsdOk(sb, ['rm', '-f', id]);
    const bad = await sb.tsd(['create', '--cgroupns', 'nope', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('--cgroupns: invalid CGROUP mode')]);
  });
});

describe('--sysctl, --device, --group-add, --domainname, --mac-address, -q, --platform', () => {
  const out = async (args: string[]) => (await tsdOk(sb, ['run', '--rm', ...args])).trim();

  it('--sysctl sets namespaced ones, refuses others with Docker\'s message', async () => {
    expect(await out(['--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmax=1048576', 'busybox', 'sh', '-c',
      'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'])).toBe('1\n1048576');
    // the user's value wins over Docker's own default in a new network namespace
    expect(await out(['--sysctl', 'net.ipv4.ping_group_range=0 0', 'busybox', 'cat', '/proc/sys/net/ipv4/ping_group_range'])).toBe('0\t0');
    await tsdOk(sb, ['create', '--name', 'sysc', '--sysctl', 'net.core.somaxconn=1024', 'busybox']);
    expect((await inspect('sysc')).HostConfig.Sysctls).toEqual({ 'net.core.somaxconn': '1024' });
    await tsdOk(sb, ['rm', 'sysc']);
    const bad = await sb.tsd(['create', '--sysctl', 'kernel.hostname=x', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining(`invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl 'kernel.hostname=x' is not whitelisted`)]);
    const host = await sb.tsd(['create', '--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1', 'busybox']);
    expect([host.code, host.stderr]).toEqual([125, expect.stringContaining('sysctl "net.ipv4.ip_forward" not allowed in host network namespace')]);
  });

  it('--device makes the node with the host\'s numbers; a cgroup v1 rule lets it be opened', async () => {
    const st = statSync('/dev/fuse');
    const want = `c ${(st.rdev >> 8) & 0xfff}:${st.rdev & 0xff}`;
    expect(await out(['--device', '/dev/fuse', 'busybox', 'sh', '-c', 'ls -l /dev/fuse | cut -c1; stat -c "%t %T" /dev/fuse'])).toBe(
      `c\n${((st.rdev >> 8) & 0xfff).toString(16)} ${(st.rdev & 0xff).toString(16)}`);
    expect(await out(['--device', '/dev/fuse:/dev/myfuse:rw', 'busybox', 'ls', '/dev/myfuse'])).toBe('/dev/myfuse');
    if (existsSync('/sys/fs/cgroup/devices')) {
      // opening /dev/fuse: allowed by the rule it brings (EINVAL from fuse itself without a mount), refused without (EPERM)
      const id = (await tsdOk(sb, ['run', '-d', '--device', '/dev/fuse', 'busybox', 'sleep', '1000'])).trim();
      const rules = (await tsdOk(sb, ['exec', id, 'cat', '/sys/fs/cgroup/devices/devices.list'])).split('\n');
      expect(rules).toContain(`${want} rwm`);
      await tsdOk(sb, ['rm', '-f', id]);
      const without = await sb.tsd(['run', '--rm', '--cap-add', 'MKNOD', 'busybox', 'sh', '-c', `mknod /dev/f c ${(st.rdev >> 8) & 0xfff} ${st.rdev & 0xff} && cat /dev/f`]);
      expect(without.stderr).toMatch(/Operation not permitted/);
    }
    await tsdOk(sb, ['create', '--name', 'dev1', '--device', '/dev/fuse:/dev/f2:r', 'busybox']);
    expect((await inspect('dev1')).HostConfig.Devices).toEqual([{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/f2', CgroupPermissions: 'r' }]);
    await tsdOk(sb, ['rm', 'dev1']);
    const missing = await sb.tsd(['create', '--device', '/dev/nosuch', 'busybox']);
    expect([missing.code, missing.stderr]).toEqual([125, expect.stringContaining('error gathering device information while adding custom device "/dev/nosuch": no such file or directory')]);
  });

  it('--group-add adds groups by gid or by the image\'s names', async () => {
    // busybox's /etc/group: daemon is gid 1; root is in wheel (10) of its own; the kernel sorts the list
    expect(await out(['busybox', 'id', '-G'])).toBe('0 10');
    expect(await out(['--group-add', '1234', '--group-add', 'daemon', 'busybox', 'id', '-G'])).toBe('0 1 10 1234');
    const bad = await sb.tsd(['create', '--group-add', 'nosuchgroup', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('Unable to find group nosuchgroup: no matching entries in group file')]);
  });

  it('--domainname sets the NIS domain name (Config.Domainname); the host\'s stays', async () => {
    const hostDomain = readFileSync('/proc/sys/kernel/domainname', 'utf8');
    expect(await out(['--domainname', 'example.test', 'busybox', 'cat', '/proc/sys/kernel/domainname'])).toBe('example.test');
    expect(readFileSync('/proc/sys/kernel/domainname', 'utf8')).toBe(hostDomain);
    await tsdOk(sb, ['create', '--name', 'dom', '--domainname', 'example.test', 'busybox']);
    expect((await inspect('dom')).Config.Domainname).toBe('example.test');
    await tsdOk(sb, ['rm', 'dom']);
  });

  it('--mac-address: the interface has it, the port guard lets its traffic through, inspect shows it', async () => {
    const id = (await tsdOk(sb, ['run', '-d', '--mac-address', '02:42:AC:11:00:99', 'busybox', 'sleep', '1000'])).trim();
    expect((await tsdOk(sb, ['exec', id, 'cat', '/sys/class/net/eth0/address'])).trim()).toBe('02:42:ac:11:00:99');
    const c = await inspect(id);
    expect([c.Config.MacAddress, c.NetworkSettings.MacAddress]).toEqual(['02:42:AC:11:00:99', '02:42:ac:11:00:99']);
    const ping = await sb.tsd(['exec', id, 'ping', '-c', '1', '-W', '5', c.NetworkSettings.Gateway]);
    expect([ping.code, ping.stdout]).toEqual([0, expect.stringContaining('1 packets received')]);
    await tsdOk(sb, ['rm', '-f', id]);
    const bad = await sb.tsd(['create', '--mac-address', 'zz', 'busybox']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('zz is not a valid mac address')]);
    const host = await sb.tsd(['create', '--network', 'host', '--mac-address', '02:42:ac:11:00:99', 'busybox']);
    expect([host.code, host.stderr]).toEqual([125, expect.stringContaining('conflicting options: mac-address and the network mode')]);
  });

  it('--platform refuses an image of another platform, as Docker 20.10; -q is accepted', async () => {
    const r = await sb.tsd(['run', '--rm', '--pull', 'never', '--platform', 'linux/arm64', 'busybox', 'true']);
    expect([r.code, r.stderr]).toEqual([125, expect.stringContaining('image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64')]);
    expect(await out(['-q', '--platform', 'linux/amd64', 'busybox', 'echo', 'ok'])).toBe('ok');
  });
});

describe.runIf(existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes'))('resource flags and update (cgroup v1: this host)', () => {
  const cg = async (name: string, file: string) => (await tsdOk(sb, ['exec', name, 'cat', `/sys/fs/cgroup/${file}`])).trim();

  it('--memory-reservation, --cpu-quota, --cpu-period, --oom-score-adj, --oom-kill-disable reach the kernel and inspect', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'res', '-m', '64m', '--memory-reservation', '32m', '--cpu-quota', '50000', '--cpu-period', '200000',
      '--oom-score-adj', '500', '--oom-kill-disable', 'busybox', 'sleep', '1000']);
    expect(await cg('res', 'memory/memory.soft_limit_in_bytes')).toBe(String(32 << 20));
    expect(await cg('res', 'memory/memory.oom_control')).toMatch(/^oom_kill_disable 1$/m);
    expect(await cg('res', 'cpu/cpu.cfs_quota_us')).toBe('50000');
    expect(await cg('res', 'cpu/cpu.cfs_period_us')).toBe('200000');
    expect((await tsdOk(sb, ['exec', 'res', 'cat', '/proc/1/oom_score_adj'])).trim()).toBe('500');
    const h = (await inspect('res')).HostConfig;
    expect([h.Memory, h.MemoryReservation, h.CpuQuota, h.CpuPeriod, h.OomScoreAdj, h.OomKillDisable, h.NanoCpus]).toEqual([64 << 20, 32 << 20, 50000, 200000, 500, true, 0]);
  });

  it('update changes a running container\'s cgroup and its record; a stopped one gets them at its next start', async () => {
    expect(await tsdOk(sb, ['update', '-m', '128m', '--memory-reservation', '64m', '--cpu-quota', '30000', '--pids-limit', '50', '-c', '512', 'res'])).toBe('res\n');
    expect(await cg('res', 'memory/memory.limit_in_bytes')).toBe(String(128 << 20));
    expect(await cg('res', 'memory/memory.memsw.limit_in_bytes')).toBe(String(256 << 20)); // Docker's default swap follows
    expect(await cg('res', 'memory/memory.soft_limit_in_bytes')).toBe(String(64 << 20));
    expect(await cg('res', 'cpu/cpu.cfs_quota_us')).toBe('30000');
    expect(await cg('res', 'cpu/cpu.shares')).toBe('512');
    expect(await cg('res', 'pids/pids.max')).toBe('50');
    const h = (await inspect('res')).HostConfig;
    expect([h.Memory, h.MemoryReservation, h.CpuQuota, h.CpuPeriod, h.CpuShares, h.PidsLimit]).toEqual([128 << 20, 64 << 20, 30000, 200000, 512, 50]);
    // a limit above the current memory+swap limit (256m) needs that one first; lowering works too
    await tsdOk(sb, ['update', '-m', '512m', 'res']);
    expect(await cg('res', 'memory/memory.limit_in_bytes')).toBe(String(512 << 20));
    await tsdOk(sb, ['update', '-m', '80m', '--memory-reservation', '16m', 'res']);
    expect([await cg('res', 'memory/memory.limit_in_bytes'), await cg('res', 'memory/memory.memsw.limit_in_bytes')]).toEqual([String(80 << 20), String(160 << 20)]);
    const under = await sb.tsd(['update', '-m', '8m', '--memory-reservation', '64m', 'res']);
    expect([under.code, under.stderr]).toEqual([1, expect.stringContaining('Minimum memory limit can not be less than memory reservation limit')]);
    const conflict = await sb.tsd(['update', '--cpus', '1', 'res']);
    expect([conflict.code, conflict.stderr]).toEqual([1, expect.stringContaining('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set')]);
    await tsdOk(sb, ['stop', '-t', '0', 'res']);
    await tsdOk(sb, ['update', '--pids-limit', '77', 'res']);
    expect((await inspect('res')).HostConfig.PidsLimit).toBe(77);
    await tsdOk(sb, ['start', 'res']);
    expect(await cg('res', 'pids/pids.max')).toBe('77');
    await tsdOk(sb, ['rm', '-f', 'res']);
    const none = await sb.tsd(['update', 'nosuch']);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('you must provide one or more flags when using this command')]);
  });

  it('bad values: the daemon\'s messages, exit 125', async () => {
    const cases: [string[], string][] = [
      [['--cpu-period', '10'], 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)'],
      [['--cpu-quota', '10'], 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
      [['--cpus', '1', '--cpu-quota', '50000'], 'Conflicting options: Nano CPUs and CPU Quota cannot both be set'],
      [['--oom-score-adj', '2000'], 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
      [['-m', '32m', '--memory-reservation', '64m'], 'Minimum memory limit can not be less than memory reservation limit, see usage'],
    ];
    for (const [flags, msg] of cases) {
      const r = await sb.tsd(['create', ...flags, 'busybox']);
      expect([r.code, r.stderr]).toEqual([125, expect.stringContaining(msg)]);
    }
  });
});

describe('--volumes-from and --link', () => {
  const out = async (args: string[]) => (await tsdOk(sb, ['run', '--rm', ...args])).trim();

  it('--volumes-from takes X\'s volumes and binds, ro/rw as asked, its own -v first', async () => {
    const bind = mkdtempSync(join(tmpdir(), 'tsd-vfrom-'));
    try {
      writeFileSync(join(bind, 'f'), 'from the host\n');
      await tsdOk(sb, ['run', '--name', 'vsrc', '-v', 'vfdata:/data', '-v', `${bind}:/b:ro`, '-v', '/anon', 'busybox', 'sh', '-c', 'echo in the volume > /data/x; echo anon > /anon/y']);
      expect(await out(['--volumes-from', 'vsrc', 'busybox', 'cat', '/data/x', '/b/f', '/anon/y'])).toBe('in the volume\nfrom the host\nanon');
      // X's mode kept (the bind is ro), or forced by :ro
      const rw = await sb.tsd(['run', '--rm', '--volumes-from', 'vsrc', 'busybox', 'sh', '-c', 'touch /data/ok && touch /b/no']);
      expect([rw.code, rw.stderr]).toEqual([1, expect.stringContaining('touch: /b/no: Read-only file system')]);
      const ro = await sb.tsd(['run', '--rm', '--volumes-from', 'vsrc:ro', 'busybox', 'touch', '/data/no']);
      expect([ro.code, ro.stderr]).toEqual([1, expect.stringContaining('Read-only file system')]);
      expect(await out(['--volumes-from', 'vsrc', '-v', 'other:/data', 'busybox', 'ls', '/data'])).toBe('');
      await tsdOk(sb, ['create', '--name', 'vto', '--volumes-from', 'vsrc:ro', 'busybox']);
      expect((await inspect('vto')).HostConfig.VolumesFrom).toEqual(['vsrc:ro']);
      await tsdOk(sb, ['rm', '-v', 'vto', 'vsrc']);
      const missing = await sb.tsd(['create', '--volumes-from', 'nosuch', 'busybox']);
      expect([missing.code, missing.stderr]).toEqual([125, expect.stringContaining('No such container: nosuch')]);
    } finally {
      rmSync(bind, { recursive: true, force: true });
      await sb.tsd(['volume', 'rm', 'vfdata', 'other']);
    }
  });

  it('--link: the /etc/hosts line and the variables Docker sets, default bridge only', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'ldb', '-h', 'dbhost', '-e', 'SECRET=s1', '--expose', '5432', '--expose', '53/udp', 'busybox', 'sleep', '1000']);
    const ip = (await inspect('ldb')).NetworkSettings.IPAddress;
    const hosts = await out(['--name', 'lweb', '--link', 'ldb:db', 'busybox', 'cat', '/etc/hosts']);
    expect(hosts.split('\n')).toContain(`${ip}\tdb dbhost ldb`);
    const env = (await out(['--name', 'lweb', '--link', 'ldb:db', 'busybox', 'env'])).split('\n').filter((l) => l.startsWith('DB_')).sort();
    expect(env).toEqual([
      'DB_ENV_SECRET=s1',
      'DB_NAME=/lweb/db',
      `DB_PORT=tcp://${ip}:5432`,
      `DB_PORT_53_UDP=udp://${ip}:53`,
      `DB_PORT_53_UDP_ADDR=${ip}`,
      'DB_PORT_53_UDP_PORT=53',
      'DB_PORT_53_UDP_PROTO=udp',
      `DB_PORT_5432_TCP=tcp://${ip}:5432`,
      `DB_PORT_5432_TCP_ADDR=${ip}`,
      'DB_PORT_5432_TCP_PORT=5432',
      'DB_PORT_5432_TCP_PROTO=tcp',
    ]);
    // no alias: the name itself, given once
    expect((await out(['--link', 'ldb', 'busybox', 'cat', '/etc/hosts'])).split('\n')).toContain(`${ip}\tldb dbhost`);
    await tsdOk(sb, ['create', '--name', 'lc', '--link', 'ldb:db', 'busybox', 'true']);
    expect((await inspect('lc')).HostConfig.Links).toEqual(['/ldb:/lc/db']);
    await tsdOk(sb, ['kill', 'ldb']);
    const stopped = await sb.tsd(['start', 'lc']);
    expect([stopped.code, stopped.stderr]).toEqual([1, expect.stringContaining('Cannot link to a non running container: /ldb AS /lc/db')]);
    await tsdOk(sb, ['rm', '-f', 'ldb', 'lc']);
    const none = await sb.tsd(['create', '--link', 'nosuch:x', 'busybox']);
    expect([none.code, none.stderr]).toEqual([125, expect.stringContaining('Could not get container for nosuch')]);
    const host = await sb.tsd(['create', '--network', 'host', '--link', 'x:y', 'busybox']);
    expect(host.stderr).toContain("conflicting options: host type networking can't be used with links");
  });
});
