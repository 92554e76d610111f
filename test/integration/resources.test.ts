/**
 * Limits proven from inside containers, through the CLI: memory (OOM kill, exit 137,
 * OOMKilled), pids, cpus, the other cgroup knobs, ulimits, and bad input (one line, exit
 * 125, nothing left behind). The cgroups go under a parent owned by this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';

const layout = detectLayout();
const parent = `tsdocker-test-${randomBytes(4).toString('hex')}`;
const env = { ...process.env, TSDOCKER_CGROUP_PARENT: parent };
const hierarchies = [...new Set([...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])])];
let sb: Sandbox;
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tsd = (args: string[], timeoutMs = 60_000): Promise<RunResult> => sb.tsd(args, { env, timeoutMs });

async function inspect(ref: string): Promise<Record<string, any>> {
  const r = await tsd(['inspect', ref]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0];
}

/** container cgroups that exist under our parent, in any hierarchy */
function leftoverCgroups(): string[] {
  return hierarchies.flatMap((h) => {
    const dir = join(h, parent);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  });
}

beforeAll(async () => {
  sb = await createSandbox('tsd-res');
  expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(leftoverCgroups()).toEqual([]);
  for (const h of hierarchies) if (existsSync(join(h, parent))) rmdirSync(join(h, parent));
  expect(hostSnapshot()).toEqual(before);
});

