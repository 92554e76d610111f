/**
 * Debian's docker-compose (1.29, the Python client) against `tsdocker serve`: a project of
 * two services on a user network, with a published port, a named volume and depends_on,
 * where the client service reaches the web service by name. ps, logs and down -v, after
 * which nothing of the project is left: no container, network, volume, nft table or link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostSnapshot, sandboxNetState } from '../helpers/sandbox.js';
import { apiSandbox, type ApiServer, until } from '../helpers/api-server.js';

const COMPOSE = '/usr/bin/docker-compose';
let s: ApiServer;
let project: string;
const before = hostSnapshot();
let netBefore: { nft: string; links: string };

const COMPOSE_FILE = `version: "2.4"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo served-by-web > /srv/index.html; echo web up; exec httpd -f -p 80 -h /srv"]
    volumes: ["webdata:/srv"]
    ports: ["127.0.0.1:18090:80"]
    networks: [appnet]
  client:
    image: busybox
    depends_on: [web]
    command: ["sh", "-c", "for i in $$(seq 100); do wget -q -O - http://web/index.html && break; sleep 0.1; done; exec sleep 300"]
    networks: [appnet]
networks:
  appnet: {}
volumes:
  webdata: {}
`;

function compose(args: string[]) {
  return s.sb.sh(['env', `DOCKER_HOST=unix://${s.sock}`, `DOCKER_CONFIG=${s.dockerConfig}`, COMPOSE, '--no-ansi', '-p', 'demo', '-f', join(project, 'docker-compose.yml'), ...args], { timeoutMs: 120_000 });
}

async function composeOk(args: string[]): Promise<string> {
  const r = await compose(args);
  if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')}: exit ${r.code}\n${r.stderr}\n--- server:\n${s.stderr().slice(-2000)}`);
  return r.stdout;
}

beforeAll(async () => {
  s = await apiSandbox('tsd-apicompose');
  netBefore = await sandboxNetState(s.sb);
  project = join(s.sb.root, 'demo');
  mkdirSync(project);
  writeFileSync(join(project, 'docker-compose.yml'), COMPOSE_FILE);
});

afterAll(async () => {
  await s?.close();
  expect(hostSnapshot()).toEqual(before);
});


describe.skipIf(!existsSync(COMPOSE))('docker-compose 1.29 through tsdocker serve', () => {
  it('up -d: both services run on the project network, the client reaches web by name, the port is published', async () => {
    await composeOk(['up', '-d']);
    const ps = await composeOk(['ps']);
    expect(ps).toMatch(/demo_web_1\s.*Up.*127\.0\.0\.1:18090->80\/tcp/);
    expect(ps).toMatch(/demo_client_1\s.*Up/);
    expect((await s.dockerOk(['network', 'ls', '--format', '{{.Name}}', '-f', 'label=com.docker.compose.project=demo'])).trim()).toBe('demo_appnet');
    expect((await s.dockerOk(['volume', 'ls', '-q', '-f', 'label=com.docker.compose.project=demo'])).trim()).toBe('demo_webdata');
    // the client fetched web's page by its service name
    expect(await until(async () => (await composeOk(['logs', 'client'])).includes('served-by-web'), 30)).toBe(true);
    expect(await composeOk(['logs', 'web'])).toMatch(/web_1\s+\| web up/);
    // from the host, through the published port
    let got = '';
    await until(async () => (got = (await s.sb.sh(['busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1:18090/index.html'])).stdout) === 'served-by-web\n');
    expect(got).toBe('served-by-web\n');
  });

  it('exec -T runs a command in a service, with its output and exit code', async () => {
    const r = await compose(['exec', '-T', 'web', 'sh', '-c', 'cat /srv/index.html; exit 3']);
    expect(r.stdout).toBe('served-by-web\n');
    expect(r.code).toBe(3);
  });

  it('down -v leaves no container, network, volume, nft table or link behind', async () => {
    await composeOk(['down', '-v', '-t', '1']);
    expect((await s.dockerOk(['ps', '-aq'])).trim()).toBe('');
    expect((await s.dockerOk(['network', 'ls', '-q', '-f', 'type=custom'])).trim()).toBe('');
    expect((await s.dockerOk(['volume', 'ls', '-q'])).trim()).toBe('');
    await s.dockerOk(['network', 'prune', '-f']); // the idle default bridge goes too
    expect(await sandboxNetState(s.sb)).toEqual(netBefore);
  });
});
