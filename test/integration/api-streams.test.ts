/**
 * Interactive streams through the Engine API, driven by the real docker 20.10 client:
 * `docker run -i` (stdin, closed at its end), `docker run -it` on a real pty (attached
 * before the start, resized), `docker attach` with the detach keys, Ctrl-C in `docker run`
 * (the client sends kill), `docker wait`, and a client that goes away mid-stream leaving
 * no descriptor in the server or the monitor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { onPty, spawnSession, type Session } from '../helpers/session.js';

const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();

let sb: Sandbox;
let server: ChildProcess;
let sock: string;
let dockerConfig: string;
let serverErr = '';
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, seen?: () => string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}${seen ? `; seen: ${JSON.stringify(seen())}` : ''}`);
    await sleep(25);
  }
}

beforeAll(async () => {
  sb = await createSandbox('tsd-apistream');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
  dockerConfig = mkdtempSync(join(tmpdir(), 'tsd-apistream-cfg-'));
  sock = join(sb.root, 'api.sock');
  server = sb.spawnTsd(['serve', '-H', `unix://${sock}`]);
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (serverErr += d));
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
  });
});

afterAll(async () => {
  // the server logs nothing but what went wrong
  expect(serverErr).toBe('');
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  await sb?.close();
  if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  expect(hostSnapshot()).toEqual(before);
});

const dockerArgv = (args: string[]) => [...sb.enter, 'env', `DOCKER_CONFIG=${dockerConfig}`, DOCKER, '-H', `unix://${sock}`, ...args];

function docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return sb.sh(dockerArgv(args).slice(sb.enter.length), opts);
}

/** docker on a real pty (util-linux script). */
function dockerOnPty(args: string, prefix = ''): Session {
  const cmd = `${prefix}${dockerArgv([]).slice(sb.enter.length).join(' ')} ${args}`;
  return onPty(sb.enter, cmd);
}

/** open descriptors; the server's may drop below a mark as clients' keep-alive connections close, never rise with a leak */
const fds = (pid: number | string) => readdirSync(`/proc/${pid}/fd`).length;

