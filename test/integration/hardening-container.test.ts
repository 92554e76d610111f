/**
 * Container hardening (issue 8): `--network container:X` is resolved at every start and a
 * reused pid of a stopped X is refused; the image's /etc/passwd and /etc/group are read
 * inside its root (no symlink to the host, no FIFO hang, no endless file); the generated
 * /etc/hosts, hostname and resolv.conf survive a mount on /etc; a deeply nested image
 * config is a one-line error. The sandbox has its own pid namespace, so a test can make a
 * process take a pid of its choice (ns_last_pid) without racing the rest of the machine.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, BUSYBOX_TAR, type Sandbox, tsdOk } from '../helpers/sandbox.js';
import { dockerSaveClassic, sha256, tar, type Entry } from '../helpers/archives.js';
import { IMAGE_FILE_MAX } from '../../src/image/files.js';

let sb: Sandbox;
const ok = (args: string[]) => tsdOk(sb, args);

interface Inspected {
  Id: string;
  State: { Pid: number; Running: boolean; Status: string };
}
async function inspect(name: string): Promise<Inspected> {
  return (JSON.parse(await ok(['inspect', name])) as Inspected[])[0]!;
}

/** The network namespace of a pid of the sandbox (`net:[inode]`). */
async function netnsOf(pid: number): Promise<string> {
  const r = await sb.sh(['readlink', `/proc/${pid}/ns/net`]);
  if (r.code !== 0) throw new Error(`no process ${pid}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Start `unshare -n sleep` (a process in a namespace of its own) so that it gets `pid`:
 * ns_last_pid is set to pid-1 just before the fork, in the sandbox's pid namespace where
 * only this test starts processes. Tries a few times in case something else forked first.
 */
async function takePid(pid: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const r = await sb.sh(['sh', '-c', `echo ${pid - 1} >/proc/sys/kernel/ns_last_pid && { unshare -n sleep 1000 </dev/null >/dev/null 2>&1 & echo $!; }`]);
    const got = Number(r.stdout.trim());
    if (got === pid) return;
    if (got) await sb.sh(['kill', '-9', String(got)]);
  }
  throw new Error(`could not make a process take pid ${pid}`);
}

beforeAll(async () => {
  sb = await createSandbox('tsd-hard', { pidns: true });
  await ok(['load', '-i', BUSYBOX_TAR]);
});

afterAll(async () => {
  await sb?.close();
});

describe('--network container:X is resolved at every start', () => {
  it('a stopped X whose pid was taken by another process is refused, its namespace never joined', async () => {
    await ok(['run', '-d', '--name', 'x1', 'busybox', 'sleep', '1000']);
    const x = await inspect('x1');
    await ok(['create', '--name', 'j1', '--network', 'container:x1', 'busybox', 'sleep', '1000']);
    await ok(['kill', 'x1']);
    await ok(['wait', 'x1']);
    await takePid(x.State.Pid);
    const foreign = await netnsOf(x.State.Pid);
    expect(foreign).not.toBe(await netnsOf(1)); // the impostor really is in another namespace
    const r = await sb.tsd(['start', 'j1']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`cannot join network of a non running container: ${x.Id}`);
    expect((await inspect('j1')).State.Running).toBe(false);
    // nobody but the impostor is in its namespace
    const members = await sb.sh(['sh', '-c', `for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net)" = "${foreign}" ] && echo \${p#/proc/}; done`]);
    expect(members.stdout.trim().split('\n')).toEqual([String(x.State.Pid)]);
    await sb.sh(['kill', '-9', String(x.State.Pid)]);
    await ok(['rm', '-f', 'x1', 'j1']);
  });

  it('create against a stopped X is accepted; start refuses until X runs, then joins X', async () => {
    await ok(['create', '--name', 'x2', 'busybox', 'sleep', '1000']);
    await ok(['create', '--name', 'j2', '--network', 'container:x2', 'busybox', 'sleep', '1000']);
    const x = await inspect('x2');
    const r = await sb.tsd(['start', 'j2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot join network of a non running container: ${x.Id}`);
    await ok(['start', 'x2']);
    await ok(['start', 'j2']);
    const xns = await netnsOf((await inspect('x2')).State.Pid);
    expect(await netnsOf((await inspect('j2')).State.Pid)).toBe(xns);
    expect((await ok(['exec', 'j2', 'readlink', '/proc/self/ns/net'])).trim()).toBe(xns); // exec joins it too
    await ok(['rm', '-f', 'x2', 'j2']);
  });

  it('after X restarts, a start of the joiner joins X\'s new namespace', async () => {
    await ok(['run', '-d', '--name', 'x3', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'j3', '--network', 'container:x3', 'busybox', 'sleep', '1000']);
    const x = await inspect('x3');
    const before = await netnsOf(x.State.Pid);
    expect(await netnsOf((await inspect('j3')).State.Pid)).toBe(before);
    // keep the old namespace alive, so its inode cannot be handed to the new one
    const keep = Number((await sb.sh(['sh', '-c', `nsenter --net=/proc/${x.State.Pid}/ns/net sleep 1000 </dev/null >/dev/null 2>&1 & echo $!`])).stdout.trim());
    await ok(['kill', 'j3', 'x3']);
    await ok(['wait', 'j3', 'x3']);
    await ok(['start', 'x3']);
    await ok(['start', 'j3']);
    const after = await netnsOf((await inspect('x3')).State.Pid);
    expect(after).not.toBe(before);
    expect(await netnsOf((await inspect('j3')).State.Pid)).toBe(after);
    await sb.sh(['kill', '-9', String(keep)]);
    await ok(['rm', '-f', 'x3', 'j3']);
  });
});

