/**
 * `tsdocker cp` both ways, on a running and on a stopped container, with docker cp's path
 * rules (Docker 20.10's results written here), -a, -L, tar streams on stdin/stdout, the
 * container's volumes and bind mounts, and hostile symlinks that point out of the root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { tar } from '../helpers/archives.js';

const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let dir: string;
let bind: string;
const h = (...p: string[]) => join(dir, ...p);
const ex = async (c: string, cmd: string) => (await tsdOk(sb, ['exec', c, 'sh', '-c', cmd])).trim();
const cp = (args: string[], input?: string) => sb.tsd(['cp', ...args], input === undefined ? undefined : { input });
const cpOk = async (...args: string[]) => {
  const r = await cp(args);
  if (r.code !== 0) throw new Error(`cp ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
};
/** what a stopped container holds at `path` (copied out through cp itself, then read) */
const readStopped = async (c: string, path: string) => {
  const out = h(`read-${Math.random().toString(36).slice(2)}`);
  await cpOk(`${c}:${path}`, out);
  return readFileSync(out, 'utf8');
};

describe.skipIf(!isRoot)('tsdocker cp', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-cp');
    dir = mkdtempSync(join(tmpdir(), 'tsd-cp-'));
    bind = h('bind');
    mkdirSync(bind);
    writeFileSync(join(bind, 'from-bind'), 'bound\n');
    writeFileSync(h('host-secret'), 'host secret\n');
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
    const setup = 'mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && ln -s /etc/hostname /lnk && ln -s / /evil && ' +
      `ln -s ../../../../../../..${dir} /esc && mkdir -p ${dir} && echo in-container > /made`;
    await tsdOk(sb, ['run', '-d', '--name', 'live', '--network', 'none', '-v', 'vol:/data', '-v', `${bind}:/bind`, 'busybox', 'sh', '-c', `${setup}; exec sleep 300`]);
    for (let i = 0; i < 100 && (await sb.tsd(['exec', 'live', 'test', '-e', '/made'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    await tsdOk(sb, ['run', '--name', 'dead', '--network', 'none', '-v', 'dvol:/data', '-v', `${bind}:/bind`, 'busybox', 'sh', '-c', `${setup}; echo v > /data/v`]);
  }, 120_000);

  afterAll(async () => {
    await sb?.tsd(['rm', '-f', 'live', 'dead']);
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  for (const c of ['live', 'dead']) {
    it(`${c}: container to host, Docker's rules for files, directories, SRC/. and a trailing /`, async () => {
      const out = h(`out-${c}`);
      mkdirSync(out);
      await cpOk(`${c}:/made`, join(out, 'file'));
      expect(readFileSync(join(out, 'file'), 'utf8')).toBe('in-container\n');
      await cpOk(`${c}:/made`, out); // into an existing directory: keeps its name
      expect(readFileSync(join(out, 'made'), 'utf8')).toBe('in-container\n');
      await cpOk(`${c}:/d`, join(out, 'newdir')); // a directory onto a missing path becomes it
      expect(readFileSync(join(out, 'newdir', 'sub', 'b'), 'utf8')).toBe('b\n');
      await cpOk(`${c}:/d`, out); // into an existing directory
      expect(readFileSync(join(out, 'd', 'a'), 'utf8')).toBe('a\n');
      mkdirSync(join(out, 'contents'));
      await cpOk(`${c}:/d/.`, join(out, 'contents')); // the contents only
      expect(readFileSync(join(out, 'contents', 'a'), 'utf8')).toBe('a\n');
      expect(existsSync(join(out, 'contents', 'd'))).toBe(false);
      // Docker 20.10: a file onto a missing path with a trailing / is refused
      const r = await cp([`${c}:/made`, join(out, 'nodir') + '/']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no such directory');
      // a directory onto a file is refused
      const r2 = await cp([`${c}:/d`, join(out, 'file')]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain('cannot copy directory');
      // a symlink is copied as a link; -L copies its target's content under the link's name
      await cpOk(`${c}:/lnk`, join(out, 'link'));
      expect(readlinkSync(join(out, 'link'))).toBe('/etc/hostname');
      await cpOk('-L', `${c}:/lnk`, out);
      expect(lstatSync(join(out, 'lnk')).isFile()).toBe(true);
      const missing = await cp([`${c}:/nope`, out]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`Could not find the file /nope in container ${c}`);
    }, 60_000);

    it(`${c}: host to container, owned by root unless -a, into volumes and bind mounts`, async () => {
      const src = h(`src-${c}`);
      mkdirSync(join(src, 'tree', 'deep'), { recursive: true });
      writeFileSync(join(src, 'tree', 'deep', 'f'), 'deep\n');
      writeFileSync(join(src, 'owned'), 'owned\n', { mode: 0o640 });
      chownSync(join(src, 'owned'), 1234, 4321);
      await cpOk(join(src, 'tree'), `${c}:/copied`);
      await cpOk(join(src, 'owned'), `${c}:/tmp/`);
      await cpOk('-a', join(src, 'owned'), `${c}:/tmp/kept`);
      await cpOk(join(src, 'owned'), `${c}:/data/`);
      await cpOk(join(src, 'owned'), `${c}:/bind/from-${c}`);
      expect(readFileSync(join(bind, `from-${c}`), 'utf8')).toBe('owned\n');
      if (c === 'live') {
        expect(await ex(c, 'cat /copied/deep/f; stat -c "%u:%g %a" /tmp/owned /tmp/kept; cat /data/owned')).toBe('deep\n0:0 640\n1234:4321 640\nowned');
        expect(await ex(c, 'cat /bind/from-bind')).toBe('bound');
      } else {
        expect(await readStopped(c, '/copied/deep/f')).toBe('deep\n');
        expect(await readStopped(c, '/data/owned')).toBe('owned\n');
        expect(await readStopped(c, '/data/v')).toBe('v\n');
        expect(await readStopped(c, '/bind/from-bind')).toBe('bound\n');
        const stream = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} cp ${c}:/tmp - | tar -tvf - --numeric-owner`]);
        expect(stream.stdout).toMatch(/-rw-r----- 0\/0 .* tmp\/owned\n/);
        expect(stream.stdout).toMatch(/-rw-r----- 1234\/4321 .* tmp\/kept\n/);
      }
    }, 60_000);

    it(`${c}: tar streams with -`, async () => {
      const out = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} cp ${c}:/d - | tar -tf -`]);
      expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(['d/', 'd/a', 'd/sub/', 'd/sub/b']);
      const archive = tar([{ name: 'streamed/', type: 'dir' }, { name: 'streamed/s', data: 'from stdin\n', uid: 77, gid: 88 }]).toString('latin1');
      writeFileSync(h(`stream-${c}.tar`), Buffer.from(archive, 'latin1'));
      const put = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} cp - ${c}:/tmp < ${h(`stream-${c}.tar`)}`]);
      expect(put.code, put.stderr).toBe(0);
      expect(await readStopped(c, '/tmp/streamed/s')).toBe('from stdin\n');
      const notDir = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} cp - ${c}:/made < ${h(`stream-${c}.tar`)}`]);
      expect(notDir.code).toBe(1);
      expect(notDir.stderr).toContain(`destination "${c}:/made" must be a directory`);
    }, 60_000);

    it(`${c}: a symlink that points out of the root stays inside it, both ways`, async () => {
      // /evil -> /, /esc -> ../../../..<host dir>: resolved in the container, never on the host
      // (the container has a directory of the host directory's name: the copies land there)
      await cpOk(h('host-secret'), `${c}:/evil${dir}/pwned`);
      expect(existsSync(h('pwned'))).toBe(false);
      await cpOk(h('host-secret'), `${c}:/esc/pwned2`);
      expect(existsSync(h('pwned2'))).toBe(false);
      expect(await readStopped(c, `${dir}/pwned`)).toBe('host secret\n');
      expect(await readStopped(c, `${dir}/pwned2`)).toBe('host secret\n');
      const leak = await cp([`${c}:/esc/host-secret`, h(`leak-${c}`)]);
      expect(leak.code).toBe(1);
      expect(leak.stderr).toContain(`Could not find the file /esc/host-secret in container ${c}`);
      expect(existsSync(h(`leak-${c}`))).toBe(false);
      // -L on /esc copies the container's directory, which has no host-secret in it
      await cpOk('-L', `${c}:/esc`, h(`leak2-${c}`));
      expect(existsSync(h(`leak2-${c}`, 'pwned'))).toBe(true);
      expect(existsSync(h(`leak2-${c}`, 'host-secret'))).toBe(false);
    }, 120_000);
  }

  it('refuses to write into a --read-only root or a read-only volume, as dockerd (exit 1)', async () => {
    await tsdOk(sb, ['run', '--name', 'ro', '--network', 'none', '--read-only', '-v', 'rovol:/rov:ro', '-v', 'rwvol:/rw', 'busybox', 'true']);
    writeFileSync(h('ro-src'), 'ro\n');
    const root = await cp([h('ro-src'), 'ro:/tmp/']);
    expect([root.code, root.stderr.includes('container rootfs is marked read-only')]).toEqual([1, true]);
    const vol = await cp([h('ro-src'), 'ro:/rov/']);
    expect([vol.code, vol.stderr.includes('mounted volume is marked read-only')]).toEqual([1, true]);
    await cpOk(h('ro-src'), 'ro:/rw/');
    expect(await readStopped('ro', '/rw/ro-src')).toBe('ro\n');
    await tsdOk(sb, ['rm', 'ro']);
  }, 60_000);

  it('refuses what docker cp refuses (exit 1)', async () => {
    const both = await cp(['live:/made', 'dead:/x']);
    expect([both.code, both.stderr.includes('copying between containers is not supported')]).toEqual([1, true]);
    const none = await cp([h('a'), h('b')]);
    expect([none.code, none.stderr.includes('must specify at least one container source')]).toEqual([1, true]);
    const nosuch = await cp(['nosuch:/x', h('b')]);
    expect([nosuch.code, nosuch.stderr.includes('No such container: nosuch')]).toEqual([1, true]);
    const nosrc = await cp([h('nosrc'), 'live:/tmp']);
    expect([nosrc.code, nosrc.stderr.includes(`lstat ${h('nosrc')}: no such file or directory`)]).toEqual([1, true]);
    expect(statSync(dir).isDirectory()).toBe(true);
  }, 60_000);
});
