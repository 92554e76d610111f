/**
 * Mounts and volumes through the CLI: binds (rw, ro, created, refused), named volumes with
 * copy-up, anonymous volumes from an image VOLUME and `rm -v`, copy-up through whiteouts and
 * symlinks of a layered image, tmpfs, --read-only, and mount targets that resolve through a
 * symlink pointing out of the container root (never followed onto the host).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';

const layout = detectLayout();
const parent = `tsdocker-test-${randomBytes(4).toString('hex')}`;
const env = { ...process.env, TSDOCKER_CGROUP_PARENT: parent };
const hierarchies = [...new Set([...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])])];
const evil = `/tmp/tsd-evil-${randomBytes(4).toString('hex')}`;
let sb: Sandbox;
let work: string;
const before = hostSnapshot();

const tsd = (args: string[]): Promise<RunResult> => sb.tsd(args, { env });
const ok = async (args: string[]): Promise<string> => {
  const r = await tsd(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const volumeDir = (name: string) => join(sb.root, 'volumes', name, '_data');
const volumes = async () => (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * A two-layer docker-save archive: busybox, then a layer that whites out /etc/shadow, adds
 * /etc/motd and /data content, an in-root symlink /datalink -> /data and an escaping
 * symlink /evil -> /../../../..<evil>; its config declares VOLUME /data.
 */
