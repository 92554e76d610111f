import { describe, expect, it } from 'vitest';
import { parseProfile, renderProfile } from '../../src/runtime/seccomp.js';
import { defaultSeccompProfile } from '../../src/runtime/seccomp-default.js';
import { parseSecurityOpts, planSecurity, hostBoundingCaps, renderSeccomp } from '../../src/runtime/security.js';
import { DEFAULT_CAPS, CAPABILITIES } from '../../src/runtime/caps.js';
import { TsdError } from '../../src/sys/errors.js';

const ctx = { caps: DEFAULT_CAPS, arch: 'amd64', kernel: '6.18.44' };
const allowed = (text: string) => new Set(text.split('\n').filter((l) => /^rule allow \S+$/.test(l)).map((l) => l.split(' ')[2]));

describe('the default profile', () => {
  const text = renderProfile(defaultSeccompProfile(), ctx);
  const plain = allowed(text);
  it('denies by default with EPERM and allows ordinary syscalls', () => {
    expect(text.split('\n')[0]).toBe('default errno:1');
    for (const s of ['read', 'write', 'openat', 'execve', 'mmap', 'futex', 'exit_group', 'clock_gettime', 'chroot', 'ptrace']) expect(plain).toContain(s);
  });
  it('blocks the dangerous syscalls for a default container', () => {
    for (const s of [
      'mount', 'umount2', 'kexec_load', 'kexec_file_load', 'bpf', 'unshare', 'setns', 'keyctl', 'add_key', 'request_key', 'reboot',
      'swapon', 'swapoff', 'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'perf_event_open', 'acct',
      'settimeofday', 'clone3', 'userfaultfd', 'io_uring_setup', 'process_vm_readv', 'fsopen', 'pivot_root',
    ]) {
      expect(plain.has(s), s).toBe(false);
    }
    expect(text).not.toMatch(/^rule allow (mount|unshare|bpf|keyctl)\b/m);
  });
  it('allows clone only without namespace flags, and clone3 falls back with ENOSYS', () => {
    expect(text).toContain('rule allow clone 0 masked_eq 2114060288 0');
    expect(text).toContain('rule errno:38 clone3');
    expect(plain.has('clone')).toBe(false);
  });
  it('restricts personality and socket arguments', () => {
    expect(text).toContain('rule allow personality 0 eq 0');
    expect(text).toContain('rule allow personality 0 eq 4294967295');
    expect(text).toContain('rule allow socket 0 ne 40');
  });
  it('opens the syscalls a capability makes legitimate', () => {
    const admin = allowed(renderProfile(defaultSeccompProfile(), { ...ctx, caps: [...DEFAULT_CAPS, 'SYS_ADMIN'] }));
    for (const s of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'sethostname']) expect(admin).toContain(s);
    const boot = allowed(renderProfile(defaultSeccompProfile(), { ...ctx, caps: [...DEFAULT_CAPS, 'SYS_BOOT'] }));
    expect(boot).toContain('reboot');
    const noChroot = allowed(renderProfile(defaultSeccompProfile(), { ...ctx, caps: ['CHOWN'] }));
    expect(noChroot.has('chroot')).toBe(false);
  });
  it('honours architecture and kernel conditions', () => {
    expect(plain).toContain('modify_ldt');
    const arm = allowed(renderProfile(defaultSeccompProfile(), { ...ctx, arch: 'arm64' }));
    expect(arm.has('modify_ldt')).toBe(false);
    expect(arm).toContain('cacheflush');
    const old = allowed(renderProfile(defaultSeccompProfile(), { ...ctx, kernel: '4.4.0' }));
    expect(old.has('ptrace')).toBe(false);
  });
});

describe('Docker-format profiles', () => {
  it('renders actions, errnoRet, AND-ed conditions and split same-argument conditions', () => {
    const p = parseProfile(JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['kill'], action: 'SCMP_ACT_KILL' },
        { name: 'getpid', action: 'SCMP_ACT_LOG' },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
      ],
    }), 'p.json');
    expect(renderProfile(p, ctx)).toBe([
      'default allow',
      'rule errno:13 mkdir',
      'rule errno:13 rmdir',
      'rule kill kill',
      'rule log getpid',
      'rule errno:1 socket 0 eq 2 1 eq 1',
      'rule errno:1 personality 0 eq 1',
      'rule errno:1 personality 0 eq 2',
      '',
    ].join('\n'));
  });
  it('refuses bad profiles with one line that names the problem', () => {
    const bad = (text: string) => {
      try {
        parseProfile(text, '/x.json');
      } catch (e) {
        expect(e).toBeInstanceOf(TsdError);
        expect((e as TsdError).exitCode).toBe(125);
        expect((e as TsdError).message).not.toContain('\n');
        return (e as TsdError).message;
      }
      throw new Error('accepted');
    };
    expect(bad('{ nope')).toMatch(/^invalid seccomp profile \/x.json: not valid JSON/);
    expect(bad('[]')).toContain('expected a JSON object');
    expect(bad('{"defaultAction":"SCMP_ACT_NOPE"}')).toContain('unknown action');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}')).toContain('names');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_TRACE"}]}')).toContain('not supported');
    expect(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}')).toContain('index');
  });
});

