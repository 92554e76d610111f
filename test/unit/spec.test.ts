import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLONE, decodeSpec, renderSpec, SPEC_ARITY, specRecords, type ContainerSpec } from '../../src/runtime/spec.js';
import { capMask, capName, capsFromMask, CAPABILITIES, DEFAULT_CAPS, effectiveCaps } from '../../src/runtime/caps.js';
import { defaultDevices, defaultMounts, maskedPaths, MS, readonlyPaths } from '../../src/rootfs/mounts.js';
import { TsdError } from '../../src/sys/errors.js';

const base: ContainerSpec = { id: 'a'.repeat(64), env: ['PATH=/bin'], args: ['sh', '-c', 'echo hi'] };

describe('renderSpec', () => {
  it('writes NUL-terminated key/field strings, version first', () => {
    const buf = renderSpec(base);
    expect(buf.toString('utf8')).toBe(
      ['version', '1', 'id', 'a'.repeat(64), 'env', 'PATH=/bin', 'arg', 'sh', 'arg', '-c', 'arg', 'echo hi'].map((s) => s + '\0').join(''),
    );
  });

  it('encodes every key with the number of fields PROTOCOL.md gives it', () => {
    const spec: ContainerSpec = {
      ...base,
      cloneFlags: CLONE.NEWNS | CLONE.NEWPID,
      join: [{ type: 'net', path: '/proc/1/ns/net' }],
      rootfs: '/r',
      overlay: { lower: ['/l2', '/l1'], upper: '/u', work: '/w' },
      mounts: defaultMounts(),
      devices: defaultDevices(),
      symlinks: [{ target: 'pts/ptmx', path: '/dev/ptmx' }],
      rootSymlinks: [{ target: '/proc/mounts', path: '/etc/mtab' }],
      masked: maskedPaths(),
      readonly: readonlyPaths(),
      rootfsReadonly: true,
      hostname: 'box',
      domainname: 'example.test',
      loopback: true,
      cwd: '/work',
      user: { uid: 1000, gid: 1000, groups: [10, 20] },
      caps: capMask(DEFAULT_CAPS),
      noNewPrivileges: true,
      rlimits: [{ resource: 7, soft: 1024, hard: -1 }],
      oomScoreAdj: -500,
      seccomp: '/s',
      seccompCache: '/r/cache/seccomp',
      tty: true,
      stdin: false,
      logPath: '/log',
      logTee: true,
      attach: '/run/c/attach.sock',
      detachKeys: '1011',
      exitPath: '/exit',
      exitNoSync: true,
      hook: ['/bin/node', 'cleanup'],
      orphan: true,
      fifo: '/state/exec.fifo',
      console: '/tmp/pty.sock',
      caps5: { bounding: 'f', effective: '1', inheritable: '0', permitted: 'f', ambient: '0' },
      umask: 0o22,
      sysctl: [['net.ipv4.ip_forward', '1']],
      rootPropagation: MS.REC | MS.PRIVATE,
      supervise: { intervalMs: 3000, pidFile: '/run/dnsd.pid', match: 'dnsd.js', argv: ['/bin/node', 'dns'] },
      cgroupProcs: ['/sys/fs/cgroup/memory/t/c/cgroup.procs'],
      health: { intervalMs: 100, timeoutMs: 200, startPeriodMs: 0, retries: 3, record: '/c/health.json', probeSpec: '/c/health.spec', cgroupProcs: ['/sys/fs/cgroup/x/cgroup.procs'] },
      restart: { policy: 'on-failure', max: 3, count: 1, timeoutMs: 200, record: '/c/restart.json', marker: '/c/.stopped', argv: ['/bin/node', 'restart'] },
      proxy6: '/c/proxy6',
    };
    spec.devices = [...spec.devices!, { path: '/dev/fuse', mode: 0o20660, major: 10, minor: 229, uid: 1, gid: 2 }];
    const recs = decodeSpec(renderSpec(spec));
    expect(recs).toEqual(specRecords(spec));
    for (const r of recs) expect(r.length - 1).toBe(SPEC_ARITY[r[0]!]);
    const keys = new Set(recs.map((r) => r[0]));
    expect([...keys].sort()).toEqual(Object.keys(SPEC_ARITY).sort());
    expect(recs.find((r) => r[0] === 'overlay')).toEqual(['overlay', '/l2:/l1', '/u', '/w']);
    expect(recs.find((r) => r[0] === 'user')).toEqual(['user', '1000', '1000', '10,20']);
    expect(recs.find((r) => r[0] === 'clone')).toEqual(['clone', String(0x20020000)]);
    expect(recs.find((r) => r[0] === 'rlimit')).toEqual(['rlimit', '7', '1024', '-1']);
    expect(recs.find((r) => r[0] === 'odevice')).toEqual(['odevice', '/dev/fuse', String(0o20660), '10', '229', '1', '2']);
    expect(recs.find((r) => r[0] === 'supervise')).toEqual(['supervise', '3000', '/run/dnsd.pid', 'dnsd.js']);
    expect(recs.filter((r) => r[0] === 'supervise_arg')).toEqual([['supervise_arg', '/bin/node'], ['supervise_arg', 'dns']]);
    expect(recs.find((r) => r[0] === 'restart')).toEqual(['restart', 'on-failure', '3', '1', '200', '/c/restart.json', '/c/.stopped']);
    expect(recs.find((r) => r[0] === 'mount')).toEqual(['mount', 'proc', '/proc', 'proc', String(MS.NOSUID | MS.NOEXEC | MS.NODEV), '']);
    // mounts come before devices, devices before symlinks (the monitor's order)
    const idx = (k: string) => recs.findIndex((r) => r[0] === k);
    expect(idx('mount')).toBeLessThan(idx('device'));
    expect(idx('device')).toBeLessThan(idx('symlink'));
  });

  it('keeps the key list in step with the C parser', () => {
    const c = readFileSync(join(import.meta.dirname, '..', '..', 'native', 'src', 'spec.c'), 'utf8');
    const cKeys = [...c.matchAll(/!strcmp\(key, "([a-z_0-9]+)"\)/g)].map((m) => m[1]).sort();
    expect(cKeys).toEqual(Object.keys(SPEC_ARITY).filter((k) => k !== 'version').sort());
  });

  it('refuses NUL bytes, empty argv and overlay paths that would break the options', () => {
    expect(() => renderSpec({ ...base, env: ['A=\0'] })).toThrow(TsdError);
    expect(() => renderSpec({ ...base, args: [] })).toThrow(/no command/);
    expect(() => renderSpec({ ...base, overlay: { lower: ['/a:b'], upper: '/u', work: '/w' } })).toThrow(/contains/);
  });
});