function buildLayeredImage(dir: string): string {
  const out = join(dir, 'img');
  mkdirSync(out);
  execFileSync('tar', ['-xf', BUSYBOX_TAR, '-C', out]);
  const base = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))[0].Layers[0] as string;
  const l2 = join(dir, 'l2');
  mkdirSync(join(l2, 'etc'), { recursive: true });
  mkdirSync(join(l2, 'data', 'sub'), { recursive: true });
  writeFileSync(join(l2, 'etc', '.wh.shadow'), '');
  writeFileSync(join(l2, 'etc', 'motd'), 'layer two\n');
  writeFileSync(join(l2, 'data', 'fromimage.txt'), 'image content\n');
  writeFileSync(join(l2, 'data', 'sub', 'x'), 'x\n');
  symlinkSync('/data', join(l2, 'datalink'));
  symlinkSync(`/../../../..${evil}`, join(l2, 'evil'));
  mkdirSync(join(out, 'l2'));
  execFileSync('tar', ['-C', l2, '--owner=0', '--group=0', '-cf', join(out, 'l2', 'layer.tar'), 'etc', 'data', 'datalink', 'evil']);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], Volumes: { '/data': {} } },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(join(out, base))}`, `sha256:${sha256(join(out, 'l2', 'layer.tar'))}`] },
  });
  const cfgName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(out, cfgName), config);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: ['voltest:latest'], Layers: [base, 'l2/layer.tar'] }]));
  rmSync(join(out, 'repositories'), { force: true });
  const tarPath = join(dir, 'voltest.tar');
  execFileSync('tar', ['-C', out, '-cf', tarPath, '.']);
  return tarPath;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsd-voltest-'));
  sb = await createSandbox('tsd-vol');
  expect((await tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
  const r = await tsd(['load', '-i', buildLayeredImage(work)]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  rmSync(work, { recursive: true, force: true });
  for (const h of hierarchies) {
    const d = join(h, parent);
    if (existsSync(d)) {
      expect(readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual([]);
      rmdirSync(d);
    }
  }
  expect(existsSync(evil)).toBe(false);
  expect(hostSnapshot()).toEqual(before);
});

describe('bind mounts', () => {
  it('-v HOST:CTR is read-write, :ro is read-only, a missing host directory is created', async () => {
    const host = join(work, 'bind');
    mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    expect(await ok(['run', '--rm', '-v', `${host}:/mnt/h`, 'busybox', 'sh', '-c', 'cat /mnt/h/in.txt; echo back > /mnt/h/out.txt'])).toBe('from host\n');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('back\n');
    const ro = await tsd(['run', '--rm', '-v', `${host}:/mnt/h:ro`, 'busybox', 'sh', '-c', 'cat /mnt/h/in.txt; touch /mnt/h/no']);
    expect(ro.code).not.toBe(0);
    expect(ro.stdout).toBe('from host\n');
    expect(ro.stderr).toMatch(/Read-only file system/);
    const created = join(work, 'created', 'deep');
    await ok(['run', '--rm', '-v', `${created}:/c`, 'busybox', 'touch', '/c/f']);
    expect(existsSync(join(created, 'f'))).toBe(true);
  });

  it('--mount type=bind,readonly and a missing source is refused', async () => {
    const host = join(work, 'bind');
    const r = await tsd(['run', '--rm', '--mount', `type=bind,source=${host},target=/m,readonly`, 'busybox', 'sh', '-c', 'cat /m/in.txt; touch /m/x']);
    expect(r.stdout).toBe('from host\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    const bad = await tsd(['run', '--rm', '--mount', `type=bind,source=${host}/missing,target=/m`, 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain(`bind source path does not exist: ${host}/missing`);
  });
});

describe('named volumes', () => {
  it('are created on first use with the image content copied in, and persist', async () => {
    expect(await ok(['run', '--rm', '-v', 'etcv:/etc', 'busybox', 'sh', '-c', 'grep -c root /etc/passwd; echo kept > /etc/kept'])).toBe('1\n');
    expect(readFileSync(join(volumeDir('etcv'), 'passwd'), 'utf8')).toContain('root');
    expect(await ok(['run', '--rm', '-v', 'etcv:/x', 'busybox', 'cat', '/x/kept'])).toBe('kept\n');
    expect(await volumes()).toEqual(['etcv']);
    const info = JSON.parse(await ok(['volume', 'inspect', 'etcv']))[0];
    expect(info).toMatchObject({ Name: 'etcv', Driver: 'local', Mountpoint: volumeDir('etcv') });
  });

  it('volume create/rm, and rm refuses a volume a container uses', async () => {
    expect((await ok(['volume', 'create', 'made'])).trim()).toBe('made');
    await ok(['run', '--name', 'user', '--mount', 'source=made,target=/m', 'busybox', 'sh', '-c', 'echo hi > /m/f']);
    const busy = await tsd(['volume', 'rm', 'made']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/volume is in use/);
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])).toBe('made\n');
    await ok(['volume', 'create', 'idle']);
    expect(await ok(['volume', 'ls', '-q', '-f', 'dangling=true'])).toContain('idle\n');
    expect(await ok(['volume', 'ls', '-q', '-f', 'dangling=true'])).not.toContain('made');
    await ok(['volume', 'rm', 'idle']);
    expect(await ok(['volume', 'ls', '-q', '-f', 'name=ade'])).toBe('made\n');
    expect((await tsd(['volume', 'ls', '-f', 'bogus=1'])).code).toBe(1); // Docker: Invalid filter 'bogus', exit 1
    await ok(['rm', '-v', 'user']); // -v removes anonymous volumes only
    expect(await volumes()).toContain('made');
    await ok(['volume', 'rm', 'made']);
    await ok(['volume', 'rm', '-f', 'etcv']);
    expect(await volumes()).toEqual([]);
    const missing = await tsd(['volume', 'rm', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tsdocker: no such volume: nope\nhint: /);
    expect((await tsd(['volume', 'rm', '-f', 'nope'])).code).toBe(0);
  });

  it('nocopy leaves a new volume empty', async () => {
    // nothing of the image's /etc (passwd, group, ...): only the generated files, mounted over it as Docker does
    expect(await ok(['run', '--rm', '-v', 'empty:/etc:nocopy', 'busybox', '/bin/ls', '-A', '/etc'])).toBe('hostname\nhosts\nresolv.conf\n');
    await ok(['volume', 'rm', 'empty']);
  });
});

describe('a layered image: VOLUME, whiteouts, symlinks', () => {
  it("an image VOLUME becomes an anonymous volume with the image's content; rm -v removes it", async () => {
    const out = await ok(['run', '--name', 'anon', 'voltest', 'sh', '-c', 'cat /data/fromimage.txt /data/sub/x; echo new > /data/new']);
    expect(out).toBe('image content\nx\n');
    const [name] = await volumes();
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(volumeDir(name!), 'new'), 'utf8')).toBe('new\n');
    await ok(['rm', '-v', 'anon']);
    expect(await volumes()).toEqual([]);
  });

  it('without rm -v the anonymous volume stays until volume prune', async () => {
    await ok(['run', '--name', 'anon2', '-v', '/scratch', 'voltest', 'true']);
    expect(await volumes()).toHaveLength(2); // /data from the image, /scratch from -v
    await ok(['rm', 'anon2']);
    expect(await volumes()).toHaveLength(2);
    expect(await ok(['volume', 'prune', '-f'])).toMatch(/^Deleted Volumes:\n[0-9a-f]{64}\n[0-9a-f]{64}\n/);
    expect(await volumes()).toEqual([]);
  });

  it('copy-up sees the merged image: whiteouts hide, symlinks resolve inside the root', async () => {
    expect(await ok(['run', '--rm', '-v', 'wv:/etc', '-v', 'lv:/datalink', 'voltest', 'true'])).toBe('');
    const etc = readdirSync(volumeDir('wv')).sort();
    expect(etc).toContain('motd');
    expect(etc).toContain('passwd');
    expect(etc).not.toContain('shadow');
    expect(readdirSync(volumeDir('lv')).sort()).toEqual(['fromimage.txt', 'sub']);
    await ok(['volume', 'rm', 'wv', 'lv']);
    await ok(['volume', 'prune', '-f']);
  });

  it('a mount target through a symlink that points out of the root stays inside the container', async () => {
    const host = join(work, 'bind');
    const out = await ok(['run', '--rm', '-v', `${host}:/evil/sub`, '--tmpfs', '/evil/t', 'voltest', 'sh', '-c', `cat ${evil}/sub/in.txt; grep -c " ${evil}/t " /proc/mounts`]);
    expect(out).toBe('from host\n1\n');
    expect(existsSync(evil)).toBe(false);
    const inSandbox = await sb.sh(['sh', '-c', `test -e ${evil} && echo exists; grep -c tsd-evil /proc/self/mountinfo`]);
    expect(inSandbox.stdout.trim()).toBe('0');
    await ok(['volume', 'prune', '-f']);
  });
});

describe('restart and removal', () => {
  it('a restarted container keeps its anonymous volume; rm -v leaves no cgroup, mount or anonymous volume', async () => {
    const id = (await ok(['run', '-d', '--name', 'again', '-m', '32m', '-v', '/anon', '-v', 'keep:/keep', '--tmpfs', '/t', 'busybox', 'sh', '-c', 'echo x >> /anon/f; sleep 0.2'])).trim();
    await ok(['wait', 'again']);
    await ok(['start', 'again']);
    await ok(['wait', 'again']);
    const vols = await volumes();
    expect(vols).toHaveLength(2);
    const anon = vols.find((v) => v !== 'keep')!;
    expect(readFileSync(join(volumeDir(anon), 'f'), 'utf8')).toBe('x\nx\n');
    expect(existsSync(join(layout.v1.memory ?? layout.unified!, parent, id))).toBe(true);
    const info = JSON.parse(await ok(['inspect', 'again']))[0];
    expect(info.Mounts).toEqual(expect.arrayContaining([
      expect.objectContaining({ Type: 'volume', Name: anon, Destination: '/anon', RW: true }),
      expect.objectContaining({ Type: 'volume', Name: 'keep', Destination: '/keep', Source: volumeDir('keep') }),
      expect.objectContaining({ Type: 'tmpfs', Destination: '/t' }),
    ]));
    await ok(['rm', '-v', 'again']);
    expect(await volumes()).toEqual(['keep']);
    for (const h of hierarchies) expect(existsSync(join(h, parent, id))).toBe(false);
    const mounts = await sb.sh(['cat', '/proc/self/mountinfo']);
    expect(mounts.stdout).not.toContain(id);
    await ok(['volume', 'rm', 'keep']);
  });
});

describe('tmpfs and --read-only', () => {
  it('--tmpfs and --mount type=tmpfs mount tmpfs with Docker\'s default flags and the given size', async () => {
    const out = await ok(['run', '--rm', '--tmpfs', '/run:size=1m', '--mount', 'type=tmpfs,target=/t,tmpfs-size=2m,readonly', 'busybox', 'grep', ' /run \\| /t ', '/proc/mounts']);
    const run = out.split('\n').find((l) => l.includes(' /run '))!;
    const t = out.split('\n').find((l) => l.includes(' /t '))!;
    expect(run).toMatch(/^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,.*size=1024k/);
    expect(t).toMatch(/^tmpfs \/t tmpfs ro,nosuid,nodev,noexec,.*size=2048k/);
  });

  it('--read-only makes / read-only; volumes and tmpfs stay writable', async () => {
    const r = await tsd(['run', '--rm', '--read-only', '--tmpfs', '/run', '-v', 'rov:/v', 'busybox', 'sh', '-c', 'touch /run/a && touch /v/a && echo writable; touch /nope']);
    expect(r.stdout).toBe('writable\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.code).not.toBe(0);
    await ok(['volume', 'rm', 'rov']);
  });
});
