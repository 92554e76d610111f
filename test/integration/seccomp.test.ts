/**
 * The syscall filter and privileges, proven from inside containers: the default seccomp
 * profile (EPERM for blocked syscalls, capability-gated ones), unconfined, a custom
 * Docker-format profile, capabilities added and dropped, --privileged (host bounding set,
 * all devices, no seccomp), no-new-privileges, and the device allow list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';
import { capMask, DEFAULT_CAPS } from '../../src/runtime/caps.js';

const layout = detectLayout();
const parent = `tsdocker-test-${randomBytes(4).toString('hex')}`;
const env = { ...process.env, TSDOCKER_CGROUP_PARENT: parent };
const hierarchies = [...new Set([...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])])];
const hostBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
let sb: Sandbox;
let work: string;
const before = hostSnapshot();

const tsd = (args: string[]): Promise<RunResult> => sb.tsd(args, { env });
const status = async (flags: string[]): Promise<Record<string, string>> => {
  const r = await tsd(['run', '--rm', ...flags, 'busybox', 'cat', '/proc/self/status']);
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/:\s*/, 2) as [string, string]));
};
const hex = (s: string) => BigInt(`0x${s}`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsd-sectest-'));
  sb = await createSandbox('tsd-sec');
  expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  rmSync(work, { recursive: true, force: true });
  for (const h of hierarchies) {
    const d = join(h, parent);
    if (existsSync(d)) {
      expect(readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
      rmdirSync(d);
    }
  }
  expect(hostSnapshot()).toEqual(before);
});

