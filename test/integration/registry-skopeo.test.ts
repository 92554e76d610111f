/**
 * Images another tool pushed: skopeo copies OCI layouts and docker-save archives made here
 * into distribution 2.8, as Docker schema 2 or OCI manifests, with gzip or zstd layers,
 * and a multi-platform OCI index; tsdocker pulls them (platform chosen from the index,
 * `--platform`, `-a`, by digest) and runs them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { sha256 } from '../helpers/archives.js';
import { busyboxLayer, configOf, layerOf, saveArchive, startRegistry, writeOciDir, type Registry } from '../helpers/registry.js';

const isRoot = process.getuid?.() === 0;
const R = '127.0.0.1:5000';

describe.skipIf(!isRoot)('registry: images pushed by skopeo', () => {
  let sb: Sandbox;
  let dir: string;
  let reg: Registry;
  let bb: Buffer;
  const skopeo = async (args: string[]): Promise<void> => {
    const r = await sb.sh(['skopeo', '--insecure-policy', 'copy', '--dest-tls-verify=false', ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
  };
  const manifest = async (repo: string, ref: string): Promise<{ mediaType: string; layers?: { mediaType: string }[]; manifests?: unknown[] }> => {
    const accept = 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';
    const r = await sb.sh(['busybox', 'wget', '-q', '-O', '-', '--header', `Accept: ${accept}`, `http://${R}/v2/${repo}/manifests/${ref}`]);
    return JSON.parse(r.stdout);
  };
  const idOf = async (ref: string): Promise<string> => (await tsdOk(sb, ['images', '-q', '--no-trunc', ref])).trim();
  const cat = (ref: string): Promise<string> => tsdOk(sb, ['run', '--rm', '--network', 'none', ref, 'cat', '/data/a']);

  beforeAll(async () => {
    sb = await createSandbox('tsd-regskopeo');
    dir = mkdtempSync(join(tmpdir(), 'tsd-regskopeo-'));
    reg = await startRegistry(sb, join(dir, 'registry'), { port: 5000 });
    bb = busyboxLayer();
  });
  afterAll(async () => {
    await reg?.stop();
    await sb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls the platform of a multi-platform OCI index, another with --platform, and refuses a missing one', async () => {
    const amd = { layers: [bb, layerOf({ 'data/a': 'amd64\n' })] };
    const arm = { layers: [layerOf({ 'data/a': 'arm64\n' })], arch: 'arm64', variant: 'v8' };
    const oci = writeOciDir(join(dir, 'multi'), 'v1', [amd, arm]);
    await skopeo(['--all', `oci:${join(dir, 'multi')}:v1`, `docker://${R}/multi/app:v1`]);
    await skopeo(['--all', `oci:${join(dir, 'multi')}:v1`, `docker://${R}/multi/app:v2`]);
    expect((await manifest('multi/app', 'v1')).manifests).toHaveLength(2);

    const pull = await sb.tsd(['pull', `${R}/multi/app:v1`]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${oci.indexDigest}`);
    expect(await idOf(`${R}/multi/app:v1`)).toBe(`sha256:${sha256(configOf(amd))}`);
    expect(await cat(`${R}/multi/app:v1`)).toBe('amd64\n');

    expect((await sb.tsd(['pull', '--platform', 'linux/arm64', `${R}/multi/app:v1`])).code).toBe(0);
    expect(await idOf(`${R}/multi/app:v1`)).toBe(`sha256:${sha256(configOf(arm))}`);

    const none = await sb.tsd(['pull', '--platform', 'linux/s390x', `${R}/multi/app:v1`]);
    expect(none.code).toBe(1);
    expect(none.stderr.split('\n')[0]).toBe(`tsdocker: no matching manifest for linux/s390x in the manifest list entries of ${R}/multi/app:v1 (it has linux/amd64, linux/arm64/v8)`);

    // by the digest of one platform's manifest, and every tag with -a
    const byDigest = await sb.tsd(['pull', `${R}/multi/app@${oci.manifests[0]}`]);
    expect(byDigest.code).toBe(0);
    expect(await cat(`${R}/multi/app@${oci.manifests[0]}`)).toBe('amd64\n');
    const all = await sb.tsd(['pull', '-a', `${R}/multi/app`]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('v1: Pulling from multi/app');
    expect(all.stdout).toContain('v2: Pulling from multi/app');
    expect(await cat(`${R}/multi/app:v2`)).toBe('amd64\n');
    expect((await sb.tsd(['pull', '-a', `${R}/multi/app:v1`])).stderr).toContain("tag can't be used with --all-tags/-a");
  });

  it.each([
    ['Docker schema 2, from docker-archive', 'v2s2', 'docker-archive', 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
    ['OCI, from an OCI layout', 'oci', 'oci', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['OCI with zstd layers', 'oci', 'zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
  ])('pulls and runs a several-layer image pushed as %s', async (_name, format, source, layerType) => {
    const img = { layers: [bb, layerOf({ 'data/a': `${source}\n` }), layerOf({ 'data/b': `more ${source}` }), layerOf({ 'data/c': `last ${source}` })] };
    let src: string;
    if (source === 'docker-archive') {
      const file = join(dir, 'img.tar');
      writeFileSync(file, saveArchive('src/img:1', img));
      src = `docker-archive:${file}`;
    } else {
      writeOciDir(join(dir, source), 'v1', [img]);
      src = `oci:${join(dir, source)}:v1`;
    }
    const repo = `fmt/${source}`;
    await skopeo([...(source === 'zstd' ? ['--dest-compress-format', 'zstd'] : []), '--format', format, src, `docker://${R}/${repo}:1`]);
    const m = await manifest(repo, '1');
    // the busybox layer may be one skopeo found in the registry already (gzip): mixed is fine
    expect(m.layers!.slice(1).map((l) => l.mediaType)).toEqual(Array(3).fill(layerType));
    const pull = await sb.tsd(['pull', `${R}/${repo}:1`]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(await idOf(`${R}/${repo}:1`)).toBe(`sha256:${sha256(configOf(img))}`);
    expect(await cat(`${R}/${repo}:1`)).toBe(`${source}\n`);
    // and tsdocker pushes it on (its kept layer archives, as they came): Docker schema 2
    // as Docker pushes, OCI only when a zstd layer needs it
    await tsdOk(sb, ['tag', `${R}/${repo}:1`, `${R}/again/${source}:1`]);
    const push = await sb.tsd(['push', `${R}/again/${source}:1`]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const family = (t: string): string => (source === 'zstd' ? t.replace('application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip') : t.replace('application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
    const again = await manifest(`again/${source}`, '1');
    expect(again.mediaType).toBe(source === 'zstd' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json');
    expect(again.layers!.map((l) => l.mediaType)).toEqual(m.layers!.map((l) => family(l.mediaType)));
    await tsdOk(sb, ['rmi', `${R}/again/${source}:1`, `${R}/${repo}:1`]);
    expect(await cat(`${R}/again/${source}:1`)).toBe(`${source}\n`); // pulled back by run
  });
});
