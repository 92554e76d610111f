/**
 * Hostile archives. Each case proves that nothing was written outside the store (the
 * "outside" dir stays empty, no stray names appear, host files keep their link count and
 * mode) and that a refused load leaves nothing half-stored (no tmp, layer, record or tag).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildImage, dockerSaveClassic, imageEnv, ociLayout, type Entry, type ImageEnv } from '../helpers/archives.js';

const isRoot = process.getuid?.() === 0;
const good: Entry[] = [{ name: 'ok/', type: 'dir' }, { name: 'ok/file', data: 'fine' }];

describe.skipIf(!isRoot)('hostile image archives', () => {
  let env: ImageEnv;
  beforeEach(() => {
    env = imageEnv();
  });
  afterEach(() => env.close());

  const archive = (layer: Entry[]): Buffer => dockerSaveClassic([{ tags: ['evil:1'], layers: [good, layer] }]);

  async function refused(data: Buffer, message: RegExp, extraEnv?: NodeJS.ProcessEnv): Promise<void> {
    const r = await env.tsd(['load', '-i', env.write('evil.tar', data)], extraEnv);
    expect(r.code).toBe(1); // Docker: load errors come from the daemon, exit 1
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^tsdocker: /);
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1).every((l) => l.startsWith('hint: '))).toBe(true);
    expect(r.stdout).toBe('');
    // nothing half-stored: not even the harmless first layer
    expect(env.store()).toEqual({ tmp: [], layers: [], records: [], repos: {} });
    expect(readdirSync(env.outside)).toEqual([]);
  }

  it('refuses ../ names that leave the layer', async () => {
    const deep = '../'.repeat(30) + env.base.slice(1) + '/escaped';
    await refused(archive([{ name: '../evil', data: 'x' }]), /refusing entry '..\/evil'.*leaves the layer root/);
    await refused(archive([{ name: 'a/../../evil', data: 'x' }]), /leaves the layer root/);
    await refused(archive([{ name: deep, data: 'x' }]), /leaves the layer root/);
    expect(env.walk().filter((p) => /^(evil|escaped)$/.test(p.split('/').pop()!))).toEqual([]);
  });

  it('contains absolute names inside the layer', async () => {
    const name = `tsd-abs-${randomBytes(6).toString('hex')}`;
    const r = await env.tsd(['load', '-i', env.write('abs.tar', archive([{ name: `/${name}`, data: 'contained' }]))]);
    expect(r.code).toBe(0);
    expect(existsSync(`/${name}`)).toBe(false);
    const layer = env.layerDir(buildImage({ layers: [good, [{ name: `/${name}`, data: 'contained' }]] }).diffIds[1]!);
    expect(statSync(join(layer, name)).size).toBe(9);
  });

  it('never writes through a symlink the archive created', async () => {
    await refused(archive([{ name: 'x', type: 'symlink', linkname: env.outside }, { name: 'x/file', data: 'pwned' }]), /'x' is a symlink/);
    await refused(archive([{ name: 'x', type: 'symlink', linkname: '../../../../../../../..' + env.outside }, { name: 'x/y/file', data: 'pwned' }]), /symlink/);
  });

  it('never writes through a directory replaced by a symlink', async () => {
    await refused(
      archive([{ name: 'd/', type: 'dir' }, { name: 'd/a', data: '1' }, { name: 'd', type: 'symlink', linkname: env.outside }, { name: 'd/f', data: 'pwned' }]),
      /'d' is a symlink/,
    );
  });

  it('refuses hard links to host files or through symlinks', async () => {
    const before = lstatSync('/etc/passwd');
    await refused(archive([{ name: 'pw', type: 'hardlink', linkname: '/etc/passwd' }]), /not in this layer/);
    await refused(archive([{ name: 'pw', type: 'hardlink', linkname: '../../../../../../../../etc/passwd' }]), /outside the layer/);
    await refused(archive([{ name: 's', type: 'symlink', linkname: '/etc' }, { name: 'pw', type: 'hardlink', linkname: 's/passwd' }]), /'s' is a symlink/);
    const after = lstatSync('/etc/passwd');
    expect([after.nlink, after.mode, after.size, after.mtimeMs]).toEqual([before.nlink, before.mode, before.size, before.mtimeMs]);
  });

  it('chmod and chown never follow a symlink (CVE-2021-32760)', async () => {
    const target = join(env.outside, 'target');
    writeFileSync(target, 'host file');
    chmodSync(target, 0o600);
    const layer: Entry[] = [
      { name: 't', type: 'symlink', linkname: target },
      { name: 't', type: 'dir', mode: 0o4777, uid: 99 },
      { name: 'u', type: 'symlink', linkname: target },
      { name: 'u', data: 'new', mode: 0o6777, uid: 99 },
    ];
    const r = await env.tsd(['load', '-i', env.write('chmod.tar', archive(layer))]);
    expect(r.code).toBe(0);
    const st = lstatSync(target);
    expect([st.mode & 0o7777, st.uid, st.size]).toEqual([0o600, 0, 9]);
    const dir = env.layerDir(buildImage({ layers: [good, layer] }).diffIds[1]!);
    expect(lstatSync(join(dir, 't')).isDirectory()).toBe(true);
    expect(lstatSync(join(dir, 'u')).mode & 0o7777).toBe(0o6777);
    expect(readdirSync(env.outside)).toEqual(['target']);
  });

  it('skips device nodes with a warning', async () => {
    const layer: Entry[] = [
      { name: 'dev/', type: 'dir' },
      { name: 'dev/mem', type: 'char', devmajor: 1, devminor: 1 },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    ];
    const r = await env.tsd(['load', '-i', env.write('dev.tar', archive(layer))]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/device node 'dev\/mem'.*skipped/);
    const dir = env.layerDir(buildImage({ layers: [good, layer] }).diffIds[1]!);
    expect(readdirSync(join(dir, 'dev'))).toEqual([]);
  });

  it('refuses a 4000-character path (ENAMETOOLONG) with one line, as a file, a directory or a link target', async () => {
    const long = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(199, 'x')).join('/'); // 3999 chars, components of 199
    expect(long).toHaveLength(3999);
    await refused(archive([{ name: long, data: 'deep' }]), /refusing entry '0x+\/[^']*': path longer than 4095 bytes once stored$/);
    await refused(archive([{ name: `${long}/`, type: 'dir' }]), /path longer than 4095 bytes once stored/);
    await refused(archive([{ name: 'f', data: 'x' }, { name: 'h', type: 'hardlink', linkname: long }]), /hard link target .* longer than 4095 bytes once stored/);
  });

  it('refuses an entry below a regular file', async () => {
    await refused(archive([{ name: 'f', data: 'x' }, { name: 'f/x', data: 'y' }]), /'f' is not a directory/);
  });

  it('leaves nothing half-stored when a truncated archive is loaded', async () => {
    const full = archive([{ name: 'big', data: Buffer.alloc(100_000, 1) }]);
    await refused(full.subarray(0, Math.floor(full.length * 0.8)), /truncated/);
    await refused(full.subarray(0, 1000), /truncated/);
    // a gzip layer cut short inside a complete outer archive
    const layerTar = buildImage({ layers: [[{ name: 'big', data: randomBytes(50_000) }]] }).layerTars[0]!;
    const gz = gzipSync(layerTar);
    const cfg = Buffer.from(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
    const { tar, sha256 } = await import('../helpers/archives.js');
    const outer = tar([
      { name: 'l/layer.tar', data: gz.subarray(0, gz.length - 100) },
      { name: `${sha256(cfg)}.json`, data: cfg },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha256(cfg)}.json`, RepoTags: ['t:1'], Layers: ['l/layer.tar'] }]) },
    ]);
    await refused(outer, /corrupt compressed data|truncated/);
  });

  it('keeps earlier images intact when a later load fails', async () => {
    const ok = await env.tsd(['load', '-i', env.write('ok.tar', dockerSaveClassic([{ tags: ['fine:1'], layers: [good] }]))]);
    expect(ok.code).toBe(0);
    const before = env.store();
    const r = await env.tsd(['load', '-i', env.write('evil.tar', archive([{ name: '../evil', data: 'x' }]))]);
    expect(r.code).toBe(1);
    expect(env.store()).toEqual(before);
  });

  it('refuses a layer whose content does not match the diff-id in the config', async () => {
    const d = { tags: ['t:1'], layers: [good] };
    const img = buildImage(d);
    const bad = dockerSaveClassic([d]);
    const at = bad.indexOf(Buffer.from('fine'), bad.indexOf(img.layerTars[0]!.subarray(0, 20)));
    bad.write('FINE', at); // same size, so the tar stays well-formed; only the hash changes
    await refused(bad, /content is sha256:[0-9a-f]{64} but the image config says sha256:/);
  });

  it('refuses an OCI blob that does not match its digest', async () => {
    await refused(ociLayout([{ tags: ['t:1'], layers: [good] }], { corruptBlob: true }), /does not match its digest/);
  });

  it('refuses a renamed config in a classic archive (id is the config digest)', async () => {
    const d = { tags: ['t:1'], layers: [good] };
    const img = buildImage(d);
    const data = dockerSaveClassic([d]);
    // change one byte in the config: its file name no longer matches its content
    const at = data.indexOf(Buffer.from('"os":"linux"'));
    data.write('"os":"LINUX"', at);
    await refused(data, new RegExp(`config ${img.configHex}\\.json does not match its digest`));
  });

  it('stops a decompression bomb at the size cap', async () => {
    const bomb = gzipSync(tarOf([{ name: 'zeros', data: Buffer.alloc(8 << 20) }]));
    expect(bomb.length).toBeLessThan(100_000);
    const cfg = Buffer.from(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
    const { tar, sha256 } = await import('../helpers/archives.js');
    const outer = tar([
      { name: 'l/layer.tar', data: bomb },
      { name: `${sha256(cfg)}.json`, data: cfg },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha256(cfg)}.json`, RepoTags: ['t:1'], Layers: ['l/layer.tar'] }]) },
    ]);
    await refused(outer, /more than 4000000 bytes once decompressed/, { TSDOCKER_IMAGE_MAX_BYTES: '4000000' });
  });

  it('refuses a gzip layer that expands past the ratio cap (128 MiB of zeros), and loads it when the cap is raised', async () => {
    const bomb = dockerSaveClassic([{ tags: ['bomb:1'], layers: [[{ name: 'zeros', data: Buffer.alloc(128 << 20) }]], gzip: true }]);
    expect(bomb.length).toBeLessThan(1 << 20);
    await refused(bomb, /layer 1 of bomb:1: [\d.]+ MiB of gzip expanded to more than [\d.]+ MiB, over 100 times$/);
    const r = await env.tsd(['load', '-i', env.write('bomb.tar', bomb)], { TSDOCKER_IMAGE_MAX_RATIO: '5000' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Loaded image: bomb:1\n');
  });

  it('refuses what is not an image archive, with one line', async () => {
    await refused(Buffer.from('hello, not a tar at all, just text that is long enough'), /malformed|truncated/);
    const { tar } = await import('../helpers/archives.js');
    await refused(tar([{ name: 'readme', data: 'x' }]), /not an image archive/);
    await refused(Buffer.alloc(0), /empty/);
    const missing = await env.tsd(['load', '-i', join(env.base, 'nope.tar')]);
    expect(missing.stderr).toMatch(/^tsdocker: .*nope\.tar: no such file\nhint: /);
    expect(missing.code).toBe(1);
  });
});

function tarOf(entries: Entry[]): Buffer {
  return buildImage({ layers: [entries] }).layerTars[0]!;
}
