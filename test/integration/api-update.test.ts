/**
 * POST /containers/{id}/update driven by the real docker client (Debian's docker.io 20.10):
 * `docker update` changes a running container's cgroup, and a field tsdocker does not take is
 * refused. The server runs inside the sandbox and is stopped by pid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, tsdOk, type RunResult, type Sandbox } from '../helpers/sandbox.js';

const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
const V1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');

let sb: Sandbox;
let server: ChildProcess | undefined;
let dockerConfig: string;
const before = hostSnapshot();

beforeAll(async () => {
  sb = await createSandbox('tsd-apiupd');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
  dockerConfig = mkdtempSync(join(tmpdir(), 'tsd-apiupd-cfg-'));
  const child = sb.spawnTsd(['serve', '-H', `unix://${join(sb.root, 'api.sock')}`]);
  server = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('\n') && resolve());
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  await sb?.close();
  if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  expect(hostSnapshot()).toEqual(before);
});

const docker = (args: string[]): Promise<RunResult> =>
  sb.sh(['env', `DOCKER_CONFIG=${dockerConfig}`, DOCKER, '-H', `unix://${join(sb.root, 'api.sock')}`, ...args]);

describe.runIf(V1)('docker update through tsdocker serve', () => {
  it('changes the limits of a running container; refuses what tsdocker does not take', async () => {
    await tsdOk(sb, ['run', '-d', '--name', 'up', '-m', '64m', 'busybox', 'sleep', '1000']);
    const r = await docker(['update', '-m', '96m', '--cpu-shares', '256', '--pids-limit', '40', 'up']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'up\n', '']);
    const cg = async (f: string) => (await tsdOk(sb, ['exec', 'up', 'cat', `/sys/fs/cgroup/${f}`])).trim();
    expect([await cg('memory/memory.limit_in_bytes'), await cg('cpu/cpu.shares'), await cg('pids/pids.max')]).toEqual([String(96 << 20), '256', '40']);
    const h = JSON.parse((await docker(['inspect', 'up'])).stdout)[0].HostConfig;
    expect([h.Memory, h.CpuShares, h.PidsLimit]).toEqual([96 << 20, 256, 40]);
    const bad = await docker(['update', '--blkio-weight', '300', 'up']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('BlkioWeight is not supported by tsdocker update yet')]);
    const missing = await docker(['update', '-m', '96m', 'nosuch']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('No such container: nosuch')]);
    await tsdOk(sb, ['rm', '-f', 'up']);
  });
});