describe('memory', () => {
  it('a process allocating past -m is killed: exit 137 and OOMKilled in inspect', async () => {
    const r = await tsd(['run', '--name', 'oom', '-m', '16m', 'busybox', 'sh', '-c', 'tail /dev/zero']);
    expect(r.code).toBe(137);
    const i = await inspect('oom');
    expect(i.State.OOMKilled).toBe(true);
    expect(i.State.ExitCode).toBe(137);
    expect((await tsd(['rm', '-v', 'oom'])).code).toBe(0);
  });

  it('a container that stays within its limit is not OOMKilled', async () => {
    const r = await tsd(['run', '--name', 'fits', '-m', '64m', 'busybox', 'sh', '-c', 'head -c 1000000 /dev/zero | wc -c']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('1000000');
    expect((await inspect('fits')).State.OOMKilled).toBe(false);
    await tsd(['rm', 'fits']);
  });
});

describe('pids', () => {
  it('--pids-limit 10 stops a fork loop at 10 processes', async () => {
    const r = await tsd(['run', '--rm', '--pids-limit', '10', 'busybox', 'sh', '-c', 'i=1; while true; do sleep 30 & i=$((i+1)); echo $i; done']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    const counts = r.stdout.trim().split('\n').map(Number);
    expect(Math.max(...counts)).toBe(10); // the shell and 9 sleeps
  });
});

describe('cpu', () => {
  it('--cpus 0.5 holds a busy loop near half a CPU', async () => {
    const r = await tsd(['run', '-d', '--name', 'busy', '--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const usage = () => Number(readFileSync(join(layout.v1.cpuacct!, parent, id, 'cpuacct.usage'), 'utf8'));
    await sleep(300);
    const u0 = usage();
    const t0 = process.hrtime.bigint();
    await sleep(3000);
    const share = (usage() - u0) / Number(process.hrtime.bigint() - t0);
    expect(share).toBeGreaterThan(0.3); // other test files may load the two cores; the limit is the upper bound
    expect(share).toBeLessThan(0.6);
    expect((await tsd(['rm', '-f', 'busy'])).code).toBe(0);
  }, 30_000);

  it('--cpu-shares, --cpuset-cpus, --memory-swap land in the cgroup files', async () => {
    const r = await tsd(['run', '-d', '--name', 'knobs', '-m', '32m', '--memory-swap', '64m', '--cpu-shares', '512', '--cpuset-cpus', '0', 'busybox', 'sleep', '30']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const file = (ctl: string, f: string) => readFileSync(join(layout.v1[ctl]!, parent, id, f), 'utf8').trim();
    expect(file('memory', 'memory.limit_in_bytes')).toBe(String(32 << 20));
    expect(file('memory', 'memory.memsw.limit_in_bytes')).toBe(String(64 << 20));
    expect(file('cpu', 'cpu.shares')).toBe('512');
    expect(file('cpuset', 'cpuset.cpus')).toBe('0');
    expect(file('devices', 'devices.list')).not.toContain('a *:* rwm');
    const ex = await tsd(['exec', 'knobs', 'sh', '-c', 'cat /proc/self/status | grep Cpus_allowed_list']);
    expect(ex.stdout).toMatch(/Cpus_allowed_list:\s+0$/m);
    const hc = (await inspect('knobs')).HostConfig;
    expect(hc).toMatchObject({ Memory: 32 << 20, MemorySwap: 64 << 20, CpuShares: 512, CpusetCpus: '0', Privileged: false });
    expect((await tsd(['rm', '-f', 'knobs'])).code).toBe(0);
    expect(existsSync(join(layout.v1.memory!, parent, id))).toBe(false);
  });
});

describe('stats', () => {
  it('stats --no-stream shows CPU %, memory use/limit and pids from the cgroup', async () => {
    const r = await tsd(['run', '-d', '--name', 'st', '--cpus', '0.5', '-m', '64m', 'busybox', 'sh', '-c', 'sleep 60 & while :; do :; done']);
    expect(r.code, r.stderr).toBe(0);
    await sleep(300);
    const json = await tsd(['stats', '--no-stream', '--format', 'json', 'st']);
    expect(json.code, json.stderr).toBe(0);
    const row = JSON.parse(json.stdout.trim()) as Record<string, string>;
    // docker stats --format '{{json .}}': Docker's keys, Docker's strings
    expect(Object.keys(row)).toEqual(['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
    expect(row).toMatchObject({ Container: 'st', ID: r.stdout.trim().slice(0, 12), Name: 'st', PIDs: '2', BlockIO: '0B / 0B' });
    expect(row.MemUsage).toMatch(/^[\d.]+[KM]iB \/ 64MiB$/);
    const cpu = Number(row.CPUPerc!.replace('%', ''));
    expect(cpu).toBeGreaterThan(20);
    expect(cpu).toBeLessThan(70);
    const tmpl = await tsd(['stats', '--no-stream', '--format', '{{.Name}}: {{.PIDs}}', 'st']);
    expect(tmpl.stdout).toBe('st: 2\n');
    const bad = await tsd(['stats', '--no-stream', '--format', '{{.Nope}}', 'st']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`Template parsing error: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type *container.statsContext`);
    const tbl = await tsd(['stats', '--no-stream']);
    expect(tbl.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(tbl.stdout).toMatch(/ st\s+\d+\.\d\d%\s+[\d.]+[KMG]?i?B \/ 64MiB\s+[\d.]+%\s+\S+ \/ \S+\s+0B \/ 0B\s+2$/m);
    expect((await tsd(['rm', '-f', 'st'])).code).toBe(0);
  });
});

describe('exec', () => {
  it("a process started with exec joins the container's cgroup and counts against its limits", async () => {
    const r = await tsd(['run', '-d', '--name', 'ex', '--pids-limit', '3', 'busybox', 'sleep', '60']);
    expect(r.code, r.stderr).toBe(0);
    const pidsCurrent = () => Number(readFileSync(join(layout.v1.pids!, parent, r.stdout.trim(), 'pids.current'), 'utf8'));
    expect(pidsCurrent()).toBe(1);
    expect((await tsd(['exec', '-d', 'ex', 'sleep', '30'])).code).toBe(0);
    await sleep(200);
    expect(pidsCurrent()).toBe(2);
    const forks = await tsd(['exec', 'ex', 'sh', '-c', 'sleep 30 & sleep 30 & echo forked']);
    expect(forks.stdout).not.toContain('forked');
    expect(forks.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    expect((await tsd(['rm', '-f', 'ex'])).code).toBe(0);
  });
});

describe('concurrency', () => {
  it('containers started at once under a new parent all get their cgroups', async () => {
    const fresh = `${parent}-c`;
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => sb.tsd(['run', '--rm', '-m', '32m', '--cpuset-cpus', '0', '--pids-limit', '20', 'busybox', 'true'], { env: { ...env, TSDOCKER_CGROUP_PARENT: fresh } })),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    for (const h of hierarchies) {
      const d = join(h, fresh);
      if (existsSync(d)) {
        expect(readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
        rmdirSync(d);
      }
    }
  });
});

describe('ulimits', () => {
  it('--ulimit sets soft and hard limits inside the container', async () => {
    const r = await tsd(['run', '--rm', '--ulimit', 'nofile=100:200', '--ulimit', 'core=0', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('100\n200\n0\n');
  });
});

describe('bad input: one line, exit 125, nothing left behind', () => {
  const cases: [string[], RegExp][] = [
    [['-m', '12x'], /invalid argument "12x" for "--memory" flag/],
    [['-m', '1m'], /minimum memory limit/],
    [['--memory-swap', '64m'], /--memory-swap needs --memory/],
    [['--cpus', '64'], /range of CPUs is from 0.01 to \d+\.00/],
    [['--cpuset-cpus', '0-63'], /requested CPUs are not available/],
    [['--pids-limit', '-5'], /pids limit cannot be negative/],
    [['--cap-add', 'NOPE'], /unknown capability "NOPE"/],
    [['--ulimit', 'nofile=99999999'], /cannot apply --ulimit nofile=.* hard limit/],
    [['--ulimit', 'bogus=1'], /unknown ulimit "bogus"/],
    [['-v', 'bad name:/x'], /invalid characters for a local volume name/],
    [['--mount', 'type=bind,source=/nonexistent-tsd,target=/x'], /bind source path does not exist: \/nonexistent-tsd/],
    [['--security-opt', 'seccomp=/nonexistent.json'], /cannot read seccomp profile/],
    [['--tmpfs', '/x:size=lots'], /invalid tmpfs size/],
  ];
  for (const [flags, msg] of cases) {
    it(flags.join(' '), async () => {
      const r = await tsd(['run', '--rm', ...flags, 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(/^tsdocker: /);
      expect(r.stderr.split('\n')[0]).toMatch(msg);
      expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('hint: '))).toHaveLength(1);
    });
  }
  it('left no container, volume or cgroup', async () => {
    expect((await tsd(['ps', '-aq'])).stdout).toBe('');
    expect((await tsd(['volume', 'ls', '-q'])).stdout).toBe('');
    expect(leftoverCgroups()).toEqual([]);
  });
});
