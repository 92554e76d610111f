/**
 * Podman 4.3 with `--runtime bin/tsdocker-oci`: conmon drives our CLI. Podman gets its own
 * --root, --runroot and --tmpdir (vfs storage, cgroupfs, file events) inside a sandbox;
 * the image is images/busybox.tar, loaded. Podman asks for NOFILE 1048576 and NPROC 32768
 * by default, above what this host lets any runtime set (no CAP_SYS_RESOURCE), so every
 * run passes explicit --ulimit values. Skipped when podman is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, PROJECT, type RunResult, type Sandbox } from '../helpers/sandbox.js';

const OCI = join(PROJECT, 'bin', 'tsdocker-oci');
const ready = process.getuid?.() === 0 && existsSync('/usr/bin/podman');
const U = ['--network', 'none', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];
let sb: Sandbox;
let dir: string;

const podman = (args: string[]): Promise<RunResult> =>
  sb.sh(
    ['podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', OCI, ...args],
    { timeoutMs: 60_000 },
  );

async function ok(args: string[]): Promise<string> {
  const r = await podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!ready)('podman --runtime tsdocker-oci', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-pm');
    dir = mkdtempSync(join(tmpdir(), 'tsd-pm-'));
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

  it('applies -m, --pids-limit and --read-only', async () => {
    const out = await ok(['run', '--rm', ...U, '-m', '64m', '--pids-limit', '30', '--read-only', 'busybox', 'sh', '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; touch /x 2>/dev/null || echo read-only']);
    expect(out).toBe(`${64 << 20}\n30\nread-only\n`);
  });
});
