/**
 * The API's file and image endpoints driven by the real docker client (20.10) against a
 * `tsdocker serve` in the sandbox: docker cp both ways (archive HEAD/GET/PUT), diff, export,
 * commit, save/load, tag, rmi, history, image prune, images, and pull (images/create) from a
 * registry the test starts on the sandbox's 127.0.0.1. Docker's outputs are written here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, tsdOk, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let server: ChildProcess;
let sock: string;
let dir: string;
let reg: Registry | undefined;

const docker = (args: string[]): Promise<RunResult> => sb.sh(['env', `DOCKER_CONFIG=${join(dir, 'cfg')}`, DOCKER, '-H', `unix://${sock}`, ...args], { timeoutMs: 120_000 });
async function dockerOk(args: string[]): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!isRoot)('API: files and images with the docker client', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-apif');
    dir = mkdtempSync(join(tmpdir(), 'tsd-apif-'));
    mkdirSync(join(dir, 'cfg'));
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
    sock = join(sb.root, 'api.sock');
    server = sb.spawnTsd(['serve', '-H', `unix://${sock}`]);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), out.includes('\n') && resolve()));
      server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    await tsdOk(sb, ['run', '-d', '--name', 'c', '--network', 'none', 'busybox', 'sh', '-c', 'mkdir /d && echo a > /d/a && rm /etc/group; exec sleep 300']);
    for (let i = 0; i < 100 && (await sb.tsd(['exec', 'c', 'test', '-e', '/d/a'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  }, 120_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await reg?.stop();
    await sb?.tsd(['rm', '-f', 'c']);
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('docker cp both ways, through HEAD/GET/PUT /containers/{id}/archive', async () => {
    await dockerOk(['cp', 'c:/d', join(dir, 'out')]);
    expect(readFileSync(join(dir, 'out', 'a'), 'utf8')).toBe('a\n');
    await dockerOk(['cp', 'c:/d/a', dir]);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('a\n');
    writeFileSync(join(dir, 'up'), 'uploaded\n');
    await dockerOk(['cp', join(dir, 'up'), 'c:/d/']);
    expect(await tsdOk(sb, ['exec', 'c', 'cat', '/d/up'])).toBe('uploaded\n');
    await dockerOk(['cp', join(dir, 'out'), 'c:/tree']);
    expect(await tsdOk(sb, ['exec', 'c', 'cat', '/tree/a'])).toBe('a\n');
    // -a keeps the uid/gid (copyUIDGID), -L follows a link through the stat header's linkTarget
    writeFileSync(join(dir, 'owned'), 'owned\n');
    chownSync(join(dir, 'owned'), 1234, 4321);
    await dockerOk(['cp', '-a', join(dir, 'owned'), 'c:/d/']);
    await dockerOk(['cp', join(dir, 'owned'), 'c:/tmp/']);
    expect(await tsdOk(sb, ['exec', 'c', 'stat', '-c', '%u:%g', '/d/owned', '/tmp/owned'])).toBe('1234:4321\n0:0\n');
    await tsdOk(sb, ['exec', 'c', 'ln', '-s', '/d/a', '/lnk']);
    await dockerOk(['cp', '-L', 'c:/lnk', join(dir, 'followed')]);
    expect(readFileSync(join(dir, 'followed'), 'utf8')).toBe('a\n');
    // a stopped container, through the helper's mount
    await tsdOk(sb, ['run', '--name', 'stopped', '--network', 'none', 'busybox', 'sh', '-c', 'echo s > /s']);
    await dockerOk(['cp', 'stopped:/s', join(dir, 's')]);
    expect(readFileSync(join(dir, 's'), 'utf8')).toBe('s\n');
    await dockerOk(['cp', join(dir, 'up'), 'stopped:/']);
    await dockerOk(['cp', 'stopped:/up', join(dir, 'up2')]);
    expect(readFileSync(join(dir, 'up2'), 'utf8')).toBe('uploaded\n');
    await tsdOk(sb, ['rm', 'stopped']);
    // Docker 20.10's client words for the daemon's 404
    const r = await docker(['cp', 'c:/nope', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: No such container:path: c:/nope');
  });

  it('docker diff, export and commit', async () => {
    expect(await dockerOk(['diff', 'c'])).toBe('A /d\nA /d/a\nA /d/owned\nA /d/up\nC /etc\nD /etc/group\nA /lnk\nC /tmp\nA /tmp/owned\nA /tree\nA /tree/a\n');
    const names = (await sb.sh(['sh', '-c', `DOCKER_CONFIG=${join(dir, 'cfg')} ${DOCKER} -H unix://${sock} export c | tar -tf -`])).stdout.split('\n');
    expect(names).toContain('d/up');
    const id = (await dockerOk(['commit', '-m', 'via api', '-c', 'CMD ["cat", "/d/up"]', 'c', 'fromapi:1'])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'fromapi:1'])).toBe('uploaded\n');
  });

  it('docker save, load, tag, rmi, history, images, image prune', async () => {
    const file = join(dir, 'img.tar');
    await dockerOk(['save', '-o', file, 'busybox']);
    expect(existsSync(file)).toBe(true);
    await dockerOk(['tag', 'busybox', 'mine:1']);
    expect((await dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter(Boolean).sort()).toEqual(['busybox:latest', 'fromapi:1', 'mine:1']);
    expect(await dockerOk(['rmi', 'mine:1'])).toBe('Untagged: mine:1\n');
    expect(await dockerOk(['history', '--format', '{{.ID}} {{.CreatedBy}}', 'busybox'])).toBe(
      await tsdOk(sb, ['history', '--format', '{{.ID}} {{.CreatedBy}}', 'busybox']));
    const rm = await docker(['rmi', 'nosuch:1']);
    expect([rm.code, rm.stderr.includes('No such image: nosuch:1')]).toEqual([1, true]);
    const inUse = await docker(['rmi', 'busybox']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('container');
    await dockerOk(['rmi', 'fromapi:1']);
    await tsdOk(sb, ['tag', 'busybox', 'other:1']);
    await tsdOk(sb, ['rm', '-f', 'c']);
    await dockerOk(['rmi', 'busybox', 'other:1']);
    expect(await dockerOk(['load', '-i', file])).toBe('Loaded image: busybox:latest\n');
    expect(await dockerOk(['image', 'prune', '-f'])).toBe('Total reclaimed space: 0B\n');
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'back'])).toBe('back\n');
  }, 120_000);

  it.skipIf(!existsSync('/usr/bin/docker-registry'))('docker pull goes through the registry code (POST /images/create); fromSrc is refused', async () => {
    reg = await startRegistry(sb, join(dir, 'reg'), { port: 5077 });
    const port = 5077;
    await tsdOk(sb, ['tag', 'busybox', `127.0.0.1:${port}/team/bb:1`]);
    await tsdOk(sb, ['push', `127.0.0.1:${port}/team/bb:1`]);
    await tsdOk(sb, ['rmi', `127.0.0.1:${port}/team/bb:1`]);
    const out = await dockerOk(['pull', `127.0.0.1:${port}/team/bb:1`]);
    expect(out).toContain(`Status: Downloaded newer image for 127.0.0.1:${port}/team/bb:1`);
    expect((await dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}', `127.0.0.1:${port}/team/bb`])).trim()).toBe(`127.0.0.1:${port}/team/bb:1`);
    const imp = await docker(['import', join(dir, 'img.tar')]);
    expect(imp.code).toBe(1);
    expect(imp.stderr).toContain('importing an image through the API (fromSrc) is not supported by tsdocker');
  }, 120_000);
});