async function monitorPid(name: string): Promise<string> {
  const pid = (await docker(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim();
  return readFileSync(`/proc/${pid}/status`, 'utf8').match(/PPid:\s+(\d+)/)![1]!;
}

function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: sock, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('API exec', () => {
  it('docker exec: output apart, stdin with -i, the exit code; -d runs in the background', async () => {
    expect((await docker(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300'])).code).toBe(0);
    const r = await docker(['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(4);
    const i = await docker(['exec', '-i', 'ex', 'sh', '-c', 'cat; echo end'], { input: 'abc\n' });
    expect(i.stdout).toBe('abc\nend\n');
    expect(i.code).toBe(0);
    expect((await docker(['exec', '-d', 'ex', 'sh', '-c', 'echo bg > /tmp/bg'])).code).toBe(0);
    await until('exec -d ran', async () => (await docker(['exec', 'ex', 'cat', '/tmp/bg'])).stdout === 'bg\n');
    const missing = await docker(['exec', 'ex', 'nosuchcmd']);
    expect(missing.code).toBe(126);
  });

  it('execs the server keeps running hold no thread of its pool: docker logs (file reads on the pool) still answers', async () => {
    // Node's pool has 4 threads; a channel to a monitor read there would hold one per exec
    const held = ['held1', 'held2', 'held3', 'held4', 'held5'];
    for (const h of held) expect((await docker(['exec', '-d', 'ex', 'sh', '-c', `echo > /tmp/${h}; exec sleep 120`])).code).toBe(0);
    await until('the execs run', async () => (await docker(['exec', 'ex', 'sh', '-c', `ls /tmp | grep -c held`])).stdout.trim() === '5');
    expect((await docker(['run', '-d', '--name', 'talker', 'busybox', 'echo', 'spoken'])).code).toBe(0);
    await until('talker exited', async () => (await docker(['inspect', '-f', '{{.State.Status}}', 'talker'])).stdout.trim() === 'exited');
    // (a stalled pool answers only when the sleeps end, minutes later)
    const logs = await docker(['logs', 'talker'], { timeoutMs: 15_000 });
    expect(logs.stdout).toBe('spoken\n');
    expect((await docker(['rm', 'talker'])).code).toBe(0);
    await docker(['exec', 'ex', 'pkill', '-f', '^sleep 120$']);
  });

  it('docker exec -it: a pty resized to the terminal, an interactive shell, its exit code', async () => {
    const s = dockerOnPty('exec -it ex sh', 'stty rows 17 cols 63; ');
    let asked = 0;
    await until('resized', () => {
      if (s.out().includes('17 63\n')) return true;
      if ((s.out().match(/\/ # /g) ?? []).length > asked) s.write(`tty; stty size; echo n-$((${asked++}))\n`);
      return false;
    }, s.out);
    expect(s.out()).toMatch(/\/dev\/pts\/\d+\n/);
    s.write('exit 5\n');
    expect(await s.closed).toBe(5);
  });

  it('an exec client killed mid-stream leaves the server nothing but the running exec\'s monitor line', async () => {
    const idle = fds(server.pid!);
    // the process outlives its client (as under dockerd), writing into the void
    const s = spawnSession(dockerArgv(['exec', 'ex', 'sh', '-c', 'trap "" PIPE; while true; do echo tick; sleep 0.05; done']));
    await until('ticks', () => s.out().includes('tick'), s.out);
    s.child.kill('SIGKILL');
    await s.closed;
    await until('only the monitor line', () => fds(server.pid!) <= idle + 1, () => `${fds(server.pid!)}/${idle}`);
    expect((await docker(['exec', 'ex', 'killall', 'sh'])).code).toBe(0);
    await until('nothing once it exits', () => fds(server.pid!) <= idle, () => `${fds(server.pid!)}/${idle}`);
  });

  it('GET /exec/{id}/json: Running, ExitCode, Pid, ProcessConfig', async () => {
    const c = await api('POST', '/containers/ex/exec', { Cmd: ['sh', '-c', 'sleep 0.3; exit 3'], AttachStdout: true });
    expect(c.status).toBe(201);
    const id = JSON.parse(c.body).Id as string;
    const before = JSON.parse((await api('GET', `/exec/${id}/json`)).body);
    expect(before).toMatchObject({ ID: id, Running: false, ExitCode: null, Pid: 0, ProcessConfig: { tty: false, entrypoint: 'sh', arguments: ['-c', 'sleep 0.3; exit 3'], privileged: false } });
    expect((await api('POST', `/exec/${id}/start`, { Detach: true })).status).toBe(200);
    const during = JSON.parse((await api('GET', `/exec/${id}/json`)).body);
    expect(during.Pid).toBeGreaterThan(0);
    await until('exec exited', async () => JSON.parse((await api('GET', `/exec/${id}/json`)).body).Running === false);
    expect(JSON.parse((await api('GET', `/exec/${id}/json`)).body).ExitCode).toBe(3);
    expect((await api('POST', `/exec/${id}/start`, { Detach: true })).status).toBe(409);
    expect((await api('GET', '/exec/nosuch/json')).status).toBe(404);
    await docker(['rm', '-f', 'ex']);
  });
});

describe('API streams', () => {
  it('docker run -i: stdin reaches the container and its end closes it', async () => {
    const r = await docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'abc\nxyz\n' });
    expect(r.stdout).toBe('abc\nxyz\ndone\n');
    expect(r.code).toBe(0);
  });

  it('docker run -it: a real pty, attached before the start, resized to the terminal, exit status', async () => {
    const s = dockerOnPty('run -it --rm busybox sh', 'stty rows 21 cols 81; ');
    // the client resizes right after the start: ask until the shell has seen it
    let asked = 0;
    await until('resized', () => {
      if (/21 81\nhi-\d+\n/.test(s.out())) return true;
      if ((s.out().match(/\/ # /g) ?? []).length > asked) s.write(`stty size; echo hi-$((40+${asked++}))\n`);
      return false;
    }, s.out);
    s.write('exit 3\n');
    expect(await s.closed).toBe(3);
  });

  it('docker attach: keys in, Ctrl-P Ctrl-Q detaches ("read escape sequence", exit 1), attach again, docker wait', async () => {
    expect((await docker(['run', '-dit', '--name', 'att', 'busybox', 'sh'])).code).toBe(0);
    const a = dockerOnPty('attach att');
    a.write('echo a-$((2+2))\n');
    await until('echo', () => a.out().includes('a-4\n'), a.out);
    a.write('\x10\x11');
    expect(await a.closed).toBe(1);
    expect(a.out()).toContain('read escape sequence');
    expect((await docker(['inspect', '-f', '{{.State.Status}}', 'att'])).stdout.trim()).toBe('running');
    const b = dockerOnPty('attach att');
    b.write('exit 6\n');
    expect(await b.closed).toBe(6);
    const w = await docker(['wait', 'att']);
    expect(w.stdout.trim()).toBe('6');
    await docker(['rm', 'att']);
  });

  it('Ctrl-C in docker run reaches the container (the client sends kill)', async () => {
    const s = spawnSession(dockerArgv(['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo got-int; exit 5" INT; echo ready; while true; do sleep 0.05; done']));
    await until('ready', () => s.out().includes('ready\n'), s.out);
    s.child.kill('SIGINT');
    expect(await s.closed).toBe(5);
    expect(s.out()).toContain('got-int\n');
  });

  it('a client killed mid-stream leaves no descriptor in the server or the monitor', async () => {
    expect((await docker(['run', '-d', '--name', 'lk', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.05; done'])).code).toBe(0);
    const mon = await monitorPid('lk');
    const idleServer = fds(server.pid!);
    const idleMonitor = fds(mon);
    for (let i = 0; i < 3; i++) {
      const s = spawnSession(dockerArgv(['attach', '--no-stdin', 'lk']));
      await until('ticks', () => s.out().includes('tick'), s.out);
      s.child.kill('SIGKILL');
      await s.closed;
    }
    await until('fds back', () => fds(server.pid!) <= idleServer && fds(mon) === idleMonitor, () => `${fds(server.pid!)}/${idleServer} ${fds(mon)}/${idleMonitor}`);
    expect((await docker(['inspect', '-f', '{{.State.Status}}', 'lk'])).stdout.trim()).toBe('running');
    await docker(['rm', '-f', 'lk']);
  });
});
