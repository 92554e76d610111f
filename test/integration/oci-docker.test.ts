/**
 * Docker 20.10 with tsdocker-oci as a runtime: a dockerd of the test's own (data root,
 * exec root, pid file, socket) inside a sandbox namespace (its bridge and iptables rules
 * live in the sandbox's network namespace, never the host's), with
 * `--add-runtime tsdocker=bin/tsdocker-oci`, so containerd's runc v2 shim drives our CLI.
 * The image is images/busybox.tar, loaded (never pulled). dockerd (test/helpers/dockerd.ts) is
 * stopped by its pid and its cgroup parent removed.
 * Skipped when dockerd is not installed (install.sh installs docker.io).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, httpGet, PROJECT, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { hasDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { expectShellOnPty } from '../helpers/pty.js';

const OCI = join(PROJECT, 'bin', 'tsdocker-oci');
const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let dk: Dockerd;
let dir: string;
let sock: string;

const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> => dk.docker(args, opts);

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

const T = ['--runtime', 'tsdocker'];

describe.skipIf(!isRoot || !hasDockerd)('docker run --runtime tsdocker', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-dkr');
    dk = await startDockerd(sb, ['--add-runtime', `tsdocker=${OCI}`]);
    ({ dir, sock } = dk);
    await ok(['load', '-i', BUSYBOX_TAR]);
  }, 120_000);

  afterAll(async () => {
    await dk?.stop(); // removes the containers, stops dockerd by pid, removes its cgroup parent
    await sb?.close();
  }, 120_000);

  it('reports tsdocker-oci as a runtime', async () => {
    expect(await ok(['info', '--format', '{{json .Runtimes}}'])).toContain('tsdocker');
  });

  it('runs --rm true, passes exit codes and output, and reports a missing command', async () => {
    expect((await docker(['run', '--rm', ...T, 'busybox', 'true'])).code).toBe(0);
    expect((await docker(['run', '--rm', ...T, 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    expect(await ok(['run', '--rm', ...T, 'busybox', 'echo', 'hello from tsdocker-oci'])).toBe('hello from tsdocker-oci\n');
    expect(await ok(['run', '--rm', ...T, '-i', 'busybox', 'cat'])).toBe('');
    const r = await docker(['run', '--rm', ...T, 'busybox', '/nonexistent']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/OCI runtime create failed: .*nonexistent/);
  });

  it('gives a pty with -t', async () => {
    const out = await ok(['run', '--rm', ...T, '-t', 'busybox', 'sh', '-c', 'tty; [ -t 1 ] && echo yes']);
    expect(out).toMatch(/\/dev\/pts\/\d+\r?\nyes/);
  });

  it('runs -it and exec -it on a real terminal: an interactive shell on a pty, with its exit status', async () => {
    const dk = `docker -H unix://${sock}`;
    await expectShellOnPty(sb, `${dk} run --rm -it ${T.join(' ')} busybox sh`, 6);
    const id = (await ok(['run', '-d', ...T, 'busybox', 'sleep', '300'])).trim();
    await expectShellOnPty(sb, `${dk} exec -it ${id} sh`, 7);
    await ok(['rm', '-f', id]);
  });

  it('runs -d, logs, exec, top, pause/unpause, update, kill, stop and rm -f', async () => {
    const id = (await ok(['run', '-d', ...T, 'busybox', 'sh', '-c', 'echo started; while sleep 0.2; do :; done'])).trim();
    for (let i = 0; i < 50 && !(await ok(['logs', id])).includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await ok(['logs', id])).toContain('started');
    // the shim drove tsdocker-oci: its record (with the monitor's spec beside it) is under the shim's --root
    const ours = join(dir, 'exec', 'runtime-runc', 'moby', id, 'spec');
    expect((await sb.sh(['test', '-f', ours])).code).toBe(0);
    expect(await ok(['exec', id, 'sh', '-c', 'echo in-exec $$'])).toMatch(/^in-exec \d+\n$/);
    expect((await docker(['exec', id, 'sh', '-c', 'exit 5'])).code).toBe(5);
    expect(await ok(['exec', '-t', id, 'tty'])).toMatch(/\/dev\/pts\/\d+/);
    expect(await ok(['top', id])).toContain('while sleep');
    await ok(['pause', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('paused');
    await ok(['unpause', id]);
    await ok(['update', '--memory', '64m', '--memory-swap', '128m', '--pids-limit', '50', id]);
    expect((await ok(['exec', id, 'cat', '/sys/fs/cgroup/pids/pids.max'])).trim()).toBe('50');
    await ok(['stop', '-t', '1', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).trim()).toMatch(/^exited (137|143)$/);
    await ok(['start', id]);
    await ok(['kill', id]);
    expect((await ok(['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('exited');
    await ok(['start', id]);
    await ok(['rm', '-f', id]);
    expect((await docker(['inspect', id])).code).not.toBe(0);
    expect((await sb.sh(['test', '-e', join(dir, 'exec', 'runtime-runc', 'moby', id)])).code).not.toBe(0);
  });

  it('wires the default bridge through the prestart hook, publishes -p, and resolves names on a user network', async () => {
    expect(await ok(['run', '--rm', ...T, 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0'])).toMatch(/inet 172\.17\.\d+\.\d+\/16/);
    const web = (await ok(['run', '-d', ...T, '-p', '18080:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'])).trim();
    expect((await httpGet(sb, 'http://127.0.0.1:18080/hostname')).trim()).toBe(web.slice(0, 12));
    await ok(['network', 'create', 'tsdnet']);
    await ok(['run', '-d', '--name', 'srv', '--network', 'tsdnet', ...T, 'busybox', 'sleep', '100']);
    expect(await ok(['run', '--rm', '--network', 'tsdnet', ...T, 'busybox', 'ping', '-c', '1', 'srv'])).toContain('1 packets received');
    await ok(['rm', '-f', web, 'srv']);
    await ok(['network', 'rm', 'tsdnet']);
  });

  it('applies --read-only, -m, --cpus and --pids-limit', async () => {
    const out = await ok([
      'run', '--rm', ...T, '--read-only', '-m', '64m', '--cpus', '0.5', '--pids-limit', '40', 'busybox', 'sh', '-c',
      'touch /x 2>/dev/null && echo writable || echo read-only; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max',
    ]);
    expect(out).toBe(`read-only\n${64 << 20}\n50000\n40\n`);
  });
});
