/**
 * The one image every runtime uses: images/busybox.tar (a `docker save` archive built by
 * images/). Until it exists, `--dev-image` builds an equivalent one from the host's static
 * busybox so the bench can be developed; the final figures always use images/busybox.tar.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './log.js';
import { must } from './proc.js';

export interface ImageArchive {
  path: string;
  ref: string;
  /** true when built by the bench from /bin/busybox, not images/busybox.tar */
  dev: boolean;
}

export async function findImage(repo: string, tmp: string, allowDev: boolean): Promise<ImageArchive> {
  const path = join(repo, 'images', 'busybox.tar');
  if (existsSync(path)) return { path, ref: 'busybox', dev: false };
  if (!allowDev) throw new Error(`${path} is missing: build it with the images/ scripts, or pass --dev-image`);
  log(`${path} missing: building a development archive from /bin/busybox (--dev-image)`);
  return { path: await buildDevImage(tmp), ref: 'busybox', dev: true };
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A docker-save archive (manifest.json + config + layer.tar) holding static busybox. */
async function buildDevImage(tmp: string): Promise<string> {
  const root = join(tmp, 'dev-rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var/www']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  const applets = (await must(['/bin/busybox', '--list'])).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  const out = join(tmp, 'dev-archive');
  mkdirSync(out, { recursive: true });
  const layer = join(out, 'layer.tar');
  await must(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', layer, '.']);
  const diffId = sha256(readFileSync(layer));
  mkdirSync(join(out, diffId));
  await must(['mv', layer, join(out, diffId, 'layer.tar')]);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  });
  const configName = `${sha256(config)}.json`;
  writeFileSync(join(out, configName), config);
  writeFileSync(
    join(out, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: ['busybox:latest'], Layers: [`${diffId}/layer.tar`] }]),
  );
  const archive = join(tmp, 'busybox-dev.tar');
  await must(['tar', '-C', out, '-cf', archive, ...readdirSync(out)]);
  return archive;
}

/** Unpacks the archive's layers, in order, into `dest` (runc's bundle rootfs). */
export async function unpackRootfs(archive: string, work: string, dest: string): Promise<void> {
  mkdirSync(work, { recursive: true });
  mkdirSync(dest, { recursive: true });
  await must(['tar', '-C', work, '-xf', archive]);
  let layers: string[];
  if (existsSync(join(work, 'manifest.json'))) {
    const m = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    layers = m[0]?.Layers ?? [];
  } else if (existsSync(join(work, 'index.json'))) {
    const blob = (d: string): string => join(work, 'blobs', ...d.split(':'));
    const idx = JSON.parse(readFileSync(join(work, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const man = JSON.parse(readFileSync(blob(idx.manifests[0]?.digest ?? ''), 'utf8')) as { layers: { digest: string }[] };
    layers = man.layers.map((l) => blob(l.digest).slice(work.length + 1));
  } else {
    throw new Error(`${archive}: neither manifest.json nor index.json`);
  }
  for (const l of layers) await must(['tar', '--numeric-owner', '-C', dest, '-xf', join(work, l)]);
}