describe('security options and capabilities', () => {
  const host = CAPABILITIES.filter((c) => c !== 'SYS_RESOURCE');
  it('parses --security-opt forms', () => {
    expect(parseSecurityOpts(['no-new-privileges']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['no-new-privileges:false']).noNewPrivileges).toBe(false);
    expect(parseSecurityOpts(['no-new-privileges=true']).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(['seccomp=unconfined']).seccomp).toEqual({ kind: 'unconfined' });
    expect(parseSecurityOpts(['seccomp:unconfined']).seccomp).toEqual({ kind: 'unconfined' });
    const f = parseSecurityOpts(['seccomp=/p.json'], () => '{"defaultAction":"SCMP_ACT_ALLOW"}').seccomp;
    expect(f.kind).toBe('file');
    expect(() => parseSecurityOpts(['seccomp=/p.json'], () => 'nope')).toThrow(/not valid JSON/);
    expect(() => parseSecurityOpts(['seccomp=/nonexistent/p.json'])).toThrow(/cannot read seccomp profile/);
    expect(() => parseSecurityOpts(['apparmor=x'])).toThrow(/does not apply AppArmor profiles/);
    expect(() => parseSecurityOpts(['label=type:svirt_t'])).toThrow(/SELinux/);
    expect(parseSecurityOpts(['apparmor=unconfined', 'label=disable', 'label:disable']).seccomp).toEqual({ kind: 'default' });
    expect(() => parseSecurityOpts(['bogus'])).toThrow(/invalid --security-opt "bogus"/);
    expect(() => parseSecurityOpts(['no-new-privileges:maybe'])).toThrow(TsdError);
  });
  it('applies cap-add/cap-drop and refuses what the host cannot give', () => {
    const p = planSecurity({ capAdd: ['net_admin'], capDrop: ['CAP_CHOWN'] }, host);
    expect(p.caps).toContain('NET_ADMIN');
    expect(p.caps).not.toContain('CHOWN');
    expect(planSecurity({ capDrop: ['ALL'], capAdd: ['KILL'] }, host).caps).toEqual(['KILL']);
    const all = planSecurity({ capAdd: ['ALL'] }, host);
    expect(all.caps).toEqual(host);
    expect(() => planSecurity({ capAdd: ['SYS_RESOURCE'] }, host)).toThrow(/bounding set does not include it/);
    expect(() => planSecurity({ capAdd: ['NOT_A_CAP'] }, host)).toThrow(/unknown capability/);
    expect(() => planSecurity({ privileged: true, capDrop: ['BOGUS'] }, host)).toThrow(/unknown capability/);
  });
  it('privileged gets every capability of the host and no seccomp', () => {
    const p = planSecurity({ privileged: true }, host);
    expect(p.caps).toEqual(host);
    expect(p.capsMask).toBe((0x1fffeffffffn).toString(16));
    expect(renderSeccomp(p)).toBeUndefined();
    expect(renderSeccomp(planSecurity({}, host))).toMatch(/^default errno:1\n/);
  });
  it('reads the bounding set from /proc/self/status', () => {
    expect(hostBoundingCaps('CapBnd:\t0000000000000003\n')).toEqual(['CHOWN', 'DAC_OVERRIDE']);
  });
});

describe('devices on cgroup v2 (no device filter)', () => {
  it('CAP_MKNOD is left out unless asked for; v1 and privileged keep it', async () => {
    const { guardDevices } = await import('../../src/runtime/resources.js');
    const host = CAPABILITIES.filter((c) => c !== 'SYS_RESOURCE');
    const plain = planSecurity({}, host);
    expect(guardDevices(plain, {}, 'v2').caps).not.toContain('MKNOD');
    expect(guardDevices(plain, {}, 'hybrid').caps).toContain('MKNOD');
    expect(guardDevices(planSecurity({ capAdd: ['MKNOD'] }, host), { capAdd: ['MKNOD'] }, 'v2').caps).toContain('MKNOD');
    expect(guardDevices(planSecurity({ privileged: true }, host), { privileged: true }, 'v2').caps).toContain('MKNOD');
  });
});
