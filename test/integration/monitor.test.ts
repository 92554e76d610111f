/**
 * tsdocker-monitor against the real kernel, driven through startMonitor (no CLI). Every
 * container gets new mount, pid, uts, ipc and network namespaces, so nothing touches the
 * host; each test waits until its monitor and container are gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMonitor, type MonitorHandle } from '../../src/runtime/monitor.js';
import { CLONE, type ContainerSpec } from '../../src/runtime/spec.js';
import { capMask, DEFAULT_CAPS } from '../../src/runtime/caps.js';
import { defaultDevices, defaultMounts, defaultSymlinks, maskedPaths, readonlyPaths } from '../../src/rootfs/mounts.js';
import { TsdError } from '../../src/sys/errors.js';
import { closeFd, socketpair, spawnDetached } from '../../src/native/index.js';
import { monitorPath } from '../../src/native/paths.js';
import net from 'node:net';

const isRoot = process.getuid?.() === 0;
let work: string;
let lower: string;
const live: { handle: MonitorHandle; pid?: number }[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms; t += 10) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** A busybox root: /bin/busybox plus one symlink per applet, and the usual empty dirs. */
function makeLower(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  for (const d of ['proc', 'dev', 'sys', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'root'), 0o700);
  writeFileSync(join(dir, 'etc', 'notexec'), '#!/bin/sh\necho no\n', { mode: 0o644 });
}

function containerSpec(dir: string, args: string[], over: Partial<ContainerSpec> = {}): ContainerSpec {
  for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(dir, d), { recursive: true });
  return {
    id: 'f'.repeat(64),
    cloneFlags: CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET,
    rootfs: join(dir, 'rootfs'),
    overlay: { lower: [lower], upper: join(dir, 'upper'), work: join(dir, 'work') },
    mounts: defaultMounts(),
    devices: defaultDevices(),
    symlinks: defaultSymlinks(),
    masked: maskedPaths(),
    readonly: readonlyPaths(),
    hostname: 'box',
    loopback: true,
    cwd: '/',
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
    args,
    caps: capMask(DEFAULT_CAPS),
    noNewPrivileges: true,
    exitPath: join(dir, 'exit.json'),
    ...over,
  };
}

interface Started {
  handle: MonitorHandle;
  dir: string;
  out: string;
  err: string;
  pid: number;
}

