import { describe, expect, it } from 'vitest';
import { checkConfig, rlimitNumber } from '../../src/runtime/oci/config.js';
import { capSets, mountFlags } from '../../src/runtime/oci/translate.js';
import { v1ResourceWrites, v2ResourceWrites } from '../../src/runtime/oci/cgroups.js';
import { parseSignal } from '../../src/runtime/oci/lifecycle.js';
import { defaultSpec } from '../../src/runtime/oci/defaults.js';
import { MS } from '../../src/rootfs/mounts.js';

const base = () => JSON.parse(JSON.stringify(defaultSpec())) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('OCI config.json checks', () => {
  it('accepts the default spec and ignores unknown fields', () => {
    expect(checkConfig({ ...base(), future: { x: 1 } }).ociVersion).toMatch(/^1\./);
    const c = base();
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10' };
    expect(checkConfig(c).linux?.sysctl).toBeDefined();
  });

  it('refuses invalid values naming the field', () => {
    const bad: [(c: Record<string, any>) => void, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      [(c) => (c.ociVersion = 'invalid'), /^invalid config.json: ociVersion/],
      [(c) => (c.process.capabilities.bounding = ['CAP_TEST']), /process\.capabilities\.bounding: unknown capability "CAP_TEST"/],
      [(c) => (c.process.rlimits = [{ type: 'RLIMIT_TEST', soft: 1, hard: 1 }]), /process\.rlimits\[0\]\.type/],
      [(c) => (c.process.cwd = 'rel'), /process\.cwd/],
      [(c) => (c.process.args = []), /process\.args/],
      [(c) => c.linux.namespaces.push({ type: 'pid' }), /linux\.namespaces\[5\]: namespace pid is listed twice/],
      [(c) => (c.linux.namespaces = [{ type: 'mount' }]), /hostname: needs its own UTS namespace/],
      [(c) => (c.linux.cgroupsPath = 'system.slice:docker:abc'), /linux\.cgroupsPath: .*systemd/],
      [(c) => (c.linux.devices = [{ path: '/dev/x', type: 'q', major: 1, minor: 1 }]), /linux\.devices\[0\]\.type/],
      [(c) => (c.hooks = { prestart: [{ path: 'relative' }] }), /hooks\.prestart\[0\]\.path/],
      [(c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), /linux\.uidMappings: needs a user namespace/],
      // a sysctl outside a namespace of the container's own would be the host's
      [(c) => (c.linux.sysctl = { 'vm.overcommit_memory': '1' }), /linux\.sysctl\.vm\.overcommit_memory: is not namespaced/],
      [(c) => ((c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }), (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network'))), /linux\.sysctl\.net\.ipv4\.ip_forward: needs its own network namespace/],
      [(c) => ((c.linux.sysctl = { 'kernel/shmmax': '1' }), (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'ipc'))), /kernel\/shmmax: needs its own ipc namespace/],
    ];
    for (const [edit, msg] of bad) {
      const c = base();
      edit(c);
      expect(() => checkConfig(c)).toThrow(msg);
    }
  });

  it('names rlimits and signals as runc does', () => {
    expect(rlimitNumber('RLIMIT_NOFILE')).toBe(7);
    expect(rlimitNumber('NOFILE')).toBeUndefined();
    expect([parseSignal('KILL'), parseSignal('SIGTERM'), parseSignal('15'), parseSignal(undefined)]).toEqual([9, 15, 15, 15]);
    expect(() => parseSignal('NOPE')).toThrow(/unknown signal/);
  });
});

describe('OCI translation', () => {
  it('turns mount options into flags and data, propagation included', () => {
    expect(mountFlags(['nosuid', 'strictatime', 'mode=755', 'size=65536k'])).toEqual({ flags: MS.NOSUID | MS.STRICTATIME, data: 'mode=755,size=65536k' });
    expect(mountFlags(['rbind', 'ro', 'rprivate'])).toEqual({ flags: MS.BIND | MS.REC | MS.RDONLY | MS.PRIVATE, data: '' });
    expect(mountFlags(['ro', 'rw', 'nodev', 'dev']).flags).toBe(0);
  });

  it('makes five capability masks', () => {
    expect(capSets({ bounding: ['CAP_KILL', 'CAP_CHOWN'], ambient: ['CAP_KILL'] })).toEqual({ bounding: '21', effective: '0', inheritable: '0', permitted: '0', ambient: '20' });
  });

  it('turns linux.resources into v1 and v2 files', () => {
    const r = { memory: { limit: 1024, swap: 2048 }, cpu: { shares: 512, quota: 5000, period: 10000 }, pids: { limit: -1 }, devices: [{ allow: false, access: 'rwm' }] };
    const v1 = Object.fromEntries(v1ResourceWrites(r).map((w) => [w.file, w.value]));
    expect(v1).toMatchObject({ 'memory.limit_in_bytes': '1024', 'memory.memsw.limit_in_bytes': '2048', 'cpu.shares': '512', 'cpu.cfs_quota_us': '5000', 'cpu.cfs_period_us': '10000', 'pids.max': 'max', 'devices.deny': 'a *:* rwm' });
    const v2 = Object.fromEntries(v2ResourceWrites(r).map((w) => [w.file, w.value]));
    expect(v2).toMatchObject({ 'memory.max': '1024', 'memory.swap.max': '1024', 'cpu.max': '5000 10000', 'pids.max': 'max' });
  });
});
