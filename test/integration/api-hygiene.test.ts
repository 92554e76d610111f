/**
 * The API server under load and misuse: several `docker run -d` at once through one server,
 * a request log line per request at --log-level info, a client that goes away in the middle
 * of `logs -f` (no fd and no process left in the server: /proc/PID/fd counted), and TCP with
 * TLS as dockerd (--tlsverify with certificates made here by openssl; beyond loopback only
 * with client certificates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostSnapshot } from '../helpers/sandbox.js';
import { apiSandbox, DOCKER, startServer, type ApiServer, until } from '../helpers/api-server.js';

let s: ApiServer;
const before = hostSnapshot();

beforeAll(async () => {
  s = await apiSandbox('tsd-apihyg', [], ['--log-level', 'info']);
});

afterAll(async () => {
  await s?.close();
  expect(hostSnapshot()).toEqual(before);
});

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
/** The server's child processes (all threads' children). */
const children = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));


describe('the API server under load and misuse', () => {
  it('runs several docker run -d at once through one server: all start, each with its own address', async () => {
    const names = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const runs = await Promise.all(names.map((n) => s.docker(['run', '-d', '--name', n, 'busybox', 'sleep', '300'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect((await s.dockerOk(['ps', '--format', '{{.Names}} {{.State}}'])).trim().split('\n').sort()).toEqual(names.map((n) => `${n} running`));
    const ips = await Promise.all(names.map(async (n) => (await s.dockerOk(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', n])).trim()));
    expect(new Set(ips).size).toBe(names.length);
    const rms = await Promise.all(names.map((n) => s.docker(['rm', '-f', n])));
    for (const r of rms) expect(r.code, r.stderr).toBe(0);
    expect((await s.dockerOk(['ps', '-aq'])).trim()).toBe('');
  });

  it('logs each request at --log-level info on stderr', async () => {
    await s.dockerOk(['ps', '--filter', 'name=logprobe']);
    await s.dockerOk(['ps', '--filter', 'name=logprobe']);
    // one line per request, naming it: two ps, two lines (each ps also pings, HEAD /_ping)
    const line = /^INFO: request \(method: GET, url: \/v1\.41\/containers\/json\?filters=[^)]*logprobe[^)]*, status: 200, ms: \d+\)$/gm;
    expect(await until(() => (s.stderr().match(line) ?? []).length === 2), s.stderr().slice(-600)).toBe(true);
    expect(s.stderr()).toMatch(/^INFO: request \(method: HEAD, url: \/_ping, status: 200, ms: \d+\)$/m);
  });

  it('a client that disconnects in the middle of logs -f leaves no fd and no process in the server', async () => {
    await s.dockerOk(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'while :; do echo tick; sleep 0.2; done']);
    const pid = s.server.pid!;
    await s.dockerOk(['ps']); // the server's modules are loaded: its fds are at their resting count
    const idle = fds(pid);
    for (let round = 0; round < 3; round++) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ socketPath: s.sock, path: '/containers/ticker/logs?follow=1&stdout=1' }, (res) => {
          res.once('data', () => {
            req.destroy(); // the client goes away mid-stream
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.end();
        setTimeout(() => reject(new Error('no log output')), 30_000).unref();
      });
    }
    // `docker logs -f` killed mid-stream too
    const follower = s.sb.sh(['timeout', '-s', 'KILL', '2', 'env', `DOCKER_CONFIG=${s.dockerConfig}`, DOCKER, '-H', `unix://${s.sock}`, 'logs', '-f', 'ticker']);
    expect((await follower).stdout).toContain('tick');
    expect(await until(() => fds(pid) <= idle)).toBe(true);
    expect(children(pid)).toEqual([]);
    await s.dockerOk(['rm', '-f', 'ticker']);
  });
});

describe('TCP with TLS, as dockerd', () => {
  const dir = () => join(s.sb.root, 'tls');
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: dir(), stdio: 'pipe' });

  /** A CA, a server certificate for 127.0.0.1 and a client certificate, as Docker's "protect the daemon socket" page makes them. */
  function makeCerts(): void {
    execFileSync('mkdir', ['-p', dir()]);
    ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca']);
    for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
      ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      writeFileSync(join(dir(), `${name}.ext`), ext);
      ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    }
  }

  it('refuses a non-loopback listener without --tlsverify, and --tlsverify without a CA', async () => {
    const plain = await s.sb.tsd(['serve', '-H', 'tcp://0.0.0.0:23761']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('refusing to serve the API on tcp://0.0.0.0:23761 without --tlsverify');
    const noCa = await s.sb.tsd(['serve', '-H', 'tcp://0.0.0.0:23761', '--tlsverify', '--tlscert', 'x', '--tlskey', 'y']);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toContain('--tlsverify needs --tlscacert');
  });

  it('serves on 0.0.0.0 with --tlsverify: the docker client with a certificate gets in, one without does not', async () => {
    makeCerts();
    const d = dir();
    const { child, line } = await startServer(s.sb, ['-H', 'tcp://0.0.0.0:23762', '--tlsverify', '--tlscacert', `${d}/ca.pem`, '--tlscert', `${d}/server.pem`, '--tlskey', `${d}/server-key.pem`]);
    try {
      expect(line).toBe('API listening on tcp://0.0.0.0:23762');
      const cli = (extra: string[]) => s.sb.sh(['env', `DOCKER_CONFIG=${s.dockerConfig}`, DOCKER, '-H', 'tcp://127.0.0.1:23762', ...extra, 'version', '--format', '{{.Server.APIVersion}}']);
      const ok = await cli(['--tlsverify', '--tlscacert', `${d}/ca.pem`, '--tlscert', `${d}/client.pem`, '--tlskey', `${d}/client-key.pem`]);
      expect(ok.stdout.trim(), ok.stderr).toBe('1.41');
      const noCert = await cli(['--tlsverify', '--tlscacert', `${d}/ca.pem`]);
      expect(noCert.code).not.toBe(0);
      expect(noCert.stdout.trim()).toBe('');
      const plainHttp = await cli([]);
      expect(plainHttp.code).not.toBe(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });
});
