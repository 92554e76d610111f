/**
 * `info`, `version`, `system df|prune|info|events` and their API endpoints, each compared with
 * what Docker 20.10 prints for the same state (the expected output is written here; values
 * that belong to the host, such as the kernel or the memory, are read from it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../helpers/api-server.js';
import { BUSYBOX_TAR, PROJECT, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';

let sb: Sandbox;
let srv: ApiServer;
const before = hostSnapshot();
const tsd = (args: string[], input?: string): Promise<RunResult> => sb.tsd(args, input === undefined ? undefined : { input });
const ok = async (args: string[], input?: string): Promise<string> => {
  const r = await tsd(args, input);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const version = (JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as { version: string }).version;
const arch = process.arch === 'x64' ? 'amd64' : process.arch;

beforeAll(async () => {
  sb = await createSandbox('tsd-system');
  await ok(['load', '-i', BUSYBOX_TAR]);
  srv = await startApiServer(sb);
});

afterAll(async () => {
  await srv?.close();
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('info', () => {
  it("prints Docker's Client and Server sections with this host's facts", async () => {
    await ok(['run', '-d', '--name', 'up', '--network', 'none', 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', 'frozen', '--network', 'none', 'busybox', 'sleep', '300']);
    await ok(['pause', 'frozen']);
    await ok(['run', '--name', 'done', '--network', 'none', 'busybox', 'true']);
    const fsType = execFileSync('stat', ['-f', '-c', '%t', sb.root], { encoding: 'utf8' }).trim() === 'ef53' ? 'extfs' : 'other';
    const os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))![1];
    const gib = (totalmem() / 1024 ** 3).toPrecision(4).replace(/\.?0+$/, '');
    const text = await ok(['info']);
    const expected = [
      'Client:',
      ' Context:    default',
      ' Debug Mode: false',
      '',
      'Server:',
      ' Containers: 3',
      '  Running: 1',
      '  Paused: 1',
      '  Stopped: 1',
      ' Images: 1',
      ` Server Version: ${version}`,
      ' Storage Driver: overlay2',
      `  Backing Filesystem: ${fsType}`,
      '  Supports d_type: true',
      '  Native Overlay Diff: true',
      '  userxattr: false',
      ' Logging Driver: cri',
      ' Cgroup Driver: cgroupfs',
      ` Cgroup Version: ${detectLayout().mode === 'v2' ? 2 : 1}`,
      ' Plugins:',
      '  Volume: local',
      '  Network: bridge host macvlan null overlay',
      '  Log: cri',
      ' Swarm: inactive',
      ' Runtimes: tsdocker',
      ' Default Runtime: tsdocker',
      ' Security Options:',
      '  seccomp',
      '   Profile: default',
      ` Kernel Version: ${release()}`,
      ` Operating System: ${os}`,
      ' OSType: linux',
      ` Architecture: ${process.arch === 'x64' ? 'x86_64' : process.arch}`,
      ` CPUs: ${cpus().length}`,
      ` Total Memory: ${gib}GiB`,
      ` Name: ${hostname()}`,
      ' ID:',
      ` Docker Root Dir: ${sb.root}`,
      ' Debug Mode: false',
      ' Registry: https://index.docker.io/v1/',
      ' Labels:',
      ' Experimental: false',
      ' Insecure Registries:',
      '  127.0.0.0/8',
      ' Live Restore Enabled: true',
      '',
      '',
    ].join('\n');
    expect(text).toBe(expected);
    expect(await ok(['info', '--format', '{{.ContainersRunning}} {{.ContainersPaused}} {{.Driver}} {{.ClientInfo.Context}}'])).toBe('1 1 overlay2 default\n');
    expect(await ok(['system', 'info', '--format', '{{.Containers}}'])).toBe('3\n');
    const bad = await tsd(['info', '--format', '{{.Nope}}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Template parsing error');
  });

  it('docker info through the API reports the same as tsdocker info', async () => {
    const keys = ['Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'Images', 'Driver', 'DriverStatus', 'CgroupDriver', 'CgroupVersion', 'KernelVersion', 'OperatingSystem', 'NCPU', 'MemTotal', 'DockerRootDir', 'ServerVersion', 'Runtimes', 'DefaultRuntime'];
    const pick = (o: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, o[k]]));
    const ours = JSON.parse(await ok(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
    const theirs = JSON.parse(await srv.dockerOk(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
    expect(pick(theirs)).toEqual(pick(ours));
    expect(ours.ContainersPaused).toBe(1);
    const text = await srv.dockerOk(['info']);
    expect(text).toContain(' Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 1\n');
    expect(text).toContain(' Storage Driver: overlay2\n');
  });
});

describe('version', () => {
  it("prints docker version's layout, and --format sees Client and Server", async () => {
    const go = `node${process.versions.node}`;
    expect(await ok(['version'])).toBe(
      [
        'Client:',
        ` Version:           ${version}`,
        ' API version:       1.41',
        ` Go version:        ${go}`,
        ' Git commit:        ',
        ' Built:             ',
        ` OS/Arch:           linux/${arch}`,
        ' Context:           default',
        ' Experimental:      true',
        '',
        'Server: tsdocker',
        ' Engine:',
        `  Version:          ${version}`,
        '  API version:      1.41 (minimum version 1.24)',
        `  Go version:       ${go}`,
        '  Git commit:       ',
        '  Built:            ',
        `  OS/Arch:          linux/${arch}`,
        '  Experimental:     false',
        '',
      ].join('\n'),
    );
    expect(await ok(['version', '--format', '{{.Server.Version}} {{.Client.APIVersion}} {{.Server.Os}}'])).toBe(`${version} 1.41 linux\n`);
    expect(Object.keys(JSON.parse(await ok(['version', '--format', '{{json .}}'])) as object)).toEqual(['Client', 'Server']);
    // the docker client against tsdocker serve: the same server facts
    expect(await srv.dockerOk(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Platform.Name}}'])).toBe(`${version} 1.41 1.24 tsdocker\n`);
  });
});

/** units.HumanSize: 4 significant digits (3 in docker/cli's image and container tables), powers of 1000. */
function goSize(n: number, digits = 4): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(digits))}${units[i]}`;
}
/** docker/cli's table: columns at least 10 wide, 3 spaces of padding. */
/** Bytes of the files (not directories) in a container's writable layer, as find(1) sees them. */
async function upperBytes(name: string): Promise<number> {
  const id = (await ok(['inspect', '--format', '{{.Id}}', name])).trim();
  const r = await sb.sh(['find', join(sb.root, 'containers', id, 'upper'), '!', '-type', 'd', '-printf', '%s\n']);
  return r.stdout.split('\n').filter(Boolean).reduce((n, x) => n + Number(x), 0);
}
const pct = (part: number, total: number) => `${goSize(part)} (${Math.trunc((part * 100) / total)}%)`;
const dfLine = (cells: string[], first: number) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(i === 0 ? first : Math.max(10, c.length + 3)))).join('');

describe('system df and prune', () => {
  it("reports images, containers, volumes and build cache as docker system df computes them", async () => {
    await ok(['run', '--name', 'withvol', '--network', 'none', '-v', 'dfvol:/data', 'busybox', 'sh', '-c', 'head -c 10000 /dev/zero > /data/f; head -c 5000 /dev/zero > /junk']);
    await ok(['run', '--rm', '--network', 'none', '-v', 'idle:/d', 'busybox', 'sh', '-c', 'head -c 2000 /dev/zero > /d/f']);
    const imageBytes = Number((await ok(['inspect', '--format', '{{.Size}}', 'busybox'])).trim());
    const [up, frozen, done, withvol] = await Promise.all(['up', 'frozen', 'done', 'withvol'].map(upperBytes));
    expect(withvol).toBeGreaterThanOrEqual(5000);
    const ctrTotal = up! + frozen! + done! + withvol!;
    const expected = [
      dfLine(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], 16),
      dfLine(['Images', '1', '1', goSize(imageBytes), '0B (0%)'], 16),
      dfLine(['Containers', '4', '2', goSize(ctrTotal), pct(done! + withvol!, ctrTotal)], 16),
      dfLine(['Local Volumes', '2', '1', '12kB', '2kB (16%)'], 16),
      dfLine(['Build Cache', '0', '0', '0B', '0B'], 16),
      '',
    ].join('\n');
    expect(await ok(['system', 'df'])).toBe(expected);
    // the docker client renders GET /system/df the same way
    expect(await srv.dockerOk(['system', 'df'])).toBe(expected);
    expect(await ok(['system', 'df', '--format', '{{.Type}}: {{.Reclaimable}}'])).toBe(`Images: 0B (0%)\nContainers: ${pct(done! + withvol!, ctrTotal)}\nLocal Volumes: 2kB (16%)\nBuild Cache: 0B\n`);
    const verbose = (await ok(['system', 'df', '-v'])).split('\n').map((l) => l.trim().split(/\s{2,}/).join('|'));
    expect(verbose.slice(0, 3)).toEqual(['Images space usage:', '', 'REPOSITORY|TAG|IMAGE ID|CREATED|SIZE|SHARED SIZE|UNIQUE SIZE|CONTAINERS']);
    expect(verbose[3]).toMatch(new RegExp(`^busybox\\|latest\\|[0-9a-f]{12}\\|[^|]+\\\|${goSize(imageBytes, 3).replace('.', '\\.')}\\|0B\\|${goSize(imageBytes, 3).replace('.', '\\.')}\\|4$`));
    expect(verbose).toContain('Containers space usage:');
    expect(verbose.find((l) => l.endsWith('|withvol'))).toMatch(/^[0-9a-f]{12}\|busybox\|"sh -c head -c 10000…"\|1\|\d+(\.\d+)?kB\|/);
    expect(verbose).toEqual(expect.arrayContaining(['Local Volumes space usage:', 'VOLUME NAME|LINKS|SIZE', 'dfvol|1|10kB', 'idle|0|2kB', 'Build cache usage: 0B', 'CACHE ID|CACHE TYPE|SIZE|CREATED|LAST USED|USAGE|SHARED']));
  });

  it('ps -s shows the writable layer and the virtual size (with the image), as docker ps -s; the API says the same', async () => {
    const imageBytes = Number((await ok(['inspect', '--format', '{{.Size}}', 'busybox'])).trim());
    const withvol = await upperBytes('withvol');
    const want = `${goSize(withvol, 3)} (virtual ${goSize(withvol + imageBytes, 3)})`;
    expect((await ok(['ps', '-a', '-s', '--filter', 'name=withvol', '--format', '{{.Size}}'])).trim()).toBe(want);
    expect((await ok(['ps', '-a', '--filter', 'name=withvol', '--format', '{{.Size}}'])).trim()).toBe('0B');
    expect((await srv.dockerOk(['ps', '-a', '-s', '--filter', 'name=withvol', '--format', '{{.Size}}'])).trim()).toBe(want);
  });

  it('system prune asks first, then removes what Docker removes, with --filter', async () => {
    const no = await tsd(['system', 'prune'], 'n\n');
    expect(no.code).toBe(0);
    expect(no.stdout).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - all dangling build cache\n\nAre you sure you want to continue? [y/N] ',
    );
    expect((await ok(['ps', '-aq'])).split('\n').filter(Boolean)).toHaveLength(4);
    await ok(['run', '--name', 'keepme', '--network', 'none', '--label', 'keep=1', 'busybox', 'true']);
    await ok(['network', 'create', 'spare']);
    const ids = await Promise.all(['done', 'withvol'].map(async (n) => (await ok(['inspect', '--format', '{{.Id}}', n])).trim()));
    const freed = (await upperBytes('done')) + (await upperBytes('withvol'));
    const yes = await ok(['system', 'prune', '--filter', 'label!=keep=1'], 'y\n');
    const prompt =
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - all dangling build cache\n\n' +
      '  Items to be pruned will be filtered with:\n  - label!=keep=1\n\nAre you sure you want to continue? [y/N] ';
    expect(yes.slice(0, prompt.length)).toBe(prompt);
    const m = /^Deleted Containers:\n([0-9a-f]{64})\n([0-9a-f]{64})\n\nDeleted Networks:\nspare\n\nTotal reclaimed space: (.*)\n$/.exec(yes.slice(prompt.length));
    expect(m, yes).not.toBeNull();
    expect([m![1], m![2]].sort()).toEqual(ids.sort());
    expect(m![3]).toBe(goSize(freed));
    expect((await ok(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort()).toEqual(['frozen', 'keepme', 'up']);
    // -a: every image no container uses, --volumes: unused anonymous volumes
    await ok(['run', '--name', 'anon', '--network', 'none', '-v', '/scratch', 'busybox', 'true']);
    await ok(['tag', 'busybox', 'extra:1']);
    const all = await ok(['system', 'prune', '-a', '-f', '--volumes']);
    expect(all).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n[0-9a-f]{64}\n\nDeleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: \d/);
    expect((await ok(['volume', 'ls', '--format', '{{.Name}}'])).split('\n').filter(Boolean).sort()).toEqual(['dfvol', 'idle']);
    // busybox is used by running containers: neither it nor its tags go
    expect((await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter(Boolean).sort()).toEqual(['busybox:latest', 'extra:1']);
  });
});

describe('image and container groups', () => {
  it('are the top-level commands under Docker names, and --help lists what exists', async () => {
    expect(await ok(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).toBe(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']));
    expect(await ok(['image', 'list', '-q'])).toBe(await ok(['images', '-q']));
    expect(await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const notImage = await tsd(['image', 'inspect', 'up']); // a container's name is no image
    expect([notImage.code, notImage.stderr]).toEqual([1, expect.stringContaining('No such image: up')]);
    expect(await ok(['container', 'ls', '-a', '--format', '{{.Names}}'])).toBe(await ok(['ps', '-a', '--format', '{{.Names}}']));
    expect(await ok(['container', 'ps', '--all=true', '-q'])).toBe(await ok(['ps', '-aq']));
    expect(await ok(['container', 'run', '--name', 'g1', '--network', 'none', 'busybox', 'echo', 'hi'])).toBe('hi\n');
    expect(await ok(['container', 'logs', 'g1'])).toBe('hi\n');
    expect(await ok(['container', 'inspect', '-f', '{{.Name}}', 'g1'])).toBe('/g1\n');
    expect(await ok(['container', 'rm', 'g1'])).toBe('g1\n');
    await ok(['image', 'tag', 'busybox', 'grp:1']);
    expect(await ok(['image', 'rm', 'grp:1'])).toBe('Untagged: grp:1\n');
    const imageHelp = await ok(['image', '--help']);
    // save and history joined by themselves when their commands arrived
    for (const c of ['ls', 'list', 'rm', 'inspect', 'tag', 'load', 'import', 'pull', 'push', 'save', 'history', 'prune']) expect(imageHelp).toMatch(new RegExp(`\\n  ${c} `));
    const ctrHelp = await ok(['container', '--help']);
    for (const c of ['ls', 'ps', 'rm', 'run', 'create', 'start', 'stop', 'kill', 'logs', 'exec', 'restart', 'rename', 'pause', 'unpause', 'top', 'wait', 'cp', 'diff', 'export', 'commit', 'update', 'prune']) expect(ctrHelp).toMatch(new RegExp(`\\n  ${c} `));
    const unknown = await tsd(['image', 'nosuch']);
    expect(unknown.code).toBe(125);
  });

  it('image prune removes dangling images (unused ones with -a), after asking', async () => {
    expect(await ok(['image', 'prune', '-f'])).toBe('Total reclaimed space: 0B\n');
    const dir = (await sb.sh(['mktemp', '-d'])).stdout.trim();
    await sb.sh(['sh', '-c', `mkdir ${dir}/root && head -c 3000 /dev/zero > ${dir}/root/blob && tar -cf ${dir}/r.tar -C ${dir}/root .`]);
    const id = (await ok(['import', `${dir}/r.tar`])).trim();
    await sb.sh(['rm', '-rf', dir]);
    const asked = await tsd(['image', 'prune'], 'n\n');
    expect(asked.stdout).toBe('WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
    const layer = (await ok(['inspect', '--format', '{{index .RootFS.Layers 0}}', id])).trim();
    const pruned = await ok(['image', 'prune', '-f']);
    expect(pruned).toMatch(new RegExp(`^Deleted Images:\\ndeleted: ${id}\\ndeleted: ${layer}\\n\\nTotal reclaimed space: 3(\\.\\d+)?kB\\n$`));
    await ok(['tag', 'busybox', 'unused:1']);
    expect(await ok(['image', 'prune', '-a', '-f'])).toBe('Total reclaimed space: 0B\n'); // busybox is in use, so its tags stay
  });
});