describe('the image\'s /etc/passwd and /etc/group are read inside the image', () => {
  // host files with a marker user and group that the image's symlinks point at
  let dir = '';
  let hostPasswd = '';
  let hostGroup = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-hard-pw-'));
    hostPasswd = join(dir, 'host-passwd');
    hostGroup = join(dir, 'host-group');
    writeFileSync(hostPasswd, 'marker:x:4242:4242:marker:/markerhome:/bin/sh\n');
    writeFileSync(hostGroup, 'markers:x:4343:\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Load an image whose only layer is etc/ plus `entries`, tagged `tag`. */
  async function loadImage(tag: string, entries: Entry[]): Promise<void> {
    const file = join(dir, `${tag}.tar`);
    writeFileSync(file, dockerSaveClassic([{ tags: [`${tag}:1`], layers: [[{ name: 'etc/', type: 'dir' }, ...entries]] }]));
    await ok(['load', '-i', file]);
  }

  /** `create` with these arguments fails at once with one line (and a hint) matching `msg`. */
  async function refused(args: string[], msg: RegExp): Promise<void> {
    const r = await sb.tsd(['create', ...args, 'true'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(125);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(msg);
    expect(lines.slice(1).every((l) => l.startsWith('hint: '))).toBe(true);
  }

  it('a symlink to a host file reads the image\'s own tree, never the host file', async () => {
    await loadImage('pwlink', [
      { name: 'etc/passwd', type: 'symlink', linkname: hostPasswd },
      { name: 'etc/group', type: 'symlink', linkname: `../../../../../../..${hostGroup}` },
    ]);
    await refused(['-u', 'marker', 'pwlink:1'], /unable to find user marker/);
    await refused(['-u', '0:markers', 'pwlink:1'], /unable to find group markers/);
  });

  it('a FIFO is refused at once, never waited on', async () => {
    await loadImage('pwfifo', [{ name: 'etc/passwd', type: 'fifo' }]);
    await refused(['pwfifo:1'], /the image's \/etc\/passwd is a FIFO, not a regular file/);
    await loadImage('grfifo', [{ name: 'etc/group', type: 'fifo' }]);
    await refused(['-u', '0:staff', 'grfifo:1'], /the image's \/etc\/group is a FIFO, not a regular file/);
  });

  it('a link to /dev/zero finds no /dev/zero in the image (images carry no devices): as if absent', async () => {
    await loadImage('pwzero', [{ name: 'etc/passwd', type: 'symlink', linkname: '/dev/zero' }]);
    const id = (await ok(['create', '-u', '7', 'pwzero:1', 'true'])).trim();
    await ok(['rm', id]);
    await refused(['-u', 'root', 'pwzero:1'], /unable to find user root/);
  });

  it('a directory is refused', async () => {
    await loadImage('pwdir', [{ name: 'etc/passwd/', type: 'dir' }]);
    await refused(['pwdir:1'], /the image's \/etc\/passwd is a directory, not a regular file/);
  });

  it('a file larger than the cap is refused', async () => {
    await loadImage('pwhuge', [{ name: 'etc/passwd', data: Buffer.alloc(IMAGE_FILE_MAX + 1, 'a') }]);
    await refused(['pwhuge:1'], new RegExp(`the image's /etc/passwd is larger than ${IMAGE_FILE_MAX} bytes`));
  });
});

describe('the generated /etc/hosts, hostname and resolv.conf go over the user\'s mounts', () => {
  let dir = '';
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const show = ['sh', '-c', 'cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf'];

  /** hostname, hosts and resolv.conf as a container with these options sees them */
  async function etcFiles(opts: string[], image = 'busybox'): Promise<{ hostname: string; hosts: string; resolv: string }> {
    const [hostname = '', hosts = '', resolv = ''] = (await ok(['run', '--rm', '--hostname', 'h14', ...opts, image, ...show])).split('---\n');
    return { hostname: hostname.trim(), hosts, resolv };
  }

  let plain: { hostname: string; hosts: string; resolv: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-hard-etc-'));
    plain = await etcFiles([]);
    // an image whose VOLUME /data is a symlink to /etc
    const layer: Entry[] = [
      { name: 'bin/', type: 'dir' },
      { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
      ...['sh', 'cat', 'echo'].map((n) => ({ name: `bin/${n}`, type: 'symlink' as const, linkname: 'busybox' })),
      { name: 'etc/', type: 'dir' },
      { name: 'data', type: 'symlink', linkname: '/etc' },
    ];
    const file = join(dir, 'etcvol.tar');
    writeFileSync(file, dockerSaveClassic([{ tags: ['etcvol:1'], layers: [layer], config: { Env: ['PATH=/bin'], Cmd: ['sh'], Volumes: { '/data': {} } } }]));
    await ok(['load', '-i', file]);
  });

  it.each([
    ['--tmpfs /etc', ['--tmpfs', '/etc'], 'busybox'],
    ['a named volume on /etc', ['-v', 'etc14:/etc'], 'busybox'],
    ['an image VOLUME /data that links to /etc', [], 'etcvol:1'],
  ])('%s keeps them', async (_what, opts, image) => {
    expect(plain.hostname).toBe('h14');
    expect(plain.hosts).toMatch(/\sh14\n/);
    const seen = await etcFiles(opts, image);
    expect(seen.hostname).toBe('h14');
    expect(seen.hosts).toMatch(/\sh14\n/);
    expect(seen.resolv).toBe(plain.resolv);
  });

  it('a user\'s own mount on /etc/hosts still wins', async () => {
    const mine = join(dir, 'hosts');
    writeFileSync(mine, '192.0.2.7 mine\n');
    expect((await etcFiles(['-v', `${mine}:/etc/hosts:ro`])).hosts).toBe('192.0.2.7 mine\n');
  });
});

describe('an image config nested 100,000 deep', () => {
  it('is refused at load with one line, and nothing is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsd-hard-deep-'));
    try {
      const layer = tar([{ name: 'f', data: 'x' }]);
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const cfg = Buffer.from(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:${sha256(layer)}"]},"config":{"Cmd":["sh"],"Labels":{}},"x":${deep}}`);
      const hex = sha256(cfg);
      const file = join(dir, 'deep.tar');
      writeFileSync(file, tar([
        { name: `${hex}.json`, data: cfg },
        { name: 'l/layer.tar', data: layer },
        { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['deep:1'], Layers: ['l/layer.tar'] }]) },
      ]));
      const before = await ok(['images', '-q']);
      const r = await sb.tsd(['load', '-i', file]);
      expect(r.code).toBe(1); // Docker: load errors come from the daemon, exit 1
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^tsdocker: .*'${hex}\\.json' nests deeper than 1000 levels$`));
      expect(lines.slice(1).every((l) => l.startsWith('hint: '))).toBe(true);
      expect(await ok(['images', '-q'])).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
