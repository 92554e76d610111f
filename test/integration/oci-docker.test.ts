/**
 * Docker 20.10 with tsdocker-oci as a runtime: a dockerd of the test's own (data root,
 * exec root, pid file, socket) inside a sandbox namespace (its bridge and iptables rules
 * live in the sandbox's network namespace, never the host's), with
 * `--add-runtime tsdocker=bin/tsdocker-oci`, so containerd's runc v2 shim drives our CLI.
 * The image is images/busybox.tar, loaded (never pulled). dockerd is stopped by its pid.
 * Skipped when dockerd is not installed (install.sh installs docker.io).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, PROJECT, type RunResult, type Sandbox } from '../helpers/sandbox.js';

const OCI = join(PROJECT, 'bin', 'tsdocker-oci');
const DOCKERD = '/usr/sbin/dockerd';
const hasDocker = existsSync(DOCKERD) && (existsSync('/usr/bin/docker') || existsSync('/usr/local/bin/docker'));
const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let dir: string;
let sock: string;
let dockerd: ChildProcess;

const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> =>
  sb.sh(['docker', '-H', `unix://${sock}`, ...args], { timeoutMs: 60_000, ...opts });

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

const T = ['--runtime', 'tsdocker'];

describe.skipIf(!isRoot || !hasDocker)('docker run --runtime tsdocker', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-dkr');
    dir = mkdtempSync(join(tmpdir(), 'tsd-dkr-'));
    sock = join(dir, 'docker.sock');
    const logFd = openSync(join(dir, 'dockerd.log'), 'a');
    writeFileSync(join(dir, 'daemon.json'), '{}'); // not the host's /etc/docker/daemon.json
    dockerd = spawn(
      sb.enter[0]!,
      [
        ...sb.enter.slice(1),
        DOCKERD,
        '--data-root', join(dir, 'data'),
        '--exec-root', join(dir, 'exec'),
        '--pidfile', join(dir, 'dockerd.pid'),
        '-H', `unix://${sock}`,
        '--cgroup-parent', `/tsdocker-test-${basename(dir)}`,
        '--add-runtime', `tsdocker=${OCI}`,
        '--config-file', join(dir, 'daemon.json'),
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
    for (let i = 0; i < 300; i++) {
      if ((await sb.sh(['docker', '-H', `unix://${sock}`, 'version'], { timeoutMs: 10_000 }).catch(() => ({ code: 1 }))).code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await ok(['load', '-i', BUSYBOX_TAR]).catch((err: Error) => {
      throw new Error(`${err.message}\ndockerd log:\n${readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000)}`);
    });
  }, 120_000);

  afterAll(async () => {
    if (sb && sock) {
      const ids = (await docker(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => undefined);
    }
    const pidFile = dir && join(dir, 'dockerd.pid');
    const pid = pidFile && existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : dockerd?.pid;
    if (pid && dockerd.exitCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
        await new Promise((r) => (dockerd.exitCode !== null ? r(undefined) : dockerd.once('exit', r)));
      } catch {
        /* already gone */
      }
    }
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
    // `script` (util-linux) gives the docker client a pty of its own, as a person's terminal would
    const dk = `docker -H unix://${sock}`;
    const it1 = await sb.sh(['script', '-qec', `${dk} run --rm -it ${T.join(' ')} busybox sh`, '/dev/null'], {
      input: 'tty; echo sum-$((40+2))\nexit 6\n',
    });
    const out1 = it1.stdout.replace(/\r/g, '');
    expect(out1, `stderr: ${it1.stderr}`).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out1).toContain('sum-42\n');
    expect(it1.code).toBe(6);
    const id = (await ok(['run', '-d', ...T, 'busybox', 'sleep', '300'])).trim();
    const it2 = await sb.sh(['script', '-qec', `${dk} exec -it ${id} sh`, '/dev/null'], { input: 'tty; echo in-$((1+1))\nexit 7\n' });
    const out2 = it2.stdout.replace(/\r/g, '');
    expect(out2, `stderr: ${it2.stderr}`).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out2).toContain('in-2\n');
    expect(it2.code).toBe(7);
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
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = (await sb.sh(['wget', '-qO-', 'http://127.0.0.1:18080/hostname'])).stdout;
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.trim()).toBe(web.slice(0, 12));
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
