#!/usr/bin/env node
/**
 * Build the default `busybox` image as a `docker save` archive (classic layout: manifest.json,
 * <config-digest>.json, <layer>/layer.tar) from Debian's static busybox, with no network.
 *
 *   node images/build-busybox.mjs [OUTPUT]      (default: images/busybox.tar)
 *
 * Deterministic: fixed mtimes (SOURCE_DATE_EPOCH, default 2024-01-01), uid/gid 0, sorted
 * entries, so the same busybox binary gives the same image id. Commands run as argv arrays.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = resolve(process.argv[2] ?? join(here, 'busybox.tar'));
const BUSYBOX = '/bin/busybox';
const EPOCH = Number(process.env.SOURCE_DATE_EPOCH ?? 1704067200); // 2024-01-01T00:00:00Z
const CREATED = new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z');
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sh(argv) {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

if (!existsSync(BUSYBOX)) {
  console.error('build-busybox: /bin/busybox missing, installing busybox-static from Debian');
  sh(['apt-get', 'install', '-y', 'busybox-static']);
}
let version = 'unknown';
try {
  version = sh(['dpkg-query', '-W', '-f', '${Version}', 'busybox-static']).trim();
} catch {
  /* not a dpkg system: provenance says unknown */
}
// ---- a minimal, deterministic ustar writer (trusted content only) ----
function header(name, { type = '0', mode = 0o644, size = 0, linkname = '' } = {}) {
  const b = Buffer.alloc(512);
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  const oct = (v, len) => v.toString(8).padStart(len - 1, '0') + '\0';
  b.write(name, 0, 100);
  b.write(oct(mode, 8), 100);
  b.write(oct(0, 8), 108);
  b.write(oct(0, 8), 116);
  b.write(oct(size, 12), 124);
  b.write(oct(EPOCH, 12), 136);
  b.write('        ', 148);
  b.write(type, 156);
  b.write(linkname, 157, 100);
  b.write('ustar\u000000', 257);
  b.write('root', 265);
  b.write('root', 297);
  b.write(prefix, 345, 155);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

function tar(entries) {
  const parts = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(header(e.name, { type: e.type, mode: e.mode, size: data.length, linkname: e.linkname }));
    if (data.length) parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const dir = (name, mode = 0o755) => ({ name: name + '/', type: '5', mode });
const file = (name, data, mode = 0o644) => ({ name, type: '0', mode, data: Buffer.from(data) });

// ---- the root filesystem ----
const applets = sh([BUSYBOX, '--list-full'])
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && l !== 'bin/busybox');
const dirs = new Map([
  ['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['home', 0o755], ['proc', 0o555], ['root', 0o700],
  ['sys', 0o555], ['tmp', 0o1777], ['usr', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['sbin', 0o755],
  ['var', 0o755], ['var/spool', 0o755], ['var/spool/mail', 0o755], ['var/www', 0o755],
]);
for (const a of applets) {
  const d = a.split('/').slice(0, -1).join('/');
  if (d && !dirs.has(d)) dirs.set(d, 0o755);
}
const entries = [
  ...[...dirs].map(([d, m]) => dir(d, m)),
  { name: 'bin/busybox', type: '0', mode: 0o755, data: readFileSync(BUSYBOX) },
  ...applets.map((a) => ({ name: a, type: '2', mode: 0o777, linkname: '/bin/busybox' })),
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n'),
  file('etc/group', 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nwheel:x:10:root\nusers:x:100:\nnogroup:x:65534:\n'),
  file('etc/shadow', 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640),
].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const layer = tar(entries);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const diffId = sha(layer);
const config = Buffer.from(
  JSON.stringify({
    architecture: { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch,
    os: 'linux',
    created: CREATED,
    config: {
      Env: [PATH_ENV],
      Cmd: ['sh'],
      Labels: { 'org.opencontainers.image.title': 'busybox', 'org.tsdocker.busybox.debian-version': version },
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created: CREATED, created_by: `images/build-busybox.mjs from Debian busybox-static ${version}` }],
  }),
);
const configHex = sha(config);
const manifest = [{ Config: `${configHex}.json`, RepoTags: ['busybox:latest'], Layers: [`${diffId}/layer.tar`] }];
const outer = tar([
  dir(diffId),
  file(`${diffId}/VERSION`, '1.0'),
  file(`${diffId}/json`, JSON.stringify({ id: diffId, created: CREATED, os: 'linux' })),
  { name: `${diffId}/layer.tar`, type: '0', mode: 0o644, data: layer },
  file(`${configHex}.json`, config),
  file('manifest.json', JSON.stringify(manifest)),
  file('repositories', JSON.stringify({ busybox: { latest: diffId } })),
]);
const tmp = `${output}.${process.pid}.tmp`;
writeFileSync(tmp, outer);
renameSync(tmp, output);
console.log(`${output}: busybox:latest sha256:${configHex} (${applets.length} applets, busybox-static ${version})`);