describe('capabilities', () => {
  it('knows every capability through CAP_CHECKPOINT_RESTORE (40)', () => {
    expect(CAPABILITIES.length).toBe(41);
    expect(CAPABILITIES[21]).toBe('SYS_ADMIN');
    expect(CAPABILITIES[40]).toBe('CHECKPOINT_RESTORE');
  });

  it("renders Docker's default set as the mask Docker containers show", () => {
    expect(capMask(DEFAULT_CAPS)).toBe('a80425fb');
    expect(capsFromMask('a80425fb')).toEqual(CAPABILITIES.filter((c) => DEFAULT_CAPS.includes(c)));
  });

  it('accepts names with or without CAP_, in any case, and refuses unknown ones', () => {
    expect(capName('cap_net_admin')).toBe('NET_ADMIN');
    expect(capName('Sys_Ptrace')).toBe('SYS_PTRACE');
    expect(capMask(['CAP_CHOWN', 'chown'])).toBe('1');
    expect(() => capMask(['NET_FLY'])).toThrow(TsdError);
    try {
      capName('NET_FLY');
    } catch (e) {
      expect((e as TsdError).code).toBe('BAD_ARGS');
    }
  });

  it('applies --cap-add/--cap-drop like Docker', () => {
    expect(effectiveCaps(['NET_ADMIN'], ['NET_RAW'])).toContain('NET_ADMIN');
    expect(effectiveCaps(['NET_ADMIN'], ['NET_RAW'])).not.toContain('NET_RAW');
    expect(effectiveCaps(['ALL'])).toHaveLength(41);
    expect(effectiveCaps(['CHOWN'], ['ALL'])).toEqual(['CHOWN']);
  });
});
