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
