/**
 * The cgroup driver against the real kernel, without containers: create a cgroup under a
 * test-owned parent, apply limits, move a process we spawned into it, read it, remove it.
 * v1 (this host's hybrid layout) for real; v2 through the host's cgroup2 mount (no
 * controllers can be enabled there on a hybrid host: they are bound to v1), plus the v2
 * file-writing logic on a scratch tree that imitates a delegated hierarchy.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { detectLayout, type CgroupLayout } from '../../src/runtime/cgroups/layout.js';
import { createCgroup, enableV2, joinCgroup, oomKillCount, removeCgroup, sampleCgroup, cgroupExists } from '../../src/runtime/cgroups/index.js';
import { TsdError } from '../../src/sys/errors.js';
import { BUSYBOX_TAR, createSandbox } from '../helpers/sandbox.js';

const layout = detectLayout();
const parent = `tsdocker-test-${randomBytes(4).toString('hex')}`;
const children: ChildProcess[] = [];

function start(argv: string[]): ChildProcess {
  const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  children.push(c);
  return c;
}
function exited(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
  return new Promise((r) => c.once('exit', (code, signal) => r({ code, signal })));
}
const read = (p: string) => readFileSync(p, 'utf8').trim();

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
  // the test parent in every hierarchy (created by these tests only)
  for (const mount of new Set([...Object.values(layout.v1), layout.unified ?? ''])) {
    const dir = join(mount, parent);
    if (mount && existsSync(dir)) rmdirSync(dir);
  }
});

describe.runIf(layout.mode !== 'v2')('cgroup v1 (this host: hybrid)', () => {
  it('creates the cgroup with every limit, joins a process, removes it', async () => {
    const id = randomBytes(8).toString('hex');
    const h = await createCgroup(id, {
      memory: 64 << 20, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512, cpusetCpus: '0', pidsLimit: 10, devices: 'default',
    }, { parent });
    expect(read(join(h.dirs.memory!, 'memory.limit_in_bytes'))).toBe(String(64 << 20));
    expect(read(join(h.dirs.cpu!, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(join(h.dirs.cpu!, 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(h.dirs.cpu!, 'cpu.shares'))).toBe('512');
    expect(read(join(h.dirs.cpuset!, 'cpuset.cpus'))).toBe('0');
    expect(read(join(h.dirs.cpuset!, 'cpuset.mems'))).not.toBe('');
    expect(read(join(h.dirs.pids!, 'pids.max'))).toBe('10');
    const devs = read(join(h.dirs.devices!, 'devices.list'));
    expect(devs).toContain('c 1:3 rwm');
    expect(devs).not.toContain('a *:* rwm');
    if (layout.unified) expect(existsSync(h.dirs['']!)).toBe(true);

    const sleeper = start(['sleep', '30']);
    await joinCgroup(h, sleeper.pid!);
    const procCg = readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8');
    expect(procCg).toMatch(new RegExp(`:memory:/${parent}/${id}$`, 'm'));
    expect(procCg).toMatch(new RegExp(`:pids:/${parent}/${id}$`, 'm'));
    if (layout.unified) expect(procCg).toMatch(new RegExp(`^0::/${parent}/${id}$`, 'm'));
    const s = await sampleCgroup(h);
    expect(s.pids).toBe(1);
    expect(s.memLimit).toBe(64 << 20);
    expect(await oomKillCount(h)).toBe(0);

    sleeper.kill('SIGKILL');
    await exited(sleeper);
    await removeCgroup(h);
    expect(await cgroupExists(h)).toBe(false);
    await removeCgroup(h); // idempotent
  });

  it('counts an OOM kill when a process allocates past the memory limit', async () => {
    const id = randomBytes(8).toString('hex');
    const h = await createCgroup(id, { memory: 16 << 20, devices: 'default' }, { parent });
    // the shell waits until it is in the cgroup, then becomes a process that eats memory
    const eater = start(['sh', '-c', 'sleep 0.5; exec tail /dev/zero']);
    await joinCgroup(h, eater.pid!);
    const { signal } = await exited(eater);
    expect(signal).toBe('SIGKILL');
    expect(await oomKillCount(h)).toBeGreaterThanOrEqual(1);
    await removeCgroup(h);
  });

  it('refuses a limit whose controller is missing and leaves nothing behind', async () => {
    const id = randomBytes(8).toString('hex');
    const noPids: CgroupLayout = { ...layout, v1: Object.fromEntries(Object.entries(layout.v1).filter(([c]) => c !== 'pids')) };
    const e = await createCgroup(id, { pidsLimit: 5, devices: 'default' }, { parent, layout: noPids }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TsdError);
    expect((e as TsdError).message).toContain('cannot apply --pids-limit on this host');
    expect(existsSync(join(layout.v1.memory!, parent, id))).toBe(false);
  });
});

describe.runIf(layout.unified !== undefined)('cgroup v2 through the host cgroup2 mount', () => {
  const v2: CgroupLayout = { mode: 'v2', v1: {}, unified: layout.unified };
  const available = () => read(join(layout.unified!, 'cgroup.controllers')).split(/\s+/);

  it('creates, joins and removes a v2 cgroup', async () => {
    const id = randomBytes(8).toString('hex');
    const h = await createCgroup(id, { devices: 'default' }, { parent, layout: v2 });
    const sleeper = start(['sleep', '30']);
    await joinCgroup(h, sleeper.pid!);
    expect(readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8')).toMatch(new RegExp(`^0::/${parent}/${id}$`, 'm'));
    expect(read(join(h.dirs['']!, 'cgroup.events'))).toContain('populated 1');
    sleeper.kill('SIGKILL');
    await exited(sleeper);
    await removeCgroup(h);
    expect(existsSync(h.dirs['']!)).toBe(false);
  });

  it.runIf(!available().includes('memory'))('says clearly that a limit cannot be applied when the controller is not there', async () => {
    const id = randomBytes(8).toString('hex');
    const e = await createCgroup(id, { memory: 64 << 20, devices: 'default' }, { parent, layout: v2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TsdError);
    expect((e as TsdError).message).toMatch(/cannot apply --memory on this host: the memory cgroup controller is not available/);
    expect(existsSync(join(layout.unified!, parent, id))).toBe(false);
  });
});

describe.runIf(layout.unified !== undefined)('cgroup v2 controller delegation on the host cgroup2 mount (hugetlb, the one controller v1 leaves free here)', () => {
  const root = layout.unified!;
  const rootCtl = () => read(join(root, 'cgroup.subtree_control')).split(/\s+/).filter(Boolean);
  const free = () => read(join(root, 'cgroup.controllers')).split(/\s+/).includes('hugetlb');

  it.runIf(free())('enables a controller down the chain so the container cgroup can use its files; restores the root', async () => {
    const wasEnabled = rootCtl().includes('hugetlb');
    const dir = join(root, parent, 'v2ctl', 'c');
    try {
      mkdirSync(join(root, parent, 'v2ctl'), { recursive: true }); // createCgroup makes the ancestors first
      await enableV2(root, dir, ['hugetlb']);
      mkdirSync(dir);
      expect(rootCtl()).toContain('hugetlb');
      expect(read(join(root, parent, 'v2ctl', 'cgroup.subtree_control'))).toContain('hugetlb');
      expect(read(join(dir, 'cgroup.controllers'))).toContain('hugetlb');
      const max = readdirSync(dir).find((f) => /^hugetlb\.[^.]+\.max$/.test(f));
      if (max) {
        writeFileSync(join(dir, max), '0');
        expect(read(join(dir, max))).toBe('0');
      }
    } finally {
      for (const d of [dir, join(root, parent, 'v2ctl')]) if (existsSync(d)) rmdirSync(d);
      if (existsSync(join(root, parent))) {
        writeFileSync(join(root, parent, 'cgroup.subtree_control'), '-hugetlb');
        rmdirSync(join(root, parent));
      }
      if (!wasEnabled) writeFileSync(join(root, 'cgroup.subtree_control'), '-hugetlb');
    }
    expect(rootCtl().includes('hugetlb')).toBe(wasEnabled);
  });
});

describe('cgroup v2 file logic on a scratch tree shaped like a delegated hierarchy', () => {
  it('enables controllers down the chain and writes every limit file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tsd-cg2-'));
    try {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(root, 'cgroup.subtree_control'), '');
      const id = 'c1';
      const dir = join(root, 'tp', id);
      mkdirSync(dir, { recursive: true });
      for (const f of ['memory.max', 'memory.swap.max', 'cpu.max', 'cpu.weight', 'cpuset.cpus', 'pids.max']) writeFileSync(join(dir, f), '');
      const h = await createCgroup(id, {
        memory: 32 << 20, memorySwap: 48 << 20, cpuQuota: 150_000, cpuPeriod: 100_000, cpuShares: 1024, cpusetCpus: '0', pidsLimit: 7, devices: 'default',
      }, { parent: 'tp', layout: { mode: 'v2', v1: {}, unified: root } });
      expect(h.dirs['']).toBe(dir);
      // a plain file keeps only the last write: the last controller enabled at each level
      expect(read(join(root, 'cgroup.subtree_control'))).toBe('+pids');
      expect(read(join(root, 'tp', 'cgroup.subtree_control'))).toBe('+pids');
      expect(read(join(dir, 'memory.max'))).toBe(String(32 << 20));
      expect(read(join(dir, 'memory.swap.max'))).toBe(String(16 << 20));
      expect(read(join(dir, 'cpu.max'))).toBe('150000 100000');
      expect(read(join(dir, 'cpu.weight'))).toBe('39');
      expect(read(join(dir, 'cpuset.cpus'))).toBe('0');
      expect(read(join(dir, 'pids.max'))).toBe('7');
      writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
      expect(await oomKillCount(h)).toBe(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.runIf(layout.unified !== undefined)('containers with the v2 driver on this host (TSDOCKER_CGROUP_MODE=v2)', () => {
  it('a container gets its cgroup2 directory, stats and removal work; a limit v1 holds is refused clearly', async () => {
    const sb = await createSandbox('tsd-cg2');
    const env = { ...process.env, TSDOCKER_CGROUP_MODE: 'v2', TSDOCKER_CGROUP_PARENT: parent };
    const tsd = (args: string[]) => sb.tsd(args, { env });
    try {
      expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
      const r = await tsd(['run', '-d', '--name', 'v2c', 'busybox', 'sh', '-c', 'grep -E "^Cap(Eff)" /proc/self/status; sleep 60']);
      expect(r.code, r.stderr).toBe(0);
      const id = r.stdout.trim();
      const dir = join(layout.unified!, parent, id);
      const procs = read(join(dir, 'cgroup.procs')).split('\n').filter(Boolean);
      expect(procs.length).toBeGreaterThanOrEqual(1);
      expect(readFileSync(`/proc/${procs[0]}/cgroup`, 'utf8')).toMatch(new RegExp(`^0::/${parent}/${id}$`, 'm'));
      expect(readFileSync(`/proc/${procs[0]}/cgroup`, 'utf8')).not.toContain(`:memory:/${parent}/${id}`); // v1 is not used
      const stats = await tsd(['stats', '--no-stream', '--format', 'json', 'v2c']);
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ Name: 'v2c' });
      // no device filter on v2 yet: CAP_MKNOD (27) is left out unless asked for
      const logs = await tsd(['logs', 'v2c']);
      expect(BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(logs.stdout)![1]}`) & (1n << 27n)).toBe(0n);
      expect((await tsd(['rm', '-f', 'v2c'])).code).toBe(0);
      expect(existsSync(dir)).toBe(false);
      const bad = await tsd(['run', '--rm', '-m', '64m', 'busybox', 'true']);
      expect(bad.code).toBe(125);
      expect(bad.stderr.split('\n')[0]).toBe(
        `tsdocker: cannot apply --memory on this host: the memory cgroup controller is not available in the cgroup v2 hierarchy at ${layout.unified}`,
      );
    } finally {
      await sb.close();
    }
  });

  it('a teardown that fails (a stray process holds the cgroup) prints one line with its hint, not an internal error', async () => {
    const sb = await createSandbox('tsd-cg2rm');
    const env = { ...process.env, TSDOCKER_CGROUP_MODE: 'v2', TSDOCKER_CGROUP_PARENT: parent };
    const tsd = (args: string[]) => sb.tsd(args, { env });
    const stray = start(['sleep', '60']);
    let dir = '';
    try {
      expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
      const r = await tsd(['run', '-d', '--name', 'held', 'busybox', 'sleep', '60']);
      expect(r.code, r.stderr).toBe(0);
      dir = join(layout.unified!, parent, r.stdout.trim());
      writeFileSync(join(dir, 'cgroup.procs'), String(stray.pid));
      const rm = await tsd(['rm', '-f', 'held']);
      expect(rm.code).not.toBe(0);
      expect(rm.stderr).not.toMatch(/internal error|report this as a bug/);
      const lines = rm.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^tsdocker: release resources: remove cgroup: cannot remove cgroup ${dir}: EBUSY`));
      expect(lines[1]).toBe('hint: a process still runs in it');
    } finally {
      stray.kill('SIGKILL');
      await exited(stray);
      if (dir && existsSync(dir)) rmdirSync(dir);
      await sb.close();
    }
  });
});
