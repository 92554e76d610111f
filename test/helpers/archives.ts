/**
 * Builders of image archives for tests, hostile ones included: a tar writer that writes
 * whatever it is told (`../evil`, absolute names, links anywhere, devices), and the three
 * image formats `load` accepts: docker save (classic and Docker 25+ OCI layout) and an OCI
 * image layout, with optional gzip layers and nested indexes.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, run, type RunResult } from './sandbox.js';

export interface Entry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: string | Buffer;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** written as pax SCHILY.xattr.<name> records, as GNU tar --xattrs and Docker do */
  xattrs?: Record<string, Buffer>;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function header(name: string, typeflag: string, e: Entry, size: number): Buffer {
  const b = Buffer.alloc(512);
  const oct = (v: number, len: number): string => v.toString(8).padStart(len - 1, '0') + '\0';
  b.write(name, 0, 100);
  b.write(oct(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8), 100);
  b.write(oct(e.uid ?? 0, 8), 108);
  b.write(oct(e.gid ?? 0, 8), 116);
  b.write(oct(size, 12), 124);
  b.write(oct(e.mtime ?? 1_600_000_000, 12), 136);
  b.write('        ', 148);
  b.write(typeflag, 156);
  b.write((e.linkname ?? '').slice(0, 100), 157, 100);
  b.write('ustar\u000000', 257);
  b.write(oct(e.devmajor ?? 0, 8), 329);
  b.write(oct(e.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

function padded(data: Buffer): Buffer[] {
  return data.length ? [data, Buffer.alloc((512 - (data.length % 512)) % 512)] : [];
}

function pax(records: Record<string, string | Buffer>): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    out.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(out);
}

/** A tar archive of exactly these entries (names are written as given). */
export function tar(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    if (Buffer.byteLength(e.name) > 100 || Buffer.byteLength(e.linkname ?? '') > 100 || e.xattrs) {
      const recs: Record<string, string | Buffer> = { path: e.name };
      if (e.linkname) recs.linkpath = e.linkname;
      for (const [k, v] of Object.entries(e.xattrs ?? {})) recs[`SCHILY.xattr.${k}`] = v;
      const p = pax(recs);
      parts.push(header('PaxHeader', 'x', { name: '' }, p.length), ...padded(p));
    }
    parts.push(header(e.name.slice(0, 100), TYPEFLAG[type], e, data.length), ...padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface ImageDef {
  tags?: string[];
  layers: Entry[][];
  gzip?: boolean;
  config?: Record<string, unknown>;
  architecture?: string;
}

export interface BuiltImage {
  config: Buffer;
  configHex: string;
  layerTars: Buffer[];
  /** what is stored in the archive: the tar, or its gzip */
  layerBlobs: Buffer[];
  diffIds: string[];
}

export function buildImage(def: ImageDef): BuiltImage {
  const layerTars = def.layers.map(tar);
  const layerBlobs = layerTars.map((t) => (def.gzip ? gzipSync(t) : t));
  const diffIds = layerTars.map((t) => `sha256:${sha256(t)}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: def.architecture ?? 'amd64',
      os: 'linux',
      created: '2025-01-02T03:04:05Z',
      config: def.config ?? { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  return { config, configHex: sha256(config), layerTars, layerBlobs, diffIds };
}

/** `docker save` before Docker 25: manifest.json, <hex>.json, <id>/layer.tar. */
export function dockerSaveClassic(defs: ImageDef[]): Buffer {
  const entries: Entry[] = [];
  const manifest: unknown[] = [];
  for (const def of defs) {
    const img = buildImage(def);
    const layers: string[] = [];
    img.layerBlobs.forEach((blob, i) => {
      const id = sha256(Buffer.concat([Buffer.from(img.diffIds[i]!), img.config]));
      entries.push({ name: `${id}/`, type: 'dir' }, { name: `${id}/VERSION`, data: '1.0' }, { name: `${id}/layer.tar`, data: blob });
      layers.push(`${id}/layer.tar`);
    });
    entries.push({ name: `${img.configHex}.json`, data: img.config });
    manifest.push({ Config: `${img.configHex}.json`, RepoTags: def.tags ?? null, Layers: layers });
  }
  entries.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return tar(entries);
}

function blobEntries(blobs: Map<string, Buffer>): Entry[] {
  return [
    { name: 'blobs/', type: 'dir' },
    { name: 'blobs/sha256/', type: 'dir' },
    ...[...blobs].map(([hex, data]) => ({ name: `blobs/sha256/${hex}`, data })),
  ];
}

function manifestOf(img: BuiltImage, gzip: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${img.configHex}`, size: img.config.length },
      layers: img.layerBlobs.map((b) => ({
        mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${sha256(b)}`,
        size: b.length,
      })),
    }),
  );
}

export interface OciOptions {
  /** wrap each image in a nested index that also lists a foreign-architecture image */
  nested?: boolean;
  /** also write Docker's manifest.json (what `docker save` writes since Docker 25) */
  dockerManifest?: boolean;
  /** tamper: replace the first layer blob's content but keep its name */
  corruptBlob?: boolean;
}

/** An OCI image layout archive (oci-layout, index.json, blobs/sha256/...). */
export function ociLayout(defs: ImageDef[], opts: OciOptions = {}): Buffer {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer): string => {
    const hex = sha256(b);
    blobs.set(hex, b);
    return hex;
  };
  const index: unknown[] = [];
  const dockerManifest: unknown[] = [];
  let first = true;
  for (const def of defs) {
    const img = buildImage(def);
    add(img.config);
    const layerHexes = img.layerBlobs.map(add);
    if (opts.corruptBlob && first) blobs.set(layerHexes[0]!, Buffer.concat([img.layerBlobs[0]!, Buffer.from('x')]));
    first = false;
    const man = manifestOf(img, !!def.gzip);
    const manHex = add(man);
    let top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${manHex}`, size: man.length } as Record<string, unknown>;
    if (opts.nested) {
      const nested = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            // a foreign platform whose blobs are absent: must never be read
            { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'e'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: 's390x' } },
            { ...top, platform: { os: 'linux', architecture: 'amd64' } },
            { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'f'.repeat(64)}`, size: 10, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
          ],
        }),
      );
      const nestedHex = add(nested);
      top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${nestedHex}`, size: nested.length };
    }
    for (const tag of def.tags?.length ? def.tags : [undefined]) {
      index.push(tag ? { ...top, annotations: { 'io.containerd.image.name': `docker.io/library/${tag}`, 'org.opencontainers.image.ref.name': tag.split(':')[1] ?? 'latest' } } : top);
    }
    dockerManifest.push({ Config: `blobs/sha256/${img.configHex}`, RepoTags: def.tags ?? null, Layers: layerHexes.map((h) => `blobs/sha256/${h}`) });
  }
  const entries: Entry[] = [
    { name: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }) },
    ...blobEntries(blobs),
  ];
  if (opts.dockerManifest) entries.push({ name: 'manifest.json', data: JSON.stringify(dockerManifest) });
  return tar(entries);
}

/** docker save since Docker 25: an OCI layout plus manifest.json pointing into blobs/. */
export function dockerSaveOci(defs: ImageDef[]): Buffer {
  return ociLayout(defs, { dockerManifest: true });
}

/**
 * A throwaway place for image tests: a temp dir holding a --root, an "outside" directory
 * that hostile archives aim at, and the archives themselves; `tsd` runs the CLI against that
 * root, `store()` shows what the image store holds. `close()` removes it all.
 */
export interface ImageEnv {
  base: string;
  root: string;
  outside: string;
  tsd(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** run the CLI with `file` as stdin */
  tsdStdin(args: string[], file: string): Promise<RunResult>;
  write(name: string, data: Buffer): string;
  store(): { tmp: string[]; layers: string[]; records: string[]; repos: Record<string, string> };
  layerDir(diffId: string): string;
  /** every path under base (relative), for "nothing escaped" checks */
  walk(): string[];
  close(): void;
}

function ls(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export function imageEnv(): ImageEnv {
  const base = mkdtempSync(join(tmpdir(), 'tsd-img-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  const env: ImageEnv = {
    base,
    root,
    outside,
    tsd: (args, e) => run([process.execPath, CLI, '--root', root, ...args], { env: e ? { ...process.env, ...e } : process.env }),
    tsdStdin: (args, file) =>
      new Promise((resolve, reject) => {
        const fd = openSync(file, 'r');
        const child = spawn(process.execPath, [CLI, '--root', root, ...args], { stdio: [fd, 'pipe', 'pipe'] });
        closeSync(fd);
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
      }),
    write(name, data) {
      const p = join(base, name);
      writeFileSync(p, data);
      return p;
    },
    store() {
      const images = join(root, 'images');
      let repos: Record<string, string> = {};
      try {
        repos = JSON.parse(readFileSync(join(images, 'repositories.json'), 'utf8')) as Record<string, string>;
      } catch {
        /* none yet */
      }
      return { tmp: ls(join(images, 'tmp')), layers: ls(join(images, 'layers')), records: ls(join(images, 'records')), repos };
    },
    layerDir: (diffId) => join(root, 'images', 'layers', diffId.replace(/^sha256:/, ''), 'diff'),
    walk() {
      const out: string[] = [];
      const rec = (rel: string): void => {
        for (const n of ls(join(base, rel))) {
          const r = rel ? `${rel}/${n}` : n;
          out.push(r);
          if (lstatSync(join(base, r)).isDirectory()) rec(r);
        }
      };
      rec('');
      return out;
    },
    close: () => rmSync(base, { recursive: true, force: true }),
  };
  return env;
}