describe('seccomp', () => {
  it('the default profile is installed and blocks unshare of a user namespace with EPERM; unconfined allows it', async () => {
    expect((await status([])).Seccomp).toBe('2');
    const blocked = await tsd(['run', '--rm', 'busybox', 'unshare', '-U', 'true']);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    const free = await tsd(['run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'unshare', '-U', 'true']);
    expect(free.code, free.stderr).toBe(0);
    expect((await status(['--security-opt', 'seccomp=unconfined'])).Seccomp).toBe('0');
  });

  it('mount is blocked without CAP_SYS_ADMIN and allowed by the default profile with it', async () => {
    const cmd = ['sh', '-c', 'mkdir -p /mnt2 && mount -t tmpfs none /mnt2 && echo mounted'];
    const denied = await tsd(['run', '--rm', 'busybox', ...cmd]);
    expect(denied.stdout).toBe('');
    expect(denied.code).not.toBe(0);
    const admin = await tsd(['run', '--rm', '--cap-add', 'SYS_ADMIN', 'busybox', ...cmd]);
    expect(admin.stdout, admin.stderr).toBe('mounted\n');
  });

  it('a Docker-format profile is honoured: mount blocked even with CAP_SYS_ADMIN, errnoRet used', async () => {
    const profile = join(work, 'profile.json');
    writeFileSync(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mount'], action: 'SCMP_ACT_ERRNO' },
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      ],
    }));
    const r = await tsd(['run', '--rm', '--cap-add', 'SYS_ADMIN', '--security-opt', `seccomp=${profile}`, 'busybox', 'sh', '-c',
      'mount -t tmpfs none /tmp; mkdir /tmp/d; echo done']);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/mount: permission denied|Operation not permitted/);
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Permission denied/);
  });

  it('exec uses the filter rendered at start, even when the profile file is gone; unconfined stays unconfined', async () => {
    const profile = join(work, 'gone.json');
    writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
    expect((await tsd(['run', '-d', '--name', 'pf', '--security-opt', `seccomp=${profile}`, 'busybox', 'sleep', '60'])).code).toBe(0);
    rmSync(profile);
    const r = await tsd(['exec', 'pf', 'mkdir', '/tmp/d']);
    expect(r.stderr).toMatch(/Permission denied/);
    expect((await tsd(['run', '-d', '--name', 'unc', '--security-opt', 'seccomp=unconfined', 'busybox', 'sleep', '60'])).code).toBe(0);
    expect((await tsd(['exec', 'unc', 'grep', 'Seccomp:', '/proc/self/status'])).stdout).toMatch(/Seccomp:\s+0/);
    await tsd(['rm', '-f', 'pf', 'unc']);
  });

  it('a compiled filter is kept by the hash of its text and reused; a file that does not check out is compiled again', async () => {
    const cache = join(sb.root, 'cache', 'seccomp');
    expect((await tsd(['run', '--rm', 'busybox', 'true'])).code).toBe(0);
    const files = readdirSync(cache).filter((f) => f.endsWith('.bpf'));
    expect(files.length).toBeGreaterThan(0);
    // the cached program is what a later start installs: it still blocks what the profile blocks
    const again = await tsd(['run', '--rm', 'busybox', 'unshare', '-U', 'true']);
    expect(again.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    // a program altered on disk (here: every instruction made "allow", its hash no longer
    // matches) is not installed: the profile is compiled from its text again, and written anew
    const allow = Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]); // BPF_RET|BPF_K SECCOMP_RET_ALLOW
    for (const f of files) {
      const b = readFileSync(join(cache, f));
      for (let off = 32; off + 8 <= b.length; off += 8) allow.copy(b, off);
      writeFileSync(join(cache, f), b);
    }
    const afterTamper = await tsd(['run', '--rm', 'busybox', 'unshare', '-U', 'true']);
    expect(afterTamper.code).not.toBe(0);
    expect(afterTamper.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    expect((await status([])).Seccomp).toBe('2');
    for (const f of files) {
      const b = readFileSync(join(cache, f));
      expect(b.subarray(0, 7).toString()).toBe('TSDBPF1');
    }
    const ok = await tsd(['run', '--rm', 'busybox', 'true']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a profile that is not valid JSON: one line, exit 125', async () => {
    const profile = join(work, 'bad.json');
    writeFileSync(profile, '{ "defaultAction": ');
    const r = await tsd(['run', '--rm', '--security-opt', `seccomp=${profile}`, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^tsdocker: invalid seccomp profile ${profile}: not valid JSON`));
    expect((await tsd(['ps', '-aq'])).stdout).toBe('');
  });
});

describe('capabilities', () => {
  it("a default container has Docker's default set", async () => {
    const s = await status([]);
    expect(hex(s.CapEff!)).toBe(hex(capMask(DEFAULT_CAPS)));
    expect(hex(s.CapBnd!)).toBe(hex(capMask(DEFAULT_CAPS)));
    expect(s.NoNewPrivs).toBe('0');
  });

  it('--cap-add and --cap-drop change it, and the change is felt', async () => {
    const s = await status(['--cap-add', 'NET_ADMIN', '--cap-drop', 'CAP_CHOWN']);
    expect(hex(s.CapEff!) & (1n << 12n)).toBe(1n << 12n);
    expect(hex(s.CapEff!) & 1n).toBe(0n);
    const chown = await tsd(['run', '--rm', '--cap-drop', 'CHOWN', 'busybox', 'chown', '1', '/tmp']);
    expect(chown.stderr).toMatch(/Operation not permitted/);
    expect((await tsd(['run', '--rm', 'busybox', 'chown', '1', '/tmp'])).code).toBe(0);
    expect(hex((await status(['--cap-drop', 'ALL'])).CapEff!)).toBe(0n);
  });

  // this machine's bounding set lacks CAP_SYS_RESOURCE (bit 24)
  it.runIf((hex(hostBnd) & (1n << 24n)) === 0n)('a capability outside the host bounding set is refused with one line', async () => {
    const r = await tsd(['run', '--rm', '--cap-add', 'SYS_RESOURCE', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/cannot add capability SYS_RESOURCE: this host's capability bounding set does not include it/);
  });

  it("exec runs with the container's capabilities, seccomp profile and no-new-privileges", async () => {
    expect((await tsd(['run', '-d', '--name', 'ex', '--cap-drop', 'ALL', '--cap-add', 'KILL', '--security-opt', 'no-new-privileges', 'busybox', 'sleep', '60'])).code).toBe(0);
    const r = await tsd(['exec', 'ex', 'cat', '/proc/self/status']);
    const s = Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/:\s*/, 2) as [string, string]));
    expect(hex(s.CapEff!)).toBe(1n << 5n);
    expect(s.Seccomp).toBe('2');
    expect(s.NoNewPrivs).toBe('1');
    expect((await tsd(['exec', 'ex', 'unshare', '-U', 'true'])).stderr).toMatch(/Operation not permitted/);
    await tsd(['rm', '-f', 'ex']);
  });

  it('--privileged: every capability of the host, no seccomp; --security-opt no-new-privileges', async () => {
    const s = await status(['--privileged']);
    expect(hex(s.CapEff!)).toBe(hex(hostBnd));
    expect(s.Seccomp).toBe('0');
    expect((await status(['--security-opt', 'no-new-privileges'])).NoNewPrivs).toBe('1');
  });

  it('devices: a node made with mknod cannot be opened unless --privileged', async () => {
    const cmd = ['sh', '-c', 'mknod /tmp/l b 7 0 && : < /tmp/l && echo opened'];
    const denied = await tsd(['run', '--rm', 'busybox', ...cmd]);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/Operation not permitted/);
    const priv = await tsd(['run', '--rm', '--privileged', 'busybox', ...cmd]);
    expect(priv.stdout, priv.stderr).toBe('opened\n');
  });

  it.runIf(existsSync('/dev/loop0'))("--privileged gets the host's device nodes; a default container does not", async () => {
    const cmd = ['sh', '-c', ': < /dev/loop0 && echo opened'];
    expect((await tsd(['run', '--rm', '--privileged', 'busybox', ...cmd])).stdout).toBe('opened\n');
    expect((await tsd(['run', '--rm', 'busybox', ...cmd])).stderr).toMatch(/no such file/i);
  });
});
