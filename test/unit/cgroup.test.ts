import { describe, expect, it } from 'vitest';
import { parseMountinfo } from '../../src/runtime/cgroups/layout.js';
import { requiredControllers, sharesToWeight, v1Writes, v2Writes } from '../../src/runtime/cgroups/limits.js';
import { cgroupHandle } from '../../src/runtime/cgroups/index.js';

const HYBRID = `
25 30 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
27 25 0:24 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw shared:13 - cgroup cgroup rw,memory
30 25 0:27 / /sys/fs/cgroup/pids rw shared:14 - cgroup cgroup rw,pids
31 25 0:26 /sub /mnt/memsub rw shared:13 - cgroup cgroup rw,memory
`;
const V2 = `
25 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe('cgroup layout detection', () => {
  it('recognises the hybrid layout, co-mounted controllers and ignores bind mounts of sub-cgroups', () => {
    const l = parseMountinfo(HYBRID)!;
    expect(l.mode).toBe('hybrid');
    expect(l.unified).toBe('/sys/fs/cgroup/unified');
    expect(l.v1).toEqual({
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
    });
  });
  it('recognises a v2-only host and a host with no cgroups', () => {
    expect(parseMountinfo(V2)).toEqual({ mode: 'v2', v1: {}, unified: '/sys/fs/cgroup' });
    expect(parseMountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw')).toBeUndefined();
  });
  it('decodes escaped mount points', () => {
    const l = parseMountinfo('25 30 0:22 / /mnt/my\\040cg rw - cgroup2 none rw')!;
    expect(l.unified).toBe('/mnt/my cg');
  });
  it('derives per-controller directories under the parent', () => {
    const h = cgroupHandle('abc', { layout: parseMountinfo(HYBRID)!, parent: 'tsdocker' });
    expect(h.dirs.memory).toBe('/sys/fs/cgroup/memory/tsdocker/abc');
    expect(h.dirs.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/tsdocker/abc');
    expect(h.dirs['']).toBe('/sys/fs/cgroup/unified/tsdocker/abc');
    const v2 = cgroupHandle('abc', { layout: parseMountinfo(V2)!, parent: 'tsdocker' });
    expect(v2.dirs).toEqual({ '': '/sys/fs/cgroup/tsdocker/abc' });
  });
});

describe('limits to cgroup files', () => {
  const limits = { memory: 64 << 20, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512, cpusetCpus: '0', pidsLimit: 10, devices: 'default' as const };
  it('v1: memory before memsw, period before quota, default swap is twice the memory (optional)', () => {
    const w = v1Writes(limits);
    const files = w.map((x) => `${x.file}=${x.value}`);
    expect(files.slice(0, 7)).toEqual([
      'memory.limit_in_bytes=67108864',
      'memory.memsw.limit_in_bytes=134217728',
      'cpu.cfs_period_us=100000',
      'cpu.cfs_quota_us=50000',
      'cpu.shares=512',
      'cpuset.cpus=0',
      'pids.max=10',
    ]);
    expect(w[1]!.optional).toBe(true);
    expect(files).toContain('devices.deny=a *:* rwm');
    expect(files).toContain('devices.allow=c 1:3 rwm');
  });
  it('v1: an explicit --memory-swap is required, -1 passes through; privileged allows every device', () => {
    const w = v1Writes({ memory: 100, memorySwap: -1, devices: 'all' });
    expect(w[1]).toMatchObject({ file: 'memory.memsw.limit_in_bytes', value: '-1', flag: '--memory-swap' });
    expect(w[1]!.optional).toBeUndefined();
    expect(w.filter((x) => x.controller === 'devices').map((x) => x.value)).toEqual(['a *:* rwm']);
  });
  it('v2: memory.max, swap as the difference, cpu.max, weight, pids.max, no device rules', () => {
    const w = v2Writes({ ...limits, memorySwap: 96 << 20 });
    expect(w.map((x) => `${x.file}=${x.value}`)).toEqual([
      'memory.max=67108864',
      'memory.swap.max=33554432',
      'cpu.max=50000 100000',
      `cpu.weight=${sharesToWeight(512)}`,
      'cpuset.cpus=0',
      'pids.max=10',
    ]);
    expect(v2Writes({ memory: 10, memorySwap: -1, devices: 'default' })[1]!.value).toBe('max');
  });
  it('cpu shares map to weights as runc does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });
  it('names the controllers a set of limits cannot do without', () => {
    expect([...requiredControllers({ devices: 'default' }).keys()]).toEqual([]);
    expect(Object.fromEntries(requiredControllers(limits))).toEqual({
      memory: '--memory', cpu: '--cpu-shares', cpuset: '--cpuset-cpus', pids: '--pids-limit',
    });
  });
});

describe('limits of run/update flags (--memory-reservation, --cpu-quota/--cpu-period, --oom-kill-disable, --device)', () => {
  const l = { memoryReservation: 32 << 20, cpuQuota: 30000, cpuPeriod: 200000, cpuFlag: '--cpu-quota', oomKillDisable: true, deviceRules: ['c 10:229 rwm'], devices: 'default' as const };
  it('v1: soft limit, oom_control, the CFS pair, a device rule after the default list', () => {
    const w = v1Writes(l).map((x) => `${x.file}=${x.value}`);
    expect(w.slice(0, 4)).toEqual(['memory.soft_limit_in_bytes=33554432', 'memory.oom_control=1', 'cpu.cfs_period_us=200000', 'cpu.cfs_quota_us=30000']);
    expect(w.at(-1)).toBe('devices.allow=c 10:229 rwm');
    expect(v1Writes({ cpuPeriod: 50000, devices: 'default' }).slice(0, 2).map((x) => x.value)).toEqual(['50000', '-1']);
  });
  it('v2: memory.low and cpu.max (max without a quota); no oom_control, no device rules', () => {
    expect(v2Writes(l).map((x) => `${x.file}=${x.value}`)).toEqual(['memory.low=33554432', 'cpu.max=30000 200000']);
    expect(v2Writes({ cpuPeriod: 50000, devices: 'default' }).map((x) => x.value)).toEqual(['max 50000']);
    expect(Object.fromEntries(requiredControllers(l))).toEqual({ memory: '--oom-kill-disable', cpu: '--cpu-quota' });
  });
});
