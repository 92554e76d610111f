/**
 * A dockerd of a test's own, inside the test's sandbox namespaces (its bridge and iptables
 * rules live in the sandbox's network namespace, never the host's), with its own data root,
 * exec root, pid file, socket and config file; stopped by its pid. `hasDockerd` says whether
 * install.sh could install docker.io here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { RunResult, Sandbox } from './sandbox.js';

const DOCKERD = '/usr/sbin/dockerd';
export const hasDockerd = existsSync(DOCKERD) && (existsSync('/usr/bin/docker') || existsSync('/usr/local/bin/docker'));

/** Remove the (empty) cgroup parent dockerd made for its containers, in every hierarchy, deepest first. */
export function removeCgroups(name: string): void {
  const roots = readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  const gone = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) gone(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      /* still in use: left for the kernel to report */
    }
  };
  for (const r of [...roots, '/sys/fs/cgroup']) if (existsSync(join(r, name))) gone(join(r, name));
}

export interface Dockerd {
  dir: string;
  sock: string;
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startDockerd(sb: Sandbox): Promise<Dockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-dkd-'));
  const sock = join(dir, 'docker.sock');
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  writeFileSync(join(dir, 'daemon.json'), '{}'); // not the host's /etc/docker/daemon.json
  const child: ChildProcess = spawn(
    sb.enter[0]!,
    [...sb.enter.slice(1), DOCKERD, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'),
      '-H', `unix://${sock}`, '--cgroup-parent', `/tsdocker-test-${basename(dir)}`, '--config-file', join(dir, 'daemon.json')],
    { stdio: ['ignore', logFd, logFd] },
  );
  const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> =>
    sb.sh(['docker', '-H', `unix://${sock}`, ...args], { timeoutMs: 60_000, ...opts });
  const stop = async (): Promise<void> => {
    const ids = (await docker(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => undefined);
    const pidFile = join(dir, 'dockerd.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : child.pid;
    if (pid && child.exitCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      } catch {
        /* already gone */
      }
    }
    removeCgroups(`tsdocker-test-${basename(dir)}`);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if ((await docker(['version'], { timeoutMs: 10_000 }).catch(() => ({ code: 1 }))).code === 0) return { dir, sock, docker, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000);
  await stop();
  throw new Error(`dockerd did not come up:\n${tail}`);
}
