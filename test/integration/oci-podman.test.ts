/**
 * Podman 4.3 with `--runtime bin/tsdocker-oci`: conmon drives our CLI. Podman gets its own
 * --root, --runroot and --tmpdir (vfs storage, cgroupfs, file events) inside a sandbox;
 * the image is images/busybox.tar, loaded. Podman asks for NOFILE 1048576 and NPROC 32768
 * by default, above what this host lets any runtime set (no CAP_SYS_RESOURCE), so every
 * run passes explicit --ulimit values. Networks go through netavark (and aardvark-dns for
 * names), its configs in the test's dir; netavark keeps its run state under /run/containers,
 * so the sandbox gets a /run of its own (a tmpfs in its mount namespace) and the host's /run
 * is never written. Skipped when podman is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, PROJECT, type RunResult, type Sandbox } from '../helpers/sandbox.js';

const OCI = join(PROJECT, 'bin', 'tsdocker-oci');
const ready = process.getuid?.() === 0 && existsSync('/usr/bin/podman');
const L = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];
const U = ['--network', 'none', ...L];
let sb: Sandbox;
let dir: string;

/** podman with the test's own storage, run state, network configs and tsdocker-oci as its runtime */
const pm = (): string[] => [
  'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs',
  '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--network-backend', 'netavark', '--network-config-dir', join(dir, 'networks'),
  '--runtime', OCI,
];

const podman = (args: string[]): Promise<RunResult> => sb.sh([...pm(), ...args], { timeoutMs: 60_000 });

async function ok(args: string[]): Promise<string> {
  const r = await podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!ready)('podman --runtime tsdocker-oci', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-pm');
    dir = mkdtempSync(join(tmpdir(), 'tsd-pm-'));
    expect((await sb.sh(['mount', '-t', 'tmpfs', 'tmpfs', '/run'])).code).toBe(0);
    await ok(['load', '-i', BUSYBOX_TAR]);
  }, 120_000);

  afterAll(async () => {
    if (sb && dir) await podman(['rm', '-af']).catch(() => undefined);
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('runs --rm, passes exit codes and output, and gives a pty with -t', async () => {
    expect(await ok(['info', '--format', '{{.Host.OCIRuntime.Path}}'])).toContain('tsdocker-oci');
    expect((await podman(['run', '--rm', ...U, 'busybox', 'true'])).code).toBe(0);
    expect((await podman(['run', '--rm', ...U, 'busybox', 'sh', '-c', 'exit 4'])).code).toBe(4);
    expect(await ok(['run', '--rm', ...U, 'busybox', 'echo', 'hi from podman'])).toBe('hi from podman\n');
    expect(await ok(['run', '--rm', '-t', ...U, 'busybox', 'tty'])).toMatch(/\/dev\/pts\/\d+/);
  });

  it('runs -d, logs, exec, top, pause/unpause, stop, kill and rm -f', async () => {
    const id = (await ok(['run', '-d', ...U, 'busybox', 'sh', '-c', 'echo up; sleep 100'])).trim();
    for (let i = 0; i < 50 && !(await ok(['logs', id])).includes('up'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await ok(['logs', id])).toContain('up');
    expect((await podman(['exec', id, 'sh', '-c', 'echo in-exec; exit 2'])).code).toBe(2);
    expect(await ok(['exec', '-t', id, 'tty'])).toMatch(/\/dev\/pts\/\d+/);
    expect(await ok(['top', id])).toContain('sleep 100');
    await ok(['pause', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('paused');
    await ok(['unpause', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('running');
    await ok(['stop', '-t', '1', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).trim()).toBe('exited 137');
    await ok(['start', id]);
    await ok(['kill', id]);
    await ok(['rm', '-f', id]);
    expect((await podman(['inspect', id])).code).not.toBe(0);
  });

  it('runs -it and exec -it on a real terminal: an interactive shell on a pty, with its exit status', async () => {
    // `script` (util-linux) gives podman a pty of its own, as a person's terminal would
    const p = pm().join(' ');
    const it1 = await sb.sh(['script', '-qec', `${p} run --rm -it ${U.join(' ')} busybox sh`, '/dev/null'], {
      input: 'tty; echo sum-$((40+2))\nexit 6\n',
    });
    const out1 = it1.stdout.replace(/\r/g, '');
    expect(out1, `stderr: ${it1.stderr}`).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out1).toContain('sum-42\n');
    expect(it1.code).toBe(6);
    const id = (await ok(['run', '-d', ...U, 'busybox', 'sleep', '300'])).trim();
    const it2 = await sb.sh(['script', '-qec', `${p} exec -it ${id} sh`, '/dev/null'], { input: 'tty; echo in-$((1+1))\nexit 7\n' });
    const out2 = it2.stdout.replace(/\r/g, '');
    expect(out2, `stderr: ${it2.stderr}`).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out2).toContain('in-2\n');
    expect(it2.code).toBe(7);
    await ok(['rm', '-f', '-t', '0', id]);
  });

  it('updates the cgroup limits of a running container', async () => {
    // podman 4.3's update has no --pids-limit
    const id = (await ok(['run', '-d', ...U, '-m', '32m', 'busybox', 'sleep', '300'])).trim();
    await ok(['update', '--memory', '64m', '--cpus', '0.5', id]);
    expect(await ok(['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'])).toBe(`${64 << 20}\n50000\n`);
    await ok(['rm', '-f', '-t', '0', id]);
  });

  it('wires the default network with -p, and resolves names on a user network', async () => {
    expect(await ok(['run', '--rm', ...L, 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).toMatch(/inet 10\.88\.\d+\.\d+\/16/);
    const web = (await ok(['run', '-d', ...L, '-p', '18081:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])).trim();
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = (await sb.sh(['wget', '-qO-', 'http://127.0.0.1:18081/hostname'])).stdout;
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.trim()).toBe(web.slice(0, 12));
    await ok(['network', 'create', 'tsdnet']);
    await ok(['run', '-d', '--name', 'srv', '--network', 'tsdnet', ...L, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    // podman drops NET_RAW (no ping): ask srv by name over HTTP
    expect((await ok(['run', '--rm', '--network', 'tsdnet', ...L, 'busybox', 'wget', '-qO-', 'http://srv/hostname'])).trim()).toMatch(/^[0-9a-f]{12}$/);
    await ok(['rm', '-f', '-t', '0', web, 'srv']);
    await ok(['network', 'rm', 'tsdnet']);
  });

  it('applies -m, --cpus, --pids-limit and --read-only', async () => {
    const out = await ok(['run', '--rm', ...U, '-m', '64m', '--cpus', '0.5', '--pids-limit', '30', '--read-only', 'busybox', 'sh', '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max; touch /x 2>/dev/null || echo read-only']);
    expect(out).toBe(`${64 << 20}\n50000\n30\nread-only\n`);
  });
});
