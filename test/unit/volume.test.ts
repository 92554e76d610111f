import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, planMounts } from '../../src/rootfs/volumes.js';
import { MS } from '../../src/rootfs/mounts.js';
import { planRlimits } from '../../src/runtime/resources.js';
import { TsdError } from '../../src/sys/errors.js';

const NSN = MS.NOSUID | MS.NODEV | MS.NOEXEC;

describe('-v', () => {
  it('bind, named and anonymous forms', () => {
    expect(parseVolumeFlag('/srv/x:/data')).toEqual({ kind: 'bind', source: '/srv/x', target: '/data', readonly: false, createSource: true, recursive: true });
    expect(parseVolumeFlag('/srv/x:/data/:ro')).toMatchObject({ kind: 'bind', target: '/data', readonly: true });
    expect(parseVolumeFlag('./d:/data', '/home/u')).toMatchObject({ kind: 'bind', source: '/home/u/d' });
    expect(parseVolumeFlag('cache:/var/cache')).toEqual({ kind: 'volume', name: 'cache', target: '/var/cache', readonly: false, nocopy: false });
    expect(parseVolumeFlag('cache:/c:ro,nocopy')).toMatchObject({ readonly: true, nocopy: true });
    expect(parseVolumeFlag('/data')).toEqual({ kind: 'volume', target: '/data', readonly: false, nocopy: false });
    expect(parseVolumeFlag('/data:ro')).toMatchObject({ kind: 'volume', target: '/data', readonly: true });
  });
  it('refuses bad specifications with one line', () => {
    for (const [spec, msg] of [
      ['a:b:c:d', 'invalid volume specification'],
      ['/x:relative', 'absolute'],
      ['/x:/', `can't be "/"`],
      ['bad name!:/x', 'invalid characters'],
      ['/x:/y:xx', 'invalid mode'],
      ['/x:/y:ro,rw', 'conflict'],
      ['/x:/y:shared', 'propagation'],
    ] as const) {
      expect(() => parseVolumeFlag(spec), spec).toThrow(msg);
    }
  });
});

