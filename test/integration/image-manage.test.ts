/**
 * import, images, tag, rmi (untag vs delete, containers using an image, layer refcounts)
 * and the runtime's API (resolveImage, listImages) against a temp --root.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, existsSync, readFileSync, rmSync, lstatSync, readlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { buildImage, dockerSaveClassic, imageEnv, tar, type Entry, type ImageDef, type ImageEnv } from '../helpers/archives.js';
import { resolveImage, listImages } from '../../src/image/index.js';
import { setRoot, rootDir } from '../../src/state/paths.js';
import { run, CLI } from '../helpers/sandbox.js';

const isRoot = process.getuid?.() === 0;
const baseLayer: Entry[] = [{ name: 'bin/', type: 'dir' }, { name: 'bin/a', data: 'a', mode: 0o755 }];
const appLayer: Entry[] = [{ name: 'app/', type: 'dir' }, { name: 'app/main', data: 'main' }];
const app: ImageDef = {
  tags: ['tsdtest/app:v1'],
  layers: [baseLayer, appLayer],
  config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['main'], Entrypoint: ['/bin/a'], WorkingDir: '/app', User: '1000', ExposedPorts: { '80/tcp': {} }, Labels: { x: 'y' } },
};
const base: ImageDef = { tags: ['tsdtest/base:latest'], layers: [baseLayer] };
const idOf = (d: ImageDef): string => `sha256:${buildImage(d).configHex}`;
const hexes = (d: ImageDef): string[] => buildImage(d).diffIds.map((x) => x.slice(7));

describe.skipIf(!isRoot)('image management', () => {
  let env: ImageEnv;
  beforeEach(async () => {
    env = imageEnv();
    const r = await env.tsd(['load', '-i', env.write('imgs.tar', dockerSaveClassic([app, base]))]);
    expect(r.code).toBe(0);
  });
  afterEach(() => env.close());

  function container(id: string, imageId: string): string {
    const dir = join(env.root, 'containers', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ id, name: `ctr-${id.slice(0, 4)}`, image: { id: imageId, ref: 'tsdtest/app:v1' } }));
    return dir;
  }

  it('lists images as a table, ids and JSON lines', async () => {
    const t = await env.tsd(['images']);
    const lines = t.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['tsdtest/app', 'v1', idOf(app).slice(7, 19)],
      ['tsdtest/base', 'latest', idOf(base).slice(7, 19)],
    ].sort((a, b) => (lines.findIndex((l) => l.startsWith(a[0]!)) - lines.findIndex((l) => l.startsWith(b[0]!)))));
    const q = await env.tsd(['images', '-q']);
    expect(q.stdout.trimEnd().split('\n').sort()).toEqual([idOf(app).slice(7, 19), idOf(base).slice(7, 19)].sort());
    const j = await env.tsd(['images', '--format', 'json']);
    const objs = j.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(objs.find((o) => o.Repository === 'tsdtest/app')).toMatchObject({ Tag: 'v1', ID: idOf(app).slice(7, 19), Size: '5B' });
    const f = await env.tsd(['images', 'tsdtest/base']);
    expect(f.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('tags an image and untags without deleting while other tags remain', async () => {
    expect((await env.tsd(['tag', 'tsdtest/app:v1', 'other'])).code).toBe(0);
    expect(env.store().repos['other:latest']).toBe(idOf(app));
    const byId = await env.tsd(['rmi', idOf(app).slice(7, 19)]);
    expect(byId.code).toBe(1); // Docker: a daemon-side conflict, exit 1
    expect(byId.stderr).toMatch(/must be forced.*multiple repositories/);
    const r = await env.tsd(['rmi', 'other']);
    expect(r).toMatchObject({ code: 0, stdout: 'Untagged: other:latest\n' });
    expect(env.store().records).toContain(`${idOf(app).slice(7)}.json`);
    const missing = await env.tsd(['tag', 'nope', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("tsdocker: Unable to find image 'nope:latest' locally\nhint: pull it (tsdocker pull NAME) or load it (tsdocker load -i FILE)\n");
  });

  it('deletes the image and only the layers no other image uses', async () => {
    const [shared, own] = hexes(app);
    const r = await env.tsd(['rmi', 'tsdtest/app:v1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Untagged: tsdtest/app:v1\nDeleted: ${idOf(app)}\nDeleted: sha256:${own}\n`);
    expect(env.store().layers).toEqual([shared]);
    const r2 = await env.tsd(['rmi', idOf(base)]);
    expect(r2.stdout).toBe(`Untagged: tsdtest/base:latest\nDeleted: ${idOf(base)}\nDeleted: sha256:${shared}\n`);
    expect(env.store()).toEqual({ tmp: [], layers: [], records: [], repos: {} });
  });

  it('refuses to remove an image a container uses unless forced; forced keeps the layers while it is used', async () => {
    const dir = container('abc123def456abc123def456', idOf(app));
    const r = await env.tsd(['rmi', 'tsdtest/app:v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tsdocker: conflict: unable to remove image tsdtest\/app:v1 - container abc123def456 is using it\nhint: /);
    expect(env.store().repos['tsdtest/app:v1']).toBe(idOf(app));
    const f = await env.tsd(['rmi', '-f', 'tsdtest/app:v1']);
    expect(f).toMatchObject({ code: 0, stdout: 'Untagged: tsdtest/app:v1\n' });
    expect(env.store().layers).toHaveLength(2);
    const listed = await env.tsd(['images']);
    expect(listed.stdout).toMatch(new RegExp(`<none>\\s+<none>\\s+${idOf(app).slice(7, 19)}`));
    rmSync(dir, { recursive: true });
    const d = await env.tsd(['rmi', idOf(app).slice(0, 16)]);
    expect(d.stdout).toBe(`Deleted: ${idOf(app)}\nDeleted: sha256:${hexes(app)[1]}\n`);
  });

  it('imports a flat rootfs tarball, gzip or not, from a file or stdin', async () => {
    const rootfs = gzipSync(tar([{ name: './', type: 'dir' }, { name: './etc/', type: 'dir' }, { name: './etc/hostname', data: 'imp\n' }]));
    const file = env.write('rootfs.tgz', rootfs);
    const r = await env.tsd(['import', file, 'imported:1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const id = r.stdout.trim();
    expect(env.store().repos['imported:1']).toBe(id);
    const s = await env.tsdStdin(['import', '-', 'fromstdin'], file);
    expect(s.code).toBe(0);
    expect(env.store().repos['fromstdin:latest']).toMatch(/^sha256:/);
    setRoot(env.root);
    const img = await resolveImage('imported:1');
    expect(img.layerDirs).toHaveLength(1);
    expect(readFileSync(join(img.layerDirs[0]!, 'etc/hostname'), 'utf8')).toBe('imp\n');
    const bad = await env.tsd(['import', env.write('bad.tgz', rootfs.subarray(0, 40)), 'bad']);
    expect({ code: bad.code, stderr: bad.stderr }).toMatchObject({ code: 1, stderr: expect.stringMatching(/^tsdocker: .*bad\.tgz: .*\nhint: /) });
    expect(env.store().tmp).toEqual([]);
  });

  it.each(['gnu', 'posix', 'ustar'])('imports what GNU tar writes in %s format', async (format) => {
    const tree = join(env.base, `tree-${format}`);
    const long = 'd'.repeat(60) + '/' + 'e'.repeat(60) + '/' + 'f'.repeat(30);
    mkdirSync(join(tree, long), { recursive: true });
    writeFileSync(join(tree, long, 'file'), 'deep');
    writeFileSync(join(tree, 'suid'), 'x');
    await run(['chmod', '4755', join(tree, 'suid')]);
    await run(['ln', join(tree, 'suid'), join(tree, 'hard')]);
    await run(['ln', '-s', 'suid', join(tree, 'sym')]);
    const file = join(env.base, `${format}.tar`);
    const t = await run(['tar', '-C', tree, `--format=${format}`, '--owner=0', '--group=0', '-cf', file, '.']);
    expect(t.code).toBe(0);
    const r = await env.tsd(['import', file, `gnutar:${format}`]);
    expect(r.code).toBe(0);
    setRoot(env.root);
    const dir = (await resolveImage(`gnutar:${format}`)).layerDirs[0]!;
    expect(readFileSync(join(dir, long, 'file'), 'utf8')).toBe('deep');
    const suid = lstatSync(join(dir, 'suid'));
    expect([suid.mode & 0o7777, suid.nlink]).toEqual([0o4755, 2]);
    expect(readlinkSync(join(dir, 'sym'))).toBe('suid');
  });

  it('resolves images for the runtime by name, id and prefix', async () => {
    const saved = rootDir();
    setRoot(env.root);
    try {
      const img = await resolveImage('tsdtest/app:v1');
      expect(img).toMatchObject({ id: idOf(app), repoTags: ['tsdtest/app:v1'], created: '2025-01-02T03:04:05Z', size: 5 });
      expect(img.config).toEqual(app.config);
      expect(img.layerDirs).toEqual(hexes(app).map((h) => join(env.root, 'images', 'layers', h, 'diff')));
      for (const d of img.layerDirs) expect(existsSync(d)).toBe(true);
      expect((await resolveImage(idOf(app))).id).toBe(idOf(app));
      expect((await resolveImage(idOf(app).slice(7, 19))).id).toBe(idOf(app));
      expect((await resolveImage('tsdtest/base')).repoTags).toEqual(['tsdtest/base:latest']);
      await expect(resolveImage('busybox')).rejects.toMatchObject({
        code: 'IMAGE_NOT_FOUND',
        message: "Unable to find image 'busybox:latest' locally",
        hint: 'pull it (tsdocker pull NAME) or load it (tsdocker load -i FILE)',
      });
      expect((await listImages()).map((i) => i.id).sort()).toEqual([idOf(app), idOf(base)].sort());
    } finally {
      setRoot(saved);
    }
  });

  it('lists a layer repeated in an image once, at its highest position', async () => {
    const empty: Entry[] = [];
    const d: ImageDef = { tags: ['repeat:1'], layers: [empty, baseLayer, empty] };
    expect((await env.tsd(['load', '-i', env.write('rep.tar', dockerSaveClassic([d]))])).code).toBe(0);
    const [e, b] = buildImage(d).diffIds.map((x) => join(env.root, 'images', 'layers', x.slice(7), 'diff'));
    setRoot(env.root);
    expect((await resolveImage('repeat:1')).layerDirs).toEqual([b, e]);
  });

  it('refuses to run as a non-root user', async () => {
    const r = await run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '--root', env.root, 'images']);
    expect(r.code).toBe(1); // Docker: cannot reach the daemon, exit 1
    expect(r.stderr).toMatch(/must run as root/);
  });
});
