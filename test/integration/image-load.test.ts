/**
 * `load` of every archive format into a temp --root, checked on disk: layers stored once by
 * diff-id, whiteouts in overlayfs form (proved by mounting them), metadata kept.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lstatSync, readFileSync, readlinkSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildImage, dockerSaveClassic, dockerSaveOci, imageEnv, ociLayout, type Entry, type ImageDef, type ImageEnv } from '../helpers/archives.js';
import { CLI, PROJECT, run } from '../helpers/sandbox.js';

const isRoot = process.getuid?.() === 0;

const base: Entry[] = [
  { name: 'bin/', type: 'dir' },
  { name: 'bin/tool', data: '#!/bin/sh\necho hi\n', mode: 0o4755, uid: 1234, gid: 5678, mtime: 1_500_000_000 },
  { name: 'bin/tool-link', type: 'hardlink', linkname: 'bin/tool' },
  { name: 'bin/sym', type: 'symlink', linkname: '/bin/tool', uid: 7, gid: 8 },
  { name: 'etc/', type: 'dir', mode: 0o750, uid: 3, gid: 4, mtime: 1_400_000_000 },
  { name: 'etc/conf', data: 'base' },
  { name: 'a/', type: 'dir' },
  { name: 'a/keep', data: 'keep' },
  { name: 'a/gone', data: 'gone' },
  { name: 'b/', type: 'dir' },
  { name: 'b/old', data: 'old' },
  { name: 'tmp/', type: 'dir', mode: 0o1777 },
  { name: 'pipe', type: 'fifo', mode: 0o640 },
];
const top: Entry[] = [
  { name: 'a/.wh.gone' },
  { name: 'b/.wh..wh..opq' },
  { name: 'b/new', data: 'new' },
  { name: 'etc/conf', data: 'top' },
];
const def = (extra: Partial<ImageDef> = {}): ImageDef => ({ tags: ['tsdtest/app:v1'], layers: [base, top], ...extra });

function xattr(path: string, name: string): string {
  return execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())', path, name], { encoding: 'utf8' }).trim();
}

describe.skipIf(!isRoot)('image load', () => {
  let env: ImageEnv;
  beforeEach(() => {
    env = imageEnv();
  });
  afterEach(() => env.close());

  async function loadOk(archive: Buffer, expectOut: string): Promise<void> {
    const r = await env.tsd(['load', '-i', env.write('img.tar', archive)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expectOut);
  }

  function checkLayers(d: ImageDef): void {
    const img = buildImage(d);
    const [l1, l2] = img.diffIds.map((id) => env.layerDir(id));
    // layer 1: metadata kept
    const tool = lstatSync(join(l1!, 'bin/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect([tool.uid, tool.gid, tool.mtimeMs / 1000, tool.nlink]).toEqual([1234, 5678, 1_500_000_000, 2]);
    expect(lstatSync(join(l1!, 'bin/tool-link')).ino).toBe(tool.ino);
    const sym = lstatSync(join(l1!, 'bin/sym'));
    expect(sym.isSymbolicLink()).toBe(true);
    expect([sym.uid, sym.gid]).toEqual([7, 8]);
    expect(readlinkSync(join(l1!, 'bin/sym'))).toBe('/bin/tool');
    const etc = lstatSync(join(l1!, 'etc'));
    expect([etc.mode & 0o7777, etc.uid, etc.gid, etc.mtimeMs / 1000]).toEqual([0o750, 3, 4, 1_400_000_000]);
    expect(lstatSync(join(l1!, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(l1!, 'pipe')).isFIFO()).toBe(true);
    // layer 2: whiteouts in overlayfs form
    const wh = lstatSync(join(l2!, 'a/gone'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect([wh.rdev, wh.uid, wh.gid]).toEqual([0, 0, 0]);
    expect(existsSync(join(l2!, 'a/.wh.gone'))).toBe(false);
    expect(xattr(join(l2!, 'b'), 'trusted.overlay.opaque')).toBe('y');
    expect(existsSync(join(l2!, 'b/.wh..wh..opq'))).toBe(false);
    expect(readFileSync(join(l2!, 'etc/conf'), 'utf8')).toBe('top');
    expect(env.store().tmp).toEqual([]);
  }

  it('loads a classic docker save archive', async () => {
    await loadOk(dockerSaveClassic([def()]), 'Loaded image: tsdtest/app:v1\n');
    checkLayers(def());
    const s = env.store();
    expect(s.layers).toHaveLength(2);
    expect(s.records).toEqual([`${buildImage(def()).configHex}.json`]);
    expect(s.repos).toEqual({ 'tsdtest/app:v1': `sha256:${buildImage(def()).configHex}` });
  });

  it('loads a Docker 25+ docker save archive (OCI layout inside) with gzip layers', async () => {
    const d = def({ gzip: true });
    await loadOk(dockerSaveOci([d]), 'Loaded image: tsdtest/app:v1\n');
    checkLayers(d);
  });

  it('loads an OCI image layout with a nested index, choosing this platform', async () => {
    const d = def({ gzip: true, tags: ['nested:2'] /* annotated as docker.io/library/nested:2 */ });
    await loadOk(ociLayout([d], { nested: true }), 'Loaded image: nested:2\n');
    checkLayers(d);
  });

  it('loads an untagged OCI layout and prints its id', async () => {
    const d = def({ tags: [] });
    await loadOk(ociLayout([d]), `Loaded image ID: sha256:${buildImage(d).configHex}\n`);
  });

  it('reads a gzip-compressed archive, and removes what a crashed load left in tmp/', async () => {
    const stale = join(env.root, 'images', 'tmp', '999999999-crashed');
    mkdirSync(join(stale, 'l-x', 'diff'), { recursive: true });
    await loadOk(gzipSync(dockerSaveClassic([def()])), 'Loaded image: tsdtest/app:v1\n');
    checkLayers(def());
    expect(existsSync(stale)).toBe(false);
  });

  it('reads the archive from stdin', async () => {
    const file = env.write('in.tar', dockerSaveClassic([def()]));
    const r = await env.tsdStdin(['load'], file);
    expect(r).toMatchObject({ code: 0, stdout: 'Loaded image: tsdtest/app:v1\n' });
    checkLayers(def());
  });

  it('draws a Loading layer bar per layer only on a terminal; -q and a pipe print only the Loaded image lines', async () => {
    const file = env.write('img.tar', dockerSaveClassic([def()]));
    const ids = buildImage(def()).diffIds.map((d) => d.slice('sha256:'.length, 'sha256:'.length + 12));
    const onPty = async (root: string, ...flags: string[]): Promise<string> => {
      const r = await run(['script', '-qec', `${process.execPath} ${CLI} --root ${root} load ${flags.join(' ')} -i ${file}`, '/dev/null']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.replace(/\r/g, '');
    };
    const tty = await onPty(join(env.base, 'root-tty'));
    for (const id of ids) expect(tty).toMatch(new RegExp(`${id}: Loading layer \\[={50}\\] +[0-9.]+k?B/[0-9.]+k?B`));
    expect(tty.endsWith('Loaded image: tsdtest/app:v1\n')).toBe(true);
    // -q, as Docker's: no progress, still the Loaded image lines
    expect(await onPty(join(env.base, 'root-q'), '-q')).toBe('Loaded image: tsdtest/app:v1\n');
    const piped = await env.tsd(['load', '-q', '-i', file]);
    expect(piped).toMatchObject({ code: 0, stdout: 'Loaded image: tsdtest/app:v1\n' });
    checkLayers(def());
  });

  it('stores a layer shared by two images once, and a second load adds nothing', async () => {
    const other: ImageDef = { tags: ['tsdtest/other:latest'], layers: [base] };
    await loadOk(dockerSaveClassic([def(), other]), 'Loaded image: tsdtest/app:v1\nLoaded image: tsdtest/other:latest\n');
    expect(env.store().layers).toHaveLength(2);
    await loadOk(dockerSaveClassic([other]), 'Loaded image: tsdtest/other:latest\n');
    expect(env.store().layers).toHaveLength(2);
    expect(env.store().records).toHaveLength(2);
  });

  it('follows the layer.tar symlinks that classic docker save writes for repeated layers', async () => {
    const img = buildImage({ layers: [base] });
    const { tar } = await import('../helpers/archives.js');
    const archive = tar([
      { name: 'aaa/', type: 'dir' },
      { name: 'aaa/layer.tar', data: img.layerTars[0]! },
      { name: 'bbb/', type: 'dir' },
      { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
      { name: `${img.configHex}.json`, data: img.config },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${img.configHex}.json`, RepoTags: ['linked:1'], Layers: ['bbb/layer.tar'] }]) },
    ]);
    await loadOk(archive, 'Loaded image: linked:1\n');
    expect(env.store().layers).toEqual([img.diffIds[0]!.slice(7)]);
  });

  it('survives two concurrent loads of the same archive', async () => {
    const file = env.write('img.tar', dockerSaveClassic([def()]));
    const [a, b] = await Promise.all([env.tsd(['load', '-i', file]), env.tsd(['load', '-i', file])]);
    expect([a.code, b.code, a.stdout, b.stdout]).toEqual([0, 0, 'Loaded image: tsdtest/app:v1\n', 'Loaded image: tsdtest/app:v1\n']);
    checkLayers(def());
    expect(env.store().layers).toHaveLength(2);
    expect(env.store().records).toHaveLength(1);
  });

  it('produces lowerdirs that overlayfs merges with the whiteouts honoured', async () => {
    await loadOk(dockerSaveClassic([def()]), 'Loaded image: tsdtest/app:v1\n');
    const [l1, l2] = buildImage(def()).diffIds.map((id) => env.layerDir(id));
    const mnt = join(env.base, 'mnt');
    mkdirSync(mnt);
    const script = 'mount -t overlay overlay -o "lowerdir=$1:$2" "$3" && ls -A "$3/a" "$3/b" && cat "$3/etc/conf"';
    const r = await run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', l2!, l1!, mnt]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${mnt}/a:\nkeep\n\n${mnt}/b:\nnew\ntop`);
  });

  it('loads the busybox image built by images/build-busybox.mjs', async () => {
    const out = join(env.base, 'busybox.tar');
    const b = await run([process.execPath, join(PROJECT, 'images', 'build-busybox.mjs'), out]);
    expect(b.code).toBe(0);
    const again = join(env.base, 'busybox2.tar');
    await run([process.execPath, join(PROJECT, 'images', 'build-busybox.mjs'), again]);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true); // deterministic
    const started = Date.now();
    const r = await env.tsd(['load', '-i', out]);
    const ms = Date.now() - started;
    expect(r).toMatchObject({ code: 0, stdout: 'Loaded image: busybox:latest\n' });
    expect(ms).toBeLessThan(5000);
    const layer = join(env.root, 'images', 'layers', env.store().layers[0]!, 'diff');
    expect(readlinkSync(join(layer, 'bin/sh'))).toBe('/bin/busybox');
    expect(lstatSync(join(layer, 'bin/busybox')).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(layer, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(readFileSync(join(layer, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    expect(readFileSync(join(layer, 'etc/group'), 'utf8')).toMatch(/^root:x:0:/);
    const sh = await run([join(layer, 'bin/busybox'), 'sh', '-c', 'echo ok']);
    expect(sh.stdout).toBe('ok\n');
  });
});
