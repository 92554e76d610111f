/**
 * tsdocker-oci, the OCI runtime command line, against the real kernel inside a sandbox:
 * the lifecycle (create/start/state/kill/delete), the process model callers rely on (pid
 * file, stdio handed over, fds closed, the init left to the caller's reaper), the console
 * socket, hooks, namespaces joined by path, user namespaces, cgroups, and refused configs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createSandbox, PROJECT, run, startHolder, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { defaultSpec } from '../../src/runtime/oci/defaults.js';

const OCI = join(PROJECT, 'bin', 'tsdocker-oci');
const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let work: string;
let rootfs: string;
let ociRoot: string;
let parent: string;
let seq = 0;

type Config = ReturnType<typeof defaultSpec> & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A bundle whose config.json is runc's default spec, without a terminal, on the shared busybox rootfs. */
function bundle(edit: (c: Config) => void = () => {}): string {
  const dir = join(work, `b${seq++}`);
  mkdirSync(dir);
  const c = defaultSpec() as Config;
  c.root = { path: rootfs, readonly: false };
  c.process.terminal = false;
  c.process.args = ['sh', '-c', 'echo hello'];
  c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
  return dir;
}

function oci(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run([...sb.enter, OCI, '--root', ociRoot, ...args], { timeoutMs: 20_000, ...opts, env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent } });
}

