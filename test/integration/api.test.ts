/**
 * The Docker Engine API (`tsdocker serve`) driven by the real docker client (Debian's
 * docker.io, 20.10) over a unix socket, plus raw requests for dockerd's statuses and error
 * bodies. The server runs inside the sandbox with its own --root and socket, and is
 * stopped by pid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { DOCKER, rawRequest, startServer as startServe } from '../helpers/api-server.js';

let sb: Sandbox;
let server: ChildProcess;
let sock: string;
let dockerConfig: string;
const before = hostSnapshot();

const startServer = (args: string[]) => startServe(sb, args);
const docker = (args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> =>
  sb.sh(['env', `DOCKER_CONFIG=${dockerConfig}`, DOCKER, '-H', `unix://${sock}`, ...args], opts);

async function dockerOk(args: string[]): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

const api = (method: string, path: string, body?: unknown) => rawRequest(sock, method, path, body);

beforeAll(async () => {
  sb = await createSandbox('tsd-api');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
  dockerConfig = mkdtempSync(join(tmpdir(), 'tsd-api-dockercfg-'));
  sock = join(sb.root, 'api.sock');
  const started = await startServer(['-H', `unix://${sock}`]);
  server = started.child;
  expect(started.line).toBe(`API listening on unix://${sock}`);
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  if (sock) expect(existsSync(sock)).toBe(false); // the server removes its socket
  await sb?.close();
  if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  expect(hostSnapshot()).toEqual(before);
});

describe('tsdocker serve', () => {
  it('listens on a socket of mode 0660', () => {
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o660);
  });

  it('answers /_ping (GET and HEAD) with the API version, under a version prefix too', async () => {
    const get = await api('GET', '/_ping');
    expect(get.status).toBe(200);
    expect(get.body).toBe('OK');
    expect(get.headers['api-version']).toBe('1.41');
    const head = await api('HEAD', '/v1.24/_ping');
    expect(head.status).toBe(200);
    expect(head.headers['api-version']).toBe('1.41');
  });

  it('refuses API versions it does not speak, with dockerd message', async () => {
    const r = await api('GET', '/v1.43/version');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).message).toBe('client version 1.43 is too new. Maximum supported API version is 1.41');
    expect((await api('GET', '/v1.12/version')).status).toBe(400);
    const none = await api('GET', '/v1.41/nothing/here');
    expect(none.status).toBe(404);
    expect(JSON.parse(none.body)).toEqual({ message: 'page not found' });
  });

  it('docker version and docker info show the server', async () => {
    const v = await dockerOk(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    expect(v.trim()).toBe('1.41 linux');
    const info = await dockerOk(['info', '--format', '{{.Images}} {{.Containers}} {{.DockerRootDir}}']);
    expect(info.trim()).toBe(`1 0 ${sb.root}`);
    const forwarding = (await sb.sh(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim() === '1';
    expect((await dockerOk(['info', '--format', '{{.IPv4Forwarding}} {{.LoggingDriver}}'])).trim()).toBe(`${forwarding} cri`);
  });

  it('docker images lists the stored image', async () => {
    const out = await dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(out.trim()).toBe('busybox:latest');
    const id = (await dockerOk(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await api('GET', '/images/nosuch/json')).status).toBe(404);
    // a missing image: the client asks for a pull (images/create), which fails in words (a registry on 127.0.0.1 that is not there)
    const run = await docker(['run', '-d', '127.0.0.1:1/nosuch:1']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("Unable to find image '127.0.0.1:1/nosuch:1' locally");
    expect(run.stderr).toMatch(/127\.0\.0\.1:1.*(ECONNREFUSED|refused)/);
  });

  it('docker run -d, ps, logs (stdout and stderr apart), inspect, stop, wait, rm -f', async () => {
    const id = (await dockerOk(['run', '-d', '--name', 'web', '-e', 'GREETING=hello', 'busybox', 'sh', '-c', 'echo out $GREETING; echo err >&2; exec sleep 100'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await dockerOk(['ps', '--format', '{{.Names}} {{.Image}} {{.Command}}'])).trim()).toBe('web busybox "sh -c \'echo out $GR…"');
    expect((await dockerOk(['inspect', '-f', '{{.State.Running}} {{.Name}} {{.Config.Tty}}', 'web'])).trim()).toBe('true /web false');
    // the multiplexed stream: the client puts each stream where it belongs
    let logs: RunResult | undefined;
    for (let i = 0; i < 100; i++) {
      logs = await docker(['logs', 'web']);
      if (logs.stdout && logs.stderr) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(logs!.stdout).toBe('out hello\n');
    expect(logs!.stderr).toBe('err\n');
    const tail = await docker(['logs', '--tail', '2', '-t', 'web']);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z out hello\n$/);
    expect(tail.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z err\n$/);
    expect((await docker(['logs', '--tail', '0', 'web'])).stdout).toBe('');
    // starting a running container: 304
    expect((await api('POST', `/containers/${id}/start`)).status).toBe(304);
    const stop = await docker(['stop', '-t', '1', 'web']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe('web');
    expect((await api('POST', `/containers/${id}/stop`)).status).toBe(304);
    expect((await dockerOk(['wait', 'web'])).trim()).toBe('137');
    expect((await dockerOk(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).trim()).toMatch(/^web Exited \(137\) /);
    const kill = await api('POST', `/containers/${id}/kill`);
    expect(kill.status).toBe(409);
    expect(JSON.parse(kill.body).message).toContain('is not running');
    expect((await dockerOk(['rm', '-f', 'web'])).trim()).toBe('web');
    expect((await dockerOk(['ps', '-a', '-q'])).trim()).toBe('');
  });

  it('docker logs -f follows until the container exits', async () => {
    await dockerOk(['run', '-d', '--name', 'follow', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second >&2; echo third']);
    const r = await docker(['logs', '-f', 'follow']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('first\nthird\n');
    expect(r.stderr).toBe('second\n');
    expect((await dockerOk(['rm', 'follow'])).trim()).toBe('follow');
  });

  it('docker wait returns the exit status, and ps filters through the API', async () => {
    await dockerOk(['run', '-d', '--name', 'quick', '--label', 'role=test', 'busybox', 'sh', '-c', 'exit 3']);
    await dockerOk(['run', '-d', '--name', 'slow', 'busybox', 'sleep', '100']);
    expect((await dockerOk(['wait', 'quick'])).trim()).toBe('3');
    expect((await dockerOk(['ps', '-a', '--filter', 'label=role=test', '--format', '{{.Names}}'])).trim()).toBe('quick');
    expect((await dockerOk(['ps', '--filter', 'status=exited', '--format', '{{.Names}}'])).trim()).toBe('quick');
    expect((await dockerOk(['ps', '--format', '{{.Names}}'])).trim()).toBe('slow');
    const running = await api('DELETE', '/containers/slow');
    expect(running.status).toBe(409);
    expect(JSON.parse(running.body).message).toMatch(/^You cannot remove a running container [0-9a-f]{64}\./);
    expect((await dockerOk(['rm', '-f', 'quick', 'slow'])).trim()).toBe('quick\nslow');
  });

  it('docker run in the foreground: output (stdout and stderr apart) and exit status, --rm removes it', async () => {
    const r = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo hi; echo oops >&2; exit 7']);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.code).toBe(7);
    expect((await dockerOk(['ps', '-a', '-q'])).trim()).toBe('');
    const kept = await docker(['run', '--name', 'kept', 'busybox', 'echo', 'hello']);
    expect(kept.stdout).toBe('hello\n');
    expect(kept.code).toBe(0);
    expect((await dockerOk(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).trim()).toMatch(/^kept Exited \(0\) /);
    await dockerOk(['rm', 'kept']);
  });

  it('gives 404s and 409s with dockerd messages', async () => {
    const missing = await docker(['inspect', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such object: nosuch');
    const r = await api('GET', '/containers/nosuch/json');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ message: 'No such container: nosuch' });
    await dockerOk(['create', '--name', 'twice', 'busybox', 'true']);
    const again = await docker(['create', '--name', 'twice', 'busybox', 'true']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Conflict. The container name "/twice" is already in use');
    await dockerOk(['rm', 'twice']);
  });

  it('refuses a create field it does not support instead of dropping it', async () => {
    const r = await docker(['run', '-d', '--blkio-weight', '300', 'busybox', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HostConfig.BlkioWeight is not supported by tsdocker yet');
    expect((await dockerOk(['ps', '-a', '-q'])).trim()).toBe(''); // nothing half-made
    const raw = await api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { CgroupParent: 'elsewhere' } });
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body).message).toMatch(/^HostConfig\.CgroupParent is not supported/);
  });

  it('docker run with a restart policy, healthcheck, --init, -P/--expose, --dns, --cap-add, --sysctl, --shm-size, --pids-limit and --stop-signal', async () => {
    const id = (await dockerOk(['run', '-d', '--name', 'flags', '--restart', 'on-failure:2', '--health-cmd', 'true', '--health-interval', '1s', '--init',
      '-P', '--expose', '9000', '--dns', '192.0.2.53', '--cap-add', 'NET_ADMIN', '--sysctl', 'net.ipv4.ip_forward=1', '--shm-size', '32m',
      '--pids-limit', '50', '--stop-signal', 'SIGINT', 'busybox', 'sleep', '100'])).trim();
    const c = JSON.parse(await dockerOk(['inspect', id]))[0];
    expect(c.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(c.HostConfig.Init).toBe(true);
    expect(c.HostConfig.PublishAllPorts).toBe(true);
    expect(c.HostConfig.ShmSize).toBe(32 * 1024 * 1024);
    expect(c.HostConfig.Sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(c.Config.StopSignal).toBe('SIGINT');
    expect(c.Config.Healthcheck).toMatchObject({ Test: ['CMD-SHELL', 'true'], Interval: 1e9 });
    expect(Object.keys(c.Config.ExposedPorts)).toEqual(['9000/tcp']);
    // what runs is what was asked: docker-init as pid 1, the resolver, the capability, the sysctl
    const inside = await dockerOk(['exec', 'flags', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; grep nameserver /etc/resolv.conf; cat /proc/sys/net/ipv4/ip_forward; grep CapEff /proc/self/status']);
    expect(inside).toContain('/sbin/docker-init -- sleep 100');
    expect(inside).toContain('nameserver 192.0.2.53');
    expect(inside.split('\n')[2]).toBe('1');
    expect(BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(inside)![1]}`) & (1n << 12n)).toBe(1n << 12n); // CAP_NET_ADMIN
    expect((await dockerOk(['port', 'flags'])).trim()).toMatch(/^9000\/tcp -> 0\.0\.0\.0:\d+/);
    for (let i = 0; i < 100 && !(await dockerOk(['ps', '--filter', 'name=flags', '--format', '{{.Status}}'])).includes('(healthy)'); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await dockerOk(['ps', '--filter', 'name=flags', '--format', '{{.Status}}'])).toContain('(healthy)');
    await dockerOk(['rm', '-f', 'flags']);
  });

  it('creates with Memory, NanoCpus, Binds, Env, WorkingDir, User and Labels as docker run does', async () => {
    const id = (await dockerOk(['run', '-d', '-m', '64m', '--cpus', '0.5', '-v', `${sb.root}:/host:ro`, '-w', '/tmp', '-u', '1:1', '-l', 'a=b', 'busybox', 'sleep', '100'])).trim();
    const f = '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.Config.WorkingDir}} {{.Config.User}} {{.Config.Labels.a}} {{range .Mounts}}{{.Destination}}:{{.RW}}{{end}}';
    expect((await dockerOk(['inspect', '-f', f, id])).trim()).toBe('67108864 500000000 /tmp 1:1 b /host:false');
    await dockerOk(['rm', '-f', id]);
  });
});

describe('ports and networks through the API', () => {
  it('docker run -p publishes the port (ps shows it, the host reaches it); --network none has no address', async () => {
    await dockerOk(['run', '-d', '--name', 'httpd', '-p', '127.0.0.1:18080:80', 'busybox', 'sh', '-c', 'echo served > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    expect((await dockerOk(['ps', '--format', '{{.Names}} {{.Ports}}'])).trim()).toBe('httpd 127.0.0.1:18080->80/tcp');
    let got = '';
    for (let i = 0; i < 100 && !got.includes('served'); i++) {
      got = (await sb.sh(['busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1:18080/index.html'])).stdout;
      if (!got.includes('served')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toBe('served\n');
    await dockerOk(['rm', '-f', 'httpd']);
    const none = (await dockerOk(['run', '-d', '--network', 'none', 'busybox', 'sleep', '100'])).trim();
    expect((await dockerOk(['inspect', '-f', '{{.HostConfig.NetworkMode}} [{{.NetworkSettings.IPAddress}}]', none])).trim()).toBe('none []');
    await dockerOk(['rm', '-f', none]);
  });
});

describe('serve options', () => {
  it('refuses TCP on a non-loopback address without --tlsverify (api-hygiene.test.ts serves it with TLS)', async () => {
    const r = await sb.tsd(['serve', '-H', 'tcp://0.0.0.0:2375']);
    expect(r.code).toBe(1); // dockerd's exit status for a bad -H
    expect(r.stderr).toContain('only loopback addresses are allowed without client certificates');
  });

  it('serves on loopback TCP and ends by itself after --timeout idle seconds', async () => {
    const { child, line } = await startServer(['-H', 'tcp://127.0.0.1:23750', '--timeout', '1']);
    expect(line).toBe('API listening on tcp://127.0.0.1:23750');
    const v = await sb.sh(['env', `DOCKER_CONFIG=${dockerConfig}`, DOCKER, '-H', 'tcp://127.0.0.1:23750', 'version', '--format', '{{.Server.APIVersion}}']);
    expect(v.stdout.trim()).toBe('1.41');
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
    expect(code).toBe(0);
  });
});
