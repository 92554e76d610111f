/**
 * Registries for tests: Debian's `docker-registry` (distribution 2.8) started inside a
 * sandbox's network namespace on 127.0.0.1, with its own storage dir and config file
 * (plain HTTP, TLS, htpasswd or token auth), and small Node helpers beside it
 * (test/helpers/registry-*.mjs: a token server, a fault-injecting proxy). Each is
 * stopped by its pid; each reports readiness and events as lines on its output.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, tar, type Entry } from './archives.js';
import { BUSYBOX_TAR, PROJECT, type Sandbox } from './sandbox.js';

export interface Daemon {
  pid: number;
  /** every line it printed so far */
  lines: string[];
  /** wait for a line matching re (checks lines already printed) */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function startDaemon(sb: Sandbox, argv: string[], ready: RegExp): Promise<Daemon> {
  const child: ChildProcess = spawn(sb.enter[0]!, [...sb.enter.slice(1), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const d: Daemon = {
    pid: child.pid!,
    lines,
    waitFor(re, timeoutMs = 30_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${argv[0]}: no line matching ${re} in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.resolve(`exited ${code}`);
  });
  return d.waitFor(ready).then((l) => {
    if (l.startsWith('exited')) throw new Error(`${argv.join(' ')} ${l}:\n${lines.join('\n')}`);
    return d;
  });
}

export interface RegistryOptions {
  port: number;
  tls?: { cert: string; key: string; clientCas?: string };
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; bundle: string };
}

export interface Registry extends Daemon {
  addr: string;
  storage: string;
}

export async function startRegistry(sb: Sandbox, dir: string, o: RegistryOptions): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const storage = join(dir, 'data');
  const cfg = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${o.port}`,
    '  secret: test-secret',
  ];
  if (o.tls) {
    cfg.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
    if (o.tls.clientCas) cfg.push('    clientcas:', `      - ${o.tls.clientCas}`);
  }
  if (o.htpasswd) cfg.push('auth:', '  htpasswd:', '    realm: test-realm', `    path: ${o.htpasswd}`);
  if (o.token) {
    cfg.push('auth:', '  token:', `    realm: ${o.token.realm}`, `    service: ${o.token.service}`, `    issuer: ${o.token.issuer}`, `    rootcertbundle: ${o.token.bundle}`);
  }
  const file = join(dir, 'config.yml');
  writeFileSync(file, cfg.join('\n') + '\n');
  const d = await startDaemon(sb, ['docker-registry', 'serve', file], /listening on/);
  return { ...d, addr: `127.0.0.1:${o.port}`, storage };
}

/** The file holding a blob in the registry's filesystem storage. */
export function blobFile(r: Registry, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(r.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

export const HELPERS = join(PROJECT, 'test', 'helpers');

/** The layer tar of the default busybox image (so pushed images can run). */
export function busyboxLayer(): Buffer {
  const m = JSON.parse(execFileSync('tar', ['-xOf', BUSYBOX_TAR, 'manifest.json'], { encoding: 'utf8' })) as { Layers: string[] }[];
  return execFileSync('tar', ['-xOf', BUSYBOX_TAR, m[0]!.Layers[0]!], { maxBuffer: 64 << 20 });
}

export interface RawImage {
  layers: Buffer[];
  arch?: string;
  variant?: string;
  cmd?: string[];
}

export function configOf(img: RawImage): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: img.arch ?? 'amd64',
      ...(img.variant ? { variant: img.variant } : {}),
      os: 'linux',
      created: '2025-06-01T00:00:00Z',
      config: { Env: ['PATH=/bin'], Cmd: img.cmd ?? ['sh'] },
      rootfs: { type: 'layers', diff_ids: img.layers.map((l) => `sha256:${sha256(l)}`) },
    }),
  );
}

/** A `docker save` archive (classic layout, uncompressed layers) of one image. */
export function saveArchive(tag: string, img: RawImage): Buffer {
  const config = configOf(img);
  const cfgHex = sha256(config);
  const entries: Entry[] = [{ name: `${cfgHex}.json`, data: config }];
  const names = img.layers.map((l, i) => {
    const dir = sha256(Buffer.concat([Buffer.from(String(i)), l, config]));
    entries.push({ name: `${dir}/`, type: 'dir' }, { name: `${dir}/layer.tar`, data: l });
    return `${dir}/layer.tar`;
  });
  entries.push({ name: 'manifest.json', data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: [tag], Layers: names }]) });
  return tar(entries);
}

/**
 * An OCI image layout directory (gzip layers) for `skopeo copy oci:DIR:TAG`; with several
 * images, the tag names an index of them, one per platform.
 */
export function writeOciDir(dir: string, tag: string, imgs: RawImage[]): { indexDigest?: string; manifests: string[] } {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const add = (b: Buffer): { digest: string; size: number } => {
    const hex = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const descs = imgs.map((img) => {
    const man = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...add(configOf(img)) },
        layers: img.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...add(gzipSync(l)) })),
      }),
    );
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...add(man),
      platform: { os: 'linux', architecture: img.arch ?? 'amd64', ...(img.variant ? { variant: img.variant } : {}) },
    };
  });
  let top: Record<string, unknown> = descs[0]!;
  let indexDigest: string | undefined;
  if (imgs.length > 1) {
    const idx = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: descs }));
    const d = add(idx);
    indexDigest = d.digest;
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...d };
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { indexDigest, manifests: descs.map((d) => d.digest) };
}

/** A layer tar holding `files` (path -> content) under their directories. */
export function layerOf(files: Record<string, string | Buffer>): Buffer {
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  for (const [name, data] of Object.entries(files)) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(d)) entries.push({ name: d, type: 'dir' });
      dirs.add(d);
    }
    entries.push({ name, data });
  }
  return tar(entries);
}