async function ok(args: string[]): Promise<string> {
  const r = await oci(args);
  if (r.code !== 0) throw new Error(`tsdocker-oci ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/**
 * create with its stdio on files: the init keeps create's stdout and stderr (they are the
 * container's), so a pipe would stay open until the container exits.
 */
async function create(id: string, b: string, extra: string[] = []): Promise<RunResult> {
  return withFiles(['create', '--bundle', b, ...extra, id], b);
}

async function withFiles(args: string[], b: string): Promise<RunResult> {
  const q = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const argv = [OCI, '--root', ociRoot, ...args].map(q).join(' ');
  const r = await run([...sb.enter, 'sh', '-c', `exec ${argv} </dev/null >>${b}/stdout 2>>${b}/stderr`], { timeoutMs: 20_000, env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent } });
  return { ...r, stdout: readFileSync(`${b}/stdout`, 'utf8'), stderr: readFileSync(`${b}/stderr`, 'utf8') };
}

async function created(id: string, b: string, extra: string[] = []): Promise<void> {
  const r = await create(id, b, extra);
  if (r.code !== 0) throw new Error(`tsdocker-oci create ${id}: exit ${r.code}\n${r.stderr}`);
}

async function state(id: string): Promise<{ status: string; pid: number; bundle: string; id: string }> {
  return JSON.parse(await ok(['state', id]));
}

async function until(f: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  for (let t = 0; t < ms; t += 20) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe.skipIf(!isRoot)('tsdocker-oci', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-oci');
    work = mkdtempSync(join(tmpdir(), 'tsd-oci-b-'));
    chmodSync(work, 0o755); // the user namespace test's root (host uid 100000) must reach the rootfs
    rootfs = join(work, 'rootfs');
    for (const d of ['bin', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true }); // mount points a user namespace cannot create
    copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    for (const c of ['sh', 'cat', 'echo', 'sleep', 'id', 'hostname', 'ls', 'grep', 'true', 'readlink']) symlinkSync('busybox', join(rootfs, 'bin', c));
    ociRoot = join(sb.root, 'oci');
    parent = `tsdocker-test-${basename(sb.root)}`;
  });

  afterAll(async () => {
    for (const id of (await oci(['list', '-q'])).stdout.split('\n').filter(Boolean)) await oci(['delete', '--force', id]);
    await sb?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('create leaves the init waiting: start runs the process once, on the stdout create was given', async () => {
    const b = bundle((c) => (c.process.args = ['sh', '-c', 'echo ran-$$; sleep 60']));
    const out = join(b, 'stdout');
    const pidFile = join(b, 'init.pid');
    // create's stdout is a file, as the conformance suite makes it
    const r = await run([...sb.enter, 'sh', '-c', `exec ${OCI} --root ${ociRoot} create --bundle ${b} --pid-file ${pidFile} life >${out} 2>&1`], {
      env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent },
    });
    expect(r.code, r.stderr).toBe(0);
    const pidText = readFileSync(pidFile, 'utf8');
    expect(pidText).toMatch(/^\d+$/); // no newline
    const s = await state('life');
    expect(s).toMatchObject({ id: 'life', status: 'created', bundle: b, pid: Number(pidText) });
    expect(readFileSync(out, 'utf8')).toBe(''); // nothing ran yet
    await ok(['start', 'life']);
    expect(await until(() => readFileSync(out, 'utf8').includes('ran-1'))).toBe(true); // pid 1 of its own pid namespace
    expect((await state('life')).status).toBe('running');
    expect((await oci(['start', 'life'])).code).toBe(1); // once only
    expect((await oci(['delete', 'life'])).code).toBe(1); // not while running
    await ok(['kill', 'life', 'KILL']);
    expect(await until(async () => (await state('life')).status === 'stopped')).toBe(true);
    expect((await state('life')).pid).toBe(0);
    expect((await oci(['kill', 'life', 'TERM'])).code).toBe(1);
    await ok(['delete', 'life']);
    const gone = await oci(['state', 'life']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not exist');
    expect((await oci(['delete', '--force', 'life'])).code).toBe(0);
    expect((await oci(['delete', 'life'])).code).toBe(1);
  });

  it('leaves the init to the caller\'s reaper, with no tsdocker process in between', async () => {
    const b = bundle((c) => (c.process.args = ['sleep', '60']));
    // pid 1 of a fresh pid namespace is the reaper, as the shim and conmon are subreapers
    const script = `${OCI} --root ${ociRoot} create --bundle ${b} --pid-file ${b}/pid reap >/dev/null; p=$(cat ${b}/pid); grep PPid /proc/$p/status; cat /proc/[0-9]*/comm | sort | uniq`;
    const r = await run([...sb.enter, 'unshare', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], { env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PPid:\s+1\n/);
    expect(r.stdout).toContain('tsd-init');
    expect(r.stdout).not.toContain('tsd-monitor');
    expect(r.stdout).not.toMatch(/^node$/m);
    // the reaper is gone with its namespace: state notices the dead init without a monitor
    expect(await until(async () => (await state('reap')).status === 'stopped')).toBe(true);
    await ok(['delete', 'reap']);
  });

  it('hands the runtime\'s stdio over untouched and closes every other descriptor', async () => {
    const b = bundle((c) => (c.process.args = ['sh', '-c', 'read line; echo got:$line; ls /proc/self/fd']));
    const r = await run([...sb.enter, 'sh', '-c', `exec 7</dev/null 9>/dev/null; exec ${OCI} --root ${ociRoot} run --bundle ${b} fds`], {
      input: 'abc\n',
      env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('got:abc');
    const fds = r.stdout.split('\n').slice(1).filter(Boolean);
    expect(fds.sort()).toEqual(['0', '1', '2', '3']); // 3 is ls's own directory handle
    expect(existsSync(join(ociRoot, 'fds'))).toBe(false); // run deletes what it created
    // a profile that refuses close_range (the suite's default one does): the fds still go, create still waits
    const b2 = bundle((c) => {
      c.process.args = ['ls', '/proc/self/fd'];
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
    });
    await run([...sb.enter, 'sh', '-c', `exec 7</dev/null; exec ${OCI} --root ${ociRoot} create --bundle ${b2} fds2 </dev/null >${b2}/out 2>&1`], {
      env: { ...process.env, TSDOCKER_CGROUP_PARENT: parent },
    });
    expect((await state('fds2')).status).toBe('created');
    await ok(['start', 'fds2']);
    expect(await until(() => readFileSync(`${b2}/out`, 'utf8').includes('2\n'))).toBe(true);
    expect(readFileSync(`${b2}/out`, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['0', '1', '2', '3']);
    await ok(['delete', '--force', 'fds2']);
  });

  it('run returns the exit status; exec joins the namespaces and cgroup of the init', async () => {
    expect((await oci(['run', '--bundle', bundle((c) => (c.process.args = ['sh', '-c', 'exit 7'])), 'st'])).code).toBe(7);
    const b = bundle((c) => {
      c.process.args = ['sleep', '60'];
      c.hostname = 'inner';
    });
    await created('ex', b);
    await ok(['start', 'ex']);
    const init = (await state('ex')).pid;
    const r = await oci(['exec', 'ex', 'sh', '-c', 'hostname; readlink /proc/1/exe; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('inner');
    expect(r.stdout).toContain('/bin/busybox'); // pid 1 of the exec'd process's namespace is the container's init
    expect((await withFiles(['exec', '--detach', '--pid-file', `${b}/exec.pid`, 'ex', 'sleep', '50'], b)).code).toBe(0);
    const execPid = Number(readFileSync(`${b}/exec.pid`, 'utf8'));
    const pids: number[] = JSON.parse(await ok(['ps', '--format', 'json', 'ex']));
    expect(pids.sort()).toEqual([init, execPid].sort());
    expect(execFileSync('readlink', [`/proc/${execPid}/ns/uts`], { encoding: 'utf8' })).toBe(
      execFileSync('readlink', [`/proc/${init}/ns/uts`], { encoding: 'utf8' }),
    );
    await ok(['pause', 'ex']);
    expect((await state('ex')).status).toBe('paused');
    await ok(['resume', 'ex']);
    expect((await state('ex')).status).toBe('running');
    await ok(['delete', '--force', 'ex']);
    expect(existsSync(`/proc/${execPid}`) && !readFileSync(`/proc/${execPid}/stat`, 'utf8').includes(') Z ')).toBe(false);
  });

  it('sends the pty master to --console-socket as runc does: one message, one fd', async () => {
    const helper = join(work, 'recvpty');
    execFileSync('gcc', ['-O1', '-o', helper, join(PROJECT, 'test', 'helpers', 'recvpty.c')]);
    const sock = join(work, 'console.sock');
    const recv = spawn(sb.enter[0]!, [...sb.enter.slice(1), helper, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    recv.stdout.setEncoding('utf8').on('data', (d: string) => (got += d));
    expect(await until(() => got.includes('listening'))).toBe(true);
    const b = bundle((c) => {
      c.process.terminal = true;
      c.process.args = ['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; sleep 1'];
    });
    await created('tty', b, ['--console-socket', sock]);
    expect(await until(() => got.includes('fds='))).toBe(true);
    expect(got).toMatch(/msg=\/dev\/ptmx fds=1 controllen=(\d+)/);
    await ok(['start', 'tty']);
    expect(await until(() => got.includes('is-a-tty'))).toBe(true);
    await oci(['delete', '--force', 'tty']);
    recv.kill();
    // a terminal without a socket to send it to is refused
    const r = await create('tty2', b);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--console-socket');
  });

  it('runs hooks with the state on stdin; a failing prestart hook fails create and leaves nothing', async () => {
    const log = join(work, 'hooks.log');
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name} $(cat) >> ${log}`] });
    const b = bundle((c) => {
      c.process.args = ['true'];
      c.hooks = { prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], poststart: [hook('poststart')], poststop: [hook('poststop')] };
      // these two run in the container's mount namespace: / is the container's root there
      c.hooks.createContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /hook-cc.json'] }];
      c.hooks.startContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /hook-sc.json'] }];
      c.annotations = { 'org.example': 'x' };
    });
    await created('hk', b);
    await ok(['start', 'hk']);
    expect(await until(async () => (await state('hk')).status === 'stopped')).toBe(true);
    await ok(['delete', 'hk']);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['prestart', 'createRuntime', 'poststart', 'poststop']);
    const st = lines.map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)));
    expect(st[0]).toMatchObject({ id: 'hk', status: 'created', bundle: b, annotations: { 'org.example': 'x' } });
    expect(st[0].pid).toBeGreaterThan(0);
    expect(st[2]).toMatchObject({ status: 'running', pid: st[0].pid });
    expect(st[3]).toMatchObject({ status: 'stopped' });
    for (const f of ['hook-cc.json', 'hook-sc.json']) {
      expect(JSON.parse(readFileSync(join(rootfs, f), 'utf8'))).toMatchObject({ id: 'hk', pid: st[0].pid });
      rmSync(join(rootfs, f));
    }

    const bad = bundle((c) => (c.hooks = { prestart: [{ path: '/bin/false' }] }));
    const r = await create('hkfail', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prestart hook');
    expect(existsSync(join(ociRoot, 'hkfail'))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/pids/${parent}/hkfail`)).toBe(false);
  });

  it('joins namespaces by path and refuses a path of another type', async () => {
    const holder = await startHolder(['--uts', '--ipc']);
    try {
      execFileSync('nsenter', [`--uts=/proc/${holder.pid}/ns/uts`, 'hostname', 'joined-uts']);
      const b = bundle((c) => {
        c.process.args = ['hostname'];
        delete c.hostname; // a joined UTS namespace keeps its name (runc would set it there too)
        c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${holder.pid}/ns/uts` } : n));
      });
      expect((await ok(['run', '--bundle', b, 'nsj'])).trim()).toBe('joined-uts');
      const bad = bundle((c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'ipc' ? { type: 'ipc', path: `/proc/${holder.pid}/ns/uts` } : n));
      });
      const r = await create('nsbad', bad);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/linux\.namespaces\[\d\]\.path: .* is a uts namespace, not ipc/);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a config that lists no namespaces inherits every one of the caller\'s; delete takes down the mounts it made in ours', async () => {
    // the root is a mount point of the caller's own (a bind in the sandbox's mount namespace): it must survive delete
    const root = join(work, 'shared-root');
    mkdirSync(root);
    expect((await sb.sh(['mount', '--bind', rootfs, root])).code).toBe(0);
    const lines = async () => (await sb.sh(['cat', '/proc/self/mountinfo'])).stdout.split('\n').map((l) => l.split(' ')[4] ?? '');
    const at = async () => (await lines()).filter((m) => m === root).length;
    const under = async () => (await lines()).filter((m) => m.startsWith(`${root}/`)).length;
    const shared = (c: Config) => {
      c.root.path = root;
      c.process.args = ['sleep', '60'];
      delete c.hostname;
      c.linux.namespaces = [];
    };
    try {
      // a create that fails before the init mounted anything leaves the caller's mount alone
      const failed = await create('inh0', bundle((c) => ((c.hooks = { prestart: [{ path: '/bin/false' }] }), shared(c))));
      expect(failed.code).toBe(1);
      expect(await at()).toBe(1);
      const b = bundle(shared);
      await created('inh', b);
      await ok(['start', 'inh']);
      const init = (await state('inh')).pid;
      // tsdocker-oci runs in the sandbox's network and mount namespaces and in the test's others: the holder's
      for (const ns of ['mnt', 'net', 'pid', 'ipc', 'uts', 'cgroup', 'user']) {
        expect(readlinkSync(`/proc/${init}/ns/${ns}`), ns).toBe(readlinkSync(`/proc/${sb.holderPid}/ns/${ns}`));
      }
      expect(readlinkSync(`/proc/${init}/root`)).toBe(root);
      // proc, /dev, ... under the root, in the caller's mount namespace, on a bind of our own
      expect(await at()).toBe(2);
      expect(await under()).toBeGreaterThan(0);
      await ok(['delete', '--force', 'inh']);
      expect(await under()).toBe(0);
      expect(await at()).toBe(1);
    } finally {
      await sb.sh(['umount', '-l', root]);
    }
  });

  it('applies the user namespace mappings, the five capability sets, user, umask, rlimits and sysctl', async () => {
    const b = bundle((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 2000 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 3000 }];
      c.process.args = ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map'];
    });
    const maps = (await ok(['run', '--bundle', b, 'userns'])).trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(maps).toEqual([['0', '100000', '2000'], ['0', '100000', '3000']]);

    const caps = ['CAP_KILL', 'CAP_NET_RAW'];
    const b2 = bundle((c) => {
      c.process.user = { uid: 10, gid: 10, additionalGids: [5], umask: 0o027 };
      c.process.capabilities = { bounding: [...caps, 'CAP_CHOWN'], effective: caps, inheritable: caps, permitted: caps, ambient: ['CAP_KILL'] };
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }];
      c.process.noNewPrivileges = true;
      c.process.oomScoreAdj = 500;
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      c.process.args = ['sh', '-c', 'grep -E "^(Cap|Groups|NoNewPrivs|Uid|Gid)" /proc/self/status; umask; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward'];
    });
    const out = await ok(['run', '--bundle', b2, 'caps']);
    expect(out).toMatch(/CapInh:\s+0000000000002020/); // KILL (5) + NET_RAW (13)
    // uid 10 execs a file without capabilities: permitted and effective become the ambient set
    expect(out).toMatch(/CapPrm:\s+0000000000000020/);
    expect(out).toMatch(/CapEff:\s+0000000000000020/);
    expect(out).toMatch(/CapBnd:\s+0000000000002021/);
    expect(out).toMatch(/CapAmb:\s+0000000000000020/);
    expect(out).toMatch(/Uid:\s+10\s+10\s+10\s+10/);
    expect(out).toMatch(/Groups:\s+5\s*\n/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toContain('0027\n321\n654\n500\n1\n');
  });

  it('creates the cgroup at create with the limits applied, and delete removes only what create made', async () => {
    const path = `/${parent}/abs`;
    const b = bundle((c) => {
      c.process.args = ['sleep', '60'];
      c.linux.cgroupsPath = path;
      c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 33 }, cpu: { shares: 512, quota: 20000, period: 100000 } };
    });
    await created('cg', b);
    const pid = (await state('cg')).pid;
    const cg = (c: string, f: string) => readFileSync(`/sys/fs/cgroup/${c}${path}/${f}`, 'utf8').trim();
    expect(cg('memory', 'memory.limit_in_bytes')).toBe(String(64 << 20));
    expect(cg('pids', 'pids.max')).toBe('33');
    expect(cg('cpu', 'cpu.shares')).toBe('512');
    expect(cg('cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(cg('pids', 'cgroup.procs').split('\n')).toContain(String(pid)); // placed before start
    expect((await oci(['update', '--resources', '-', 'cg'], { input: JSON.stringify({ pids: { limit: 44 } }) })).code).toBe(0);
    expect(cg('pids', 'pids.max')).toBe('44');
    await ok(['delete', '--force', 'cg']);
    expect(existsSync(`/sys/fs/cgroup/pids${path}`)).toBe(false);
  });

  it('refuses an invalid config naming the field, ignores unknown fields, and writes json errors to --log', async () => {
    const cases: [string, (c: Config) => void, RegExp][] = [
      ['ver', (c) => (c.ociVersion = 'invalid'), /ociVersion/],
      ['cap', (c) => (c.process.capabilities.bounding = ['CAP_TEST']), /process\.capabilities\.bounding: unknown capability "CAP_TEST"/],
      ['rl', (c) => (c.process.rlimits = [{ type: 'RLIMIT_TEST', soft: 1, hard: 1 }]), /process\.rlimits\[0\]\.type/],
      ['ns', (c) => c.linux.namespaces.push({ type: 'bogus' }), /linux\.namespaces\[5\]\.type/],
    ];
    for (const [id, edit, msg] of cases) {
      const r = await create(id, bundle(edit));
      expect(r.code, id).toBe(1);
      expect(r.stderr, id).toMatch(msg);
      expect(existsSync(join(ociRoot, id))).toBe(false);
    }
    expect(await ok(['run', '--bundle', bundle((c) => ((c as Record<string, unknown>).someFutureField = { x: 1 })), 'unk'])).toBe('hello\n');
    const logFile = join(work, 'log.json');
    const r = await run([...sb.enter, OCI, '--root', ociRoot, '--log', logFile, '--log-format', 'json', 'start', 'missing']);
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(logFile, 'utf8').trim().split('\n').pop()!);
    expect(line).toMatchObject({ level: 'error', msg: expect.stringContaining('"missing" does not exist') });
    expect(line.time).toMatch(/^\d{4}-/);
    expect((await oci(['--systemd-cgroup', 'list'])).stderr).toContain('not supported');
    const v = await ok(['--version']);
    expect(v).toMatch(/^tsdocker-oci version \S+\nspec: 1\.\d+\.\d+\S*\ncommit: \S+\n$/);
  });
});
