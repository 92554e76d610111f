/**
 * `tsdocker run` end to end, as root, against the real kernel, inside a throwaway host
 * namespace: isolation, the process options, exit codes and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, hostSnapshot, run, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();

beforeAll(async () => {
  sb = await createSandbox('tsd-run');
  const r = await sb.tsd(['load', '-i', BUSYBOX_TAR]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('isolation', () => {
  it('the command is pid 1 in its own pid namespace', async () => {
    const r = await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'echo $$; ps -o pid | wc -l']);
    expect(r.code, r.stderr).toBe(0);
    const [pid, lines] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(Number(lines)).toBeLessThanOrEqual(4); // header, sh, ps, wc
  });

  it('has its own hostname: the short id by default, --hostname when given', async () => {
    const r = await sb.tsd(['run', '--name', 'hn', 'busybox', 'hostname']);
    expect(r.code, r.stderr).toBe(0);
    const id = (await sb.tsd(['inspect', 'hn'])).stdout;
    expect(JSON.parse(id)[0].Id.slice(0, 12)).toBe(r.stdout.trim());
    await sb.tsd(['rm', 'hn']);
    const h = await sb.tsd(['run', '--rm', '--hostname', 'box1', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME']);
    expect(h.stdout).toBe('box1\nbox1\nbox1\n');
  });

  it('has its own mount table with an overlay root and the standard mounts', async () => {
    const r = await sb.tsd(['run', '--rm', 'busybox', 'cat', '/proc/self/mounts']);
    expect(r.code, r.stderr).toBe(0);
    const mounts = r.stdout.trim().split('\n').map((l) => l.split(' '));
    const at = (p: string) => mounts.find((m) => m[1] === p);
    expect(at('/')?.[2]).toBe('overlay');
    expect(at('/proc')?.[2]).toBe('proc');
    expect(at('/dev')?.[2]).toBe('tmpfs');
    expect(at('/dev/pts')?.[2]).toBe('devpts');
    expect(at('/dev/shm')?.[2]).toBe('tmpfs');
    expect(at('/dev/mqueue')?.[2]).toBe('mqueue');
    expect(at('/sys')?.[3]).toMatch(/^ro,/);
    expect(mounts.some((m) => m[1]!.startsWith('/work') || m[1]!.startsWith('/tmp/tsd'))).toBe(false);
  });

  it('in --network none only lo exists, and it is up', async () => {
    const add = await sb.sh(['ip', 'link', 'add', 'tsdhostdummy', 'type', 'bridge']);
    expect(add.code, add.stderr).toBe(0);
    const r = await sb.tsd(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
    expect(r.code, r.stderr).toBe(0);
    const links = r.stdout.trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP/);
  });

  it('in --network host the host interfaces are visible', async () => {
    const r = await sb.tsd(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('tsdhostdummy');
  });

  it('gets /dev devices, masked and read-only /proc paths, and no leaked descriptors', async () => {
    const r = await sb.tsd([
      'run', '--rm', 'busybox', 'sh', '-c',
      'ls /dev; echo ---; ls /proc/self/fd; echo ---; wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid && echo writable || echo readonly',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [dev, fds, rest] = r.stdout.split('---\n');
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'mqueue', 'ptmx', 'fd']) expect(dev).toContain(d);
    expect(fds!.trim().split(/\s+/).sort()).toEqual(['0', '1', '2', '3']); // 3 is ls's own directory
    expect(rest!.trim().split('\n')).toEqual(['0', '0', 'readonly']);
  });

  it('drops capabilities to Docker\'s default set and honours no-new-privileges', async () => {
    const r = await sb.tsd(['run', '--rm', 'busybox', 'grep', '-E', '^(CapBnd|CapEff|NoNewPrivs)', '/proc/self/status']);
    expect(r.stdout).toContain('CapBnd:\t00000000a80425fb');
    expect(r.stdout).toContain('CapEff:\t00000000a80425fb');
    expect(r.stdout).toContain('NoNewPrivs:\t0');
    const n = await sb.tsd(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status']);
    expect(n.stdout).toContain('NoNewPrivs:\t1');
  });
});

describe('process options', () => {
  it('-e, --env-file, -w, -u and --entrypoint', async () => {
    const envFile = join(sb.root, 'env.list');
    writeFileSync(envFile, '# a comment\nFROM_FILE=yes\nSHARED=file\n');
    const r = await sb.tsd([
      'run', '--rm', '-e', 'A=1', '--env-file', envFile, '-e', 'SHARED=flag', '-w', '/tmp/work', '-u', '1000:1001',
      'busybox', 'sh', '-c', 'echo $A $FROM_FILE $SHARED; pwd; id -u; id -g',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1 yes flag\n/tmp/work\n1000\n1001\n');
    const e = await sb.tsd(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
    expect(e.stdout).toBe('from entrypoint\n');
  });

  it('runs the image Cmd when no command is given, and reads stdin with -i', async () => {
    const r = await sb.tsd(['run', '--rm', '-i', 'busybox'], { input: 'echo from-stdin; exit 6\n' });
    expect(r.stdout).toBe('from-stdin\n');
    expect(r.code).toBe(6);
  });

  it('without -i the container reads nothing from stdin', async () => {
    const r = await sb.tsd(['run', '--rm', 'busybox', 'cat'], { input: 'ignored\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });
});

describe('exit codes and bad input', () => {
  it('passes the container status through; 128+n on signal n', async () => {
    expect((await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    // pid 1 cannot be killed from inside its namespace: kill it from the host
    const fg = sb.tsd(['run', '--name', 'victim', 'busybox', 'sleep', '30']);
    for (let i = 0; i < 100 && !(await sb.tsd(['ps', '-q', '--no-trunc'])).stdout.trim(); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await sb.tsd(['kill', '-s', 'KILL', 'victim'])).code).toBe(0);
    expect((await fg).code).toBe(137);
    expect((await sb.tsd(['wait', 'victim'])).stdout.trim()).toBe('137');
    await sb.tsd(['rm', 'victim']);
  });

  it('127 for a command that is not in the image, 126 for one that cannot be run', async () => {
    const nf = await sb.tsd(['run', '--rm', 'busybox', 'no-such-command']);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toMatch(/"no-such-command": executable file not found in \$PATH/);
    const ne = await sb.tsd(['run', '--rm', 'busybox', '/etc/passwd']);
    expect(ne.code).toBe(126);
    expect(ne.stderr).toMatch(/permission denied/);
  });

  it('a failed start leaves no container behind', async () => {
    await sb.tsd(['run', '--name', 'failing', 'busybox', 'no-such-command']);
    const ps = await sb.tsd(['ps', '-a', '--format', 'json']);
    expect(ps.stdout).not.toContain('failing');
  });

  it('125 with one clear line for bad flags, unknown images and duplicate names', async () => {
    const flag = await sb.tsd(['run', '--no-such-flag', 'busybox', 'true']);
    expect(flag.code).toBe(125);
    expect(flag.stderr).toMatch(/unknown option '--no-such-flag'/);
    const img = await sb.tsd(['run', '--rm', 'nosuchimage', 'true']);
    expect(img.code).toBe(125);
    expect(img.stderr).toMatch(/Unable to find image 'nosuchimage:latest' locally/);
    const wd = await sb.tsd(['run', '--rm', '-w', 'relative', 'busybox', 'true']);
    expect(wd.code).toBe(125);
    expect(wd.stderr).toMatch(/needs to be an absolute path/);
    expect((await sb.tsd(['run', '-d', '--name', 'dup', 'busybox', 'sleep', '30'])).code).toBe(0);
    const dup = await sb.tsd(['run', '-d', '--name', 'dup', 'busybox', 'true']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/The container name "\/dup" is already in use/);
    const ids = (await sb.tsd(['ps', '-aq'])).stdout.trim().split('\n');
    expect(ids).toHaveLength(1);
    await sb.tsd(['rm', '-f', 'dup']);
  });

  it('refuses to run without root, with a hint', async () => {
    const r = await run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '--root', sb.root, 'ps']);
    expect(r.code).toBe(1); // Docker: no access to the daemon, exit 1
    expect(r.stderr).toMatch(/must run as root/);
  });

  it('inspect falls back to images, and names what it cannot find', async () => {
    const r = await sb.tsd(['inspect', 'busybox']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].RepoTags).toEqual(['busybox:latest']);
    const n = await sb.tsd(['inspect', 'nothing-here']);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/No such object: nothing-here/);
  });

  it('unknown containers are named in the error', async () => {
    const r = await sb.tsd(['rm', 'nosuchcontainer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No such container: nosuchcontainer/);
  });
});

describe('state', () => {
  it('--rm removes the container, without it the container stays as exited', async () => {
    await sb.tsd(['run', '--rm', '--name', 'gone', 'busybox', 'true']);
    await sb.tsd(['run', '--name', 'kept', 'busybox', 'sh', '-c', 'exit 2']);
    const ps = (await sb.tsd(['ps', '-a', '--format', 'json'])).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(ps.map((p) => p.Names)).toEqual(['kept']);
    expect(ps[0].Status).toMatch(/^Exited \(2\)/);
    await sb.tsd(['rm', 'kept']);
    expect(readdirSync(join(sb.root, 'containers'))).toEqual([]);
  });

  it('no mounts of a container are visible on the host', async () => {
    const id = (await sb.tsd(['run', '-d', 'busybox', 'sleep', '30'])).stdout.trim();
    const hostMounts = execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' });
    expect(hostMounts).not.toContain(id);
    const sandboxMounts = (await sb.sh(['cat', '/proc/self/mountinfo'])).stdout;
    expect(sandboxMounts).not.toContain(id);
    await sb.tsd(['rm', '-f', id]);
  });
});