/** Start a container with stdout/stderr in files; resolves once the command runs. */
async function start(args: string[], over: Partial<ContainerSpec> = {}, beforeGo?: (h: MonitorHandle) => void): Promise<Started> {
  const dir = mkdtempSync(join(work, 'c-'));
  const outPath = join(dir, 'out');
  const errPath = join(dir, 'err');
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  let handle: MonitorHandle;
  try {
    handle = await startMonitor({ spec: containerSpec(dir, args, over), specPath: join(dir, 'spec'), mode: 'run', stdio: [-1, out, err] });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const entry: { handle: MonitorHandle; pid?: number } = { handle };
  live.push(entry);
  const pid = await handle.pid;
  entry.pid = pid;
  beforeGo?.(handle);
  handle.go();
  await handle.started;
  return { handle, dir, out: outPath, err: errPath, pid };
}

async function run(args: string[], over: Partial<ContainerSpec> = {}): Promise<{ code: number; stdout: string; stderr: string; dir: string }> {
  const s = await start(args, over);
  const code = await s.handle.exit;
  s.handle.ack();
  expect(await waitGone(s.handle.monitorPid)).toBe(true);
  return { code, stdout: readFileSync(s.out, 'utf8'), stderr: readFileSync(s.err, 'utf8'), dir: s.dir };
}

async function startError(args: string[], over: Partial<ContainerSpec> = {}): Promise<TsdError> {
  try {
    await start(args, over);
  } catch (e) {
    return e as TsdError;
  }
  throw new Error('the container started');
}

describe.skipIf(!isRoot)('tsdocker-monitor', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', join(import.meta.dirname, '..', '..', 'native')]);
    work = mkdtempSync(join(tmpdir(), 'tsd-monitor-'));
    lower = join(work, 'lower');
    makeLower(lower);
  });

  afterEach(async () => {
    for (const { handle, pid } of live.splice(0)) {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      handle.detach(); // EOF: the monitor records the exit and leaves
      if (!(await waitGone(handle.monitorPid, 3000))) {
        process.kill(handle.monitorPid, 'SIGKILL');
        await waitGone(handle.monitorPid);
      }
      if (pid) expect(alive(pid)).toBe(false);
    }
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs the command as pid 1 with its own hostname, mounts and network', async () => {
    const r = await run(['sh', '-c', 'echo $$; hostname; ip -o link | cut -d: -f2; wc -l < /proc/self/mountinfo; head -1 /proc/self/mountinfo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [pid, host, links, nmounts, first] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(host).toBe('box');
    expect(links!.trim()).toBe('lo');
    expect(Number(nmounts)).toBeLessThan(30);
    expect(first).toMatch(/ \/ \/ .* - overlay /);
    const lo = await run(['cat', '/sys/class/net/lo/operstate', '/sys/class/net/lo/flags']);
    expect(lo.stdout.split('\n')[1]).toMatch(/^0x\d*9$/); // IFF_UP | IFF_LOOPBACK
    const rec = JSON.parse(readFileSync(join(r.dir, 'exit.json'), 'utf8'));
    expect(rec).toMatchObject({ exitCode: 0, signal: null });
    expect(rec.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('reports exit codes, 128+n for a signal, and forwards signals it receives', async () => {
    expect((await run(['sh', '-c', 'exit 3'])).code).toBe(3);

    const killed = await start(['sleep', '30']);
    process.kill(killed.pid, 'SIGKILL');
    expect(await killed.handle.exit).toBe(137);
    killed.handle.ack();
    expect(JSON.parse(readFileSync(join(killed.dir, 'exit.json'), 'utf8'))).toMatchObject({ exitCode: 137, signal: 9 });

    const trapped = await start(['sh', '-c', 'trap "exit 7" TERM; echo ready; while true; do sleep 0.05; done']);
    for (let i = 0; i < 200 && !readFileSync(trapped.out, 'utf8').includes('ready'); i++) await new Promise((r) => setTimeout(r, 10));
    process.kill(trapped.handle.monitorPid, 'SIGTERM');
    expect(await trapped.handle.exit).toBe(7);
    trapped.handle.ack();
  });

  it('fails with 127 for a missing command and 126 for one it cannot run, leaving nothing behind', async () => {
    const nf = await startError(['nope']);
    expect(nf).toBeInstanceOf(TsdError);
    expect(nf.exitCode).toBe(127);
    expect(nf.message).toBe('exec "nope": executable file not found in $PATH');
    const ne = await startError(['/etc/notexec']);
    expect(ne.exitCode).toBe(126);
    expect(ne.message).toMatch(/exec "\/etc\/notexec": permission denied/);
    const dir = await startError(['/etc']);
    expect(dir.exitCode).toBe(126);
    for (const { handle, pid } of live) {
      expect(await waitGone(handle.monitorPid)).toBe(true);
      expect(alive(pid!)).toBe(false);
    }
  });

  it('reports a setup failure as 125 with the syscall and errno', async () => {
    const e = await startError(['true'], { overlay: { lower: [join(work, 'missing')], upper: join(work, 'u'), work: join(work, 'w') } });
    expect(e.exitCode).toBe(125);
    expect(e.message).toMatch(/mount overlay on .*rootfs: ENOENT/);
  });

  it("masks Docker's paths, makes /proc/sys read-only, and keeps only the default capabilities", async () => {
    const r = await run([
      'sh',
      '-c',
      'wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; ' +
        'echo x > /proc/sys/kernel/domainname && echo WROTE; echo x > /proc/sysrq-trigger || true; grep -E "^(Cap|NoNewPrivs)" /proc/self/status',
    ]);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['0', '0', '0']);
    expect(r.stdout).not.toContain('WROTE');
    expect(r.stderr).toMatch(/domainname: Read-only file system/);
    const status = Object.fromEntries(lines.slice(3).map((l) => l.split(/:\s+/) as [string, string]));
    expect(status.CapBnd).toBe('00000000a80425fb');
    expect(status.CapEff).toBe('00000000a80425fb');
    expect(status.CapPrm).toBe('00000000a80425fb');
    expect(status.CapInh).toBe('0000000000000000');
    expect(status.CapAmb).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('1');
  });

  it('runs as another user with an empty effective set, and honours rlimits and rootfs_ro', async () => {
    const r = await run(['sh', '-c', 'id -u; id -g; id -G; grep CapEff /proc/self/status; ulimit -n; touch /x 2>&1 || echo RO; pwd'], {
      user: { uid: 1000, gid: 1000, groups: [1000, 5] },
      rlimits: [{ resource: 7, soft: 123, hard: 456 }],
      rootfsReadonly: true,
      cwd: '/tmp',
      noNewPrivileges: false,
    });
    expect(r.stdout.split('\n').slice(0, 5)).toEqual(['1000', '1000', '1000 5', 'CapEff:\t0000000000000000', '123']);
    expect(r.stdout).toContain('RO');
    expect(r.stdout.trim().endsWith('/tmp')).toBe(true);
  });

  it('creates a missing working directory inside the root', async () => {
    const r = await run(['pwd'], { cwd: '/srv/app' });
    expect(r.stdout).toBe('/srv/app\n');
    expect(existsSync(join(r.dir, 'upper', 'srv', 'app'))).toBe(true);
    // the change into it happens with the container user's credentials, as runc does
    const denied = await startError(['pwd'], { cwd: '/root', user: { uid: 1000, gid: 1000 } });
    expect(denied.exitCode).toBe(126);
    expect(denied.message).toBe('chdir to working directory /root: EACCES');
  });

  it('installs a seccomp filter last, with or without no_new_privs, and skips unknown syscalls', async () => {
    const profile = join(work, 'seccomp.txt');
    writeFileSync(profile, 'default allow\nrule errno:1 mkdir\nrule errno:1 mkdirat\nrule errno:1 no_such_syscall_here\nrule errno:38 personality 0 eq 8\n');
    const cmd = ['sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/d 2>&1; id -u'];
    const root = await run(cmd, { seccomp: profile });
    expect(root.stdout).toMatch(/NoNewPrivs:\s+1\nSeccomp:\s+2\n.*Operation not permitted\n0\n/);
    // without no_new_privs the filter is loaded while we still hold CAP_SYS_ADMIN
    const user = await run(cmd, { seccomp: profile, noNewPrivileges: false, user: { uid: 1000, gid: 1000 } });
    expect(user.stdout).toMatch(/NoNewPrivs:\s+0\nSeccomp:\s+2\n.*Operation not permitted\n1000\n/);
    writeFileSync(profile, 'rule allow read\n');
    expect((await startError(['true'], { seccomp: profile })).message).toMatch(/must start with default/);
  });

  it('sets oom_score_adj and enters a new cgroup namespace after go', async () => {
    const r = await run(['sh', '-c', 'cat /proc/self/oom_score_adj; readlink /proc/self/ns/cgroup'], {
      oomScoreAdj: 500,
      cloneFlags: CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET | CLONE.NEWCGROUP,
    });
    const [adj, cgns] = r.stdout.trim().split('\n');
    expect(adj).toBe('500');
    expect(cgns).toMatch(/^cgroup:\[\d+\]$/);
    expect(cgns).not.toBe(readlinkSync('/proc/self/ns/cgroup'));
  });

  it('hands the container only fds 0, 1 and 2', async () => {
    const r = await run(['ls', '/proc/self/fd']);
    expect(r.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3']); // 3 is ls's own directory
  });

  it('never mounts through a symlink out of the rootfs', async () => {
    const hostDir = mkdtempSync(join(work, 'hostdir-'));
    const evil = join(work, 'evil');
    mkdirSync(evil);
    symlinkSync(hostDir, join(evil, 'etc2')); // absolute: points at a real host directory
    symlinkSync(`../../../../../..${hostDir}`, join(evil, 'etc3')); // relative, climbing out
    const dir = mkdtempSync(join(work, 'c-'));
    const spec = containerSpec(dir, ['sh', '-c', 'grep -c " /tmp/" /proc/self/mountinfo; ls -d /etc2/x /etc3/y; readlink /etc2'], {
      overlay: { lower: [evil, lower], upper: join(dir, 'upper'), work: join(dir, 'work') },
      mounts: [...defaultMounts(), { source: 'tmpfs', destination: '/etc2/x', fstype: 'tmpfs', flags: 0, data: '' }, { source: 'tmpfs', destination: '/etc3/y', fstype: 'tmpfs', flags: 0, data: '' }],
    });
    const out = openSync(join(dir, 'out'), 'w');
    const h = await startMonitor({ spec, specPath: join(dir, 'spec'), mode: 'run', stdio: [-1, out, out] });
    closeSync(out);
    live.push({ handle: h, pid: await h.pid });
    h.go();
    await h.started;
    expect(await h.exit).toBe(0);
    h.ack();
    const [count, x, y, link] = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n');
    expect([count, x, y, link]).toEqual(['2', '/etc2/x', '/etc3/y', hostDir]);
    expect(readdirSync(hostDir)).toEqual([]); // the host directory was never touched
    // what was created lives in the container's upper dir, under the symlink's target
    expect(existsSync(join(dir, 'upper', hostDir, 'x'))).toBe(true);
  });

  it('gives a tty from the container devpts and applies resize', async () => {
    const dir = mkdtempSync(join(work, 'c-'));
    const log = join(dir, 'log');
    const h = await startMonitor({
      // waits (up to 10 s) for the second size instead of racing it with a fixed sleep
      spec: containerSpec(
        dir,
        ['sh', '-c', 'tty; stty size; i=0; while [ "$(stty size)" = "40 100" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; stty size; [ -t 0 ] && echo TTY'],
        { tty: true, logPath: log },
      ),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [-1, -1, -1],
    });
    live.push({ handle: h, pid: await h.pid });
    h.resize(40, 100);
    h.go();
    await h.started;
    await new Promise((r) => setTimeout(r, 100));
    h.resize(33, 77);
    expect(await h.exit).toBe(0);
    h.ack();
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(3).join(' ').replace(/\r$/, ''));
    expect(lines).toEqual(['/dev/pts/0', '40 100', '33 77', 'TTY']);
  });

  it('relays a foreground pty and restores the terminal mode', async () => {
    // a python helper owns a pty pair: we get the slave by name, it relays the master to us
    const helper = spawn('python3', ['-c', [
      'import pty,os,sys,termios,select',
      'm,s=pty.openpty()',
      'before=termios.tcgetattr(s)',
      'print(os.ttyname(s),flush=True)',
      'sys.stdin.readline()',
      'os.write(m,b"echo from-stdin\\n")',
      'out=b""',
      'while b"DONE" not in out:',
      '  r,_,_=select.select([m],[],[],10)',
      '  if not r: break',
      '  out+=os.read(m,4096)',
      'sys.stdin.readline()',
      'print(repr(out)); print("RESTORED" if termios.tcgetattr(s)==before else "CHANGED",flush=True)',
    ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let text = '';
    helper.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    while (!text.includes('\n')) await new Promise((r) => setTimeout(r, 10));
    const slave = openSync(text.trim(), 'r+');
    const dir = mkdtempSync(join(work, 'c-'));
    const h = await startMonitor({
      spec: containerSpec(dir, ['sh', '-c', 'read line; echo "got $line"; tty; echo DONE'], { tty: true, stdin: true }),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [slave, slave, slave],
    });
    closeSync(slave);
    live.push({ handle: h, pid: await h.pid });
    h.go();
    await h.started;
    helper.stdin.write('go\n');
    expect(await h.exit).toBe(0);
    h.ack();
    expect(await waitGone(h.monitorPid)).toBe(true);
    helper.stdin.end('check\n');
    await new Promise((r) => helper.once('exit', r));
    expect(text).toContain('got echo from-stdin\\r\\n');
    expect(text).toContain('/dev/pts/0');
    expect(text).toContain('RESTORED');
  });

  it('writes stdout and stderr to the CRI log in detached mode, and runs the hook when Node is gone', async () => {
    const dir = mkdtempSync(join(work, 'c-'));
    const log = join(dir, 'log');
    const hookOut = join(dir, 'hook');
    const h = await startMonitor({
      spec: containerSpec(dir, ['sh', '-c', 'echo out1; echo err1 >&2; head -c 20000 /dev/zero | tr "\\\\0" a; echo; printf partial; sleep 0.2'], {
        logPath: log,
        hook: ['/bin/sh', '-c', `cat ${join(dir, 'exit.json')} > ${hookOut}.tmp && mv ${hookOut}.tmp ${hookOut}`],
      }),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [-1, -1, -1],
    });
    const pid = await h.pid;
    live.push({ handle: h, pid });
    h.go();
    await h.started;
    h.detach(); // like `run -d`: Node goes away, the monitor stays
    expect(await waitGone(h.monitorPid)).toBe(true);
    expect(JSON.parse(readFileSync(hookOut, 'utf8'))).toMatchObject({ exitCode: 0 });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const ts = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;
    for (const l of lines) expect(l).toMatch(ts);
    const body = lines.map((l) => l.replace(ts, ''));
    expect(body).toContain('stdout F out1');
    expect(body).toContain('stderr F err1');
    expect(body).toContain('stdout F partial');
    // a line longer than the monitor's 16 KiB buffer: P(artial) pieces, then F
    expect(body).toContain(`stdout P ${'a'.repeat(16384)}`);
    expect(body).toContain(`stdout F ${'a'.repeat(20000 - 16384)}`);
  });

  it('does not run the hook when Node acknowledges the exit, and kills the container when Node gives up before go', async () => {
    const dir = mkdtempSync(join(work, 'c-'));
    const hookOut = join(dir, 'hook');
    const h = await startMonitor({
      spec: containerSpec(dir, ['true'], { hook: ['/bin/sh', '-c', `touch ${hookOut}`] }),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [-1, -1, -1],
    });
    live.push({ handle: h, pid: await h.pid });
    h.go();
    expect(await h.exit).toBe(0);
    h.ack();
    expect(await waitGone(h.monitorPid)).toBe(true);
    expect(existsSync(hookOut)).toBe(false);

    const g = await startMonitor({ spec: containerSpec(dir, ['true']), specPath: join(dir, 'spec2'), mode: 'run', stdio: [-1, -1, -1] });
    const gpid = await g.pid;
    live.push({ handle: g, pid: gpid });
    g.detach();
    expect(await waitGone(g.monitorPid)).toBe(true);
    expect(alive(gpid)).toBe(false);
  });

  it('exec joins a running container: its hostname, pid namespace and root', async () => {
    const target = await start(['sleep', '30'], { hostname: 'target' });
    const dir = mkdtempSync(join(work, 'x-'));
    const out = openSync(join(dir, 'out'), 'w');
    const ns = ['ipc', 'uts', 'net', 'pid', 'mnt'] as const;
    const x = await startMonitor({
      spec: {
        id: 'f'.repeat(64),
        join: ns.map((type) => ({ type, path: `/proc/${target.pid}/ns/${type}` })),
        cwd: '/tmp',
        env: ['PATH=/bin'],
        args: ['sh', '-c', 'hostname; cat /proc/1/comm; echo $$; pwd; grep CapBnd /proc/self/status'],
        caps: capMask(DEFAULT_CAPS),
        noNewPrivileges: true,
      },
      specPath: join(dir, 'spec'),
      mode: 'exec',
      stdio: [-1, out, out],
    });
    closeSync(out);
    live.push({ handle: x, pid: await x.pid });
    x.go();
    await x.started;
    expect(await x.exit).toBe(0);
    x.ack();
    const [host, comm, pid, cwd, bnd] = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n');
    expect(host).toBe('target');
    expect(comm).toBe('sleep');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(cwd).toBe('/tmp');
    expect(bnd).toBe('CapBnd:\t00000000a80425fb');
    expect(alive(target.pid)).toBe(true);
  });

  it('exec with a tty gets a pty from the container devpts', async () => {
    const target = await start(['sleep', '30']);
    const dir = mkdtempSync(join(work, 'x-'));
    const log = join(dir, 'log');
    const x = await startMonitor({
      spec: {
        id: 'f'.repeat(64),
        join: (['ipc', 'uts', 'net', 'pid', 'mnt'] as const).map((type) => ({ type, path: `/proc/${target.pid}/ns/${type}` })),
        env: ['PATH=/bin'],
        args: ['sh', '-c', 'tty; [ -t 1 ] && echo TTY'],
        tty: true,
        logPath: log,
      },
      specPath: join(dir, 'spec'),
      mode: 'exec',
      stdio: [-1, -1, -1],
    });
    live.push({ handle: x, pid: await x.pid });
    x.go();
    await x.started;
    expect(await x.exit).toBe(0);
    x.ack();
    const body = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(3).join(' ').replace(/\r$/, ''));
    expect(body).toEqual(['/dev/pts/0', 'TTY']);
  });

  it('reports an error before the pid when a namespace to join does not exist', async () => {
    const dir = mkdtempSync(join(work, 'c-'));
    const h = await startMonitor({
      spec: containerSpec(dir, ['true'], { join: [{ type: 'net', path: '/proc/self/ns/nope' }] }),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [-1, -1, -1],
    });
    live.push({ handle: h });
    await expect(h.pid).rejects.toThrow(/open namespace \/proc\/self\/ns\/nope: ENOENT/);
    await expect(h.started).rejects.toMatchObject({ exitCode: 125, code: 'CONTAINER_START' });
    expect(await waitGone(h.monitorPid)).toBe(true);
  });

  it('refuses a spec with an unknown key, so both sides stay in step', async () => {
    const dir = mkdtempSync(join(work, 'c-'));
    const specPath = join(dir, 'spec');
    writeFileSync(specPath, ['version', '1', 'id', 'x', 'arg', 'true', 'frobnicate', '1'].map((w) => `${w}\0`).join(''));
    const [ours, theirs] = socketpair();
    const pid = spawnDetached({ path: monitorPath(), argv: ['tsdocker-monitor', 'run', specPath], env: [], fds: [-1, -1, -1, theirs] });
    closeFd(theirs);
    const sock = new net.Socket({ fd: ours, readable: true, writable: true });
    let text = '';
    sock.setEncoding('utf8').on('data', (d: string) => (text += d));
    await new Promise((r) => sock.once('close', r));
    expect(text).toBe('error 125 22 spec: unknown key "frobnicate"\n');
    expect(await waitGone(pid)).toBe(true);
  });

  it('stays small: idle monitor RSS, and time from startMonitor to ok', async () => {
    const t0 = performance.now();
    const quick = await start(['true']);
    const okMs = performance.now() - t0;
    await quick.handle.exit;
    quick.handle.ack();

    const dir = mkdtempSync(join(work, 'c-'));
    const h = await startMonitor({
      spec: containerSpec(dir, ['sleep', '30'], { logPath: join(dir, 'log') }),
      specPath: join(dir, 'spec'),
      mode: 'run',
      stdio: [-1, -1, -1],
    });
    const pid = await h.pid;
    live.push({ handle: h, pid });
    h.go();
    await h.started;
    h.detach();
    await new Promise((r) => setTimeout(r, 100));
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${h.monitorPid}/status`, 'utf8'))![1]);
    console.log(`monitor: startMonitor -> ok for true: ${okMs.toFixed(1)} ms; idle detached monitor VmRSS: ${rssKb} kB`);
    expect(rssKb).toBeLessThan(5 * 1024);
    expect(readFileSync(`/proc/${h.monitorPid}/comm`, 'utf8').trim()).toBe('tsd-monitor');
    process.kill(pid, 'SIGKILL');
  });
});