describe('--mount and --tmpfs', () => {
  it('bind requires an existing source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsd-vol-'));
    try {
      expect(parseMountFlag(`type=bind,source=${dir},target=/d,readonly`)).toEqual({
        kind: 'bind', source: dir, target: '/d', readonly: true, createSource: false, recursive: true,
      });
      expect(parseMountFlag(`type=bind,src=${dir},dst=/d,ro=false,bind-nonrecursive`)).toMatchObject({ readonly: false, recursive: false });
      const e = (() => { try { parseMountFlag(`type=bind,source=${dir}/nope,target=/d`); } catch (x) { return x as TsdError; } })();
      expect(e).toBeInstanceOf(TsdError);
      expect(e!.message).toBe(`invalid mount config for type "bind": bind source path does not exist: ${dir}/nope`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('volume (default type) and tmpfs', () => {
    expect(parseMountFlag('source=v1,target=/v')).toEqual({ kind: 'volume', name: 'v1', target: '/v', readonly: false, nocopy: false });
    expect(parseMountFlag('type=volume,target=/v,volume-nocopy')).toMatchObject({ name: undefined, nocopy: true });
    expect(parseMountFlag('source=vv,target=/v,volume-label=a=1,volume-label=b')).toMatchObject({ labels: { a: '1', b: '' } });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770')).toEqual({ kind: 'tmpfs', target: '/t', flags: NSN, data: 'size=64m,mode=1770' });
    expect(parseMountFlag('type=tmpfs,target=/t,readonly').flags & MS.RDONLY).toBe(MS.RDONLY);
    expect(parseTmpfsFlag('/run')).toEqual({ kind: 'tmpfs', target: '/run', flags: NSN, data: '' });
    expect(parseTmpfsFlag('/run:rw,exec,size=10m,mode=755')).toEqual({ kind: 'tmpfs', target: '/run', flags: MS.NOSUID | MS.NODEV, data: 'size=10m,mode=755' });
  });
  it('refuses bad --mount and --tmpfs values', () => {
    expect(() => parseMountFlag('type=bind,target=/x')).toThrow('Source must not be empty');
    expect(() => parseMountFlag('type=tmpfs,source=x,target=/x')).toThrow('source is not allowed');
    expect(() => parseMountFlag('type=nfs,target=/x')).toThrow('invalid mount type');
    expect(() => parseMountFlag('type=volume,source=v')).toThrow('target is required');
    expect(() => parseMountFlag('type=volume,target=/x,bogus=1')).toThrow("unexpected key 'bogus'");
    expect(() => parseMountFlag('type=volume,target=/x,tmpfs-size=1')).toThrow('cannot be used with type=volume');
    expect(() => parseMountFlag('type=tmpfs,target=/x,tmpfs-size=lots')).toThrow('tmpfs-size');
    expect(() => parseTmpfsFlag('/x:size=big')).toThrow('tmpfs size');
    expect(() => parseTmpfsFlag('/x:wat')).toThrow('invalid tmpfs option');
  });
});

describe('planMounts', () => {
  it('adds image VOLUMEs not covered by user mounts and refuses duplicates', () => {
    const plan = planMounts({ volume: ['named:/data'], tmpfs: ['/tmp'] }, { '/data': {}, '/logs/': {} });
    expect(plan.map((m) => `${m.kind}:${m.target}`)).toEqual(['volume:/data', 'tmpfs:/tmp', 'volume:/logs']);
    expect((plan[2] as { name?: string }).name).toBeUndefined();
    expect(() => planMounts({ volume: ['/a:/x'], tmpfs: ['/x'] })).toThrow('Duplicate mount point: /x');
  });
});

describe('--ulimit against the host', () => {
  const limits = `Max open files            20000                20000                files\nMax core file size        0                    unlimited            bytes\n`;
  it('accepts limits within the hard limit; refuses raising it without CAP_SYS_RESOURCE', () => {
    expect(planRlimits(['nofile=1024:2048', 'core=-1'], { hostCaps: [] }, limits)).toEqual([
      { name: 'nofile', resource: 7, soft: 1024, hard: 2048 },
      { name: 'core', resource: 4, soft: -1, hard: -1 },
    ]);
    expect(() => planRlimits(['nofile=65536'], { hostCaps: [] }, limits)).toThrow(/raising it needs CAP_SYS_RESOURCE/);
    expect(planRlimits(['nofile=65536'], { hostCaps: ['SYS_RESOURCE'] }, limits)).toHaveLength(1);
  });
});

describe('copy-up path resolution inside the image root', () => {
  it('follows symlinks as the container would, never out of the root', async () => {
    const { resolveInRoot } = await import('../../src/rootfs/copyup-helper.js');
    const { mkdirSync, symlinkSync } = await import('node:fs');
    const root = mkdtempSync(join(tmpdir(), 'tsd-rir-'));
    try {
      mkdirSync(join(root, 'data', 'sub'), { recursive: true });
      symlinkSync('/data', join(root, 'abs'));
      symlinkSync('data/sub', join(root, 'rel'));
      symlinkSync('/../../../../etc', join(root, 'escape'));
      symlinkSync('loop', join(root, 'loop'));
      expect(resolveInRoot(root, '/abs/sub')).toBe(join(root, 'data', 'sub'));
      expect(resolveInRoot(root, '/rel/../sub')).toBe(join(root, 'data', 'sub'));
      expect(resolveInRoot(root, '/../../data')).toBe(join(root, 'data'));
      expect(resolveInRoot(root, '/escape')).toBeUndefined(); // <root>/etc does not exist: not the host's /etc
      mkdirSync(join(root, 'etc'));
      expect(resolveInRoot(root, '/escape')).toBe(join(root, 'etc'));
      expect(resolveInRoot(root, '/loop')).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('host devices for --privileged', () => {
  it('splits dev_t as glibc does', async () => {
    const { splitDev } = await import('../../src/rootfs/host-devices.js');
    expect(splitDev((7 << 8) | 0)).toEqual({ major: 7, minor: 0 });
    expect(splitDev((136 << 8) | 5)).toEqual({ major: 136, minor: 5 });
    expect(splitDev((254 << 8) | 0)).toEqual({ major: 254, minor: 0 });
  });
});
