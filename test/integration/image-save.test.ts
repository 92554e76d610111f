/**
 * `tsdocker save`: the archive is what Docker 20.10 itself loads and runs (a dockerd of the
 * test's own inside the sandbox, test/helpers/dockerd.ts), what Podman loads (when
 * installed), and what tsdocker loads back, ids and tags intact. Layers keep the archive they
 * arrived as (a gzip layer stays gzip, byte for byte).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, hostSnapshot, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { sha256, tar } from '../helpers/archives.js';
import { busyboxLayer } from '../helpers/registry.js';
import { hasDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';

const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let dir: string;
let d: Dockerd | undefined;

/** An image of two gzip layers (busybox, then /greeting), tagged greet:1 and greet:2. */
function gzipImage(): { archive: Buffer; blobs: Buffer[]; id: string } {
  const layers = [busyboxLayer(), tar([{ name: 'greeting', data: 'hello from a gzip layer\n' }])];
  const blobs = layers.map((l) => gzipSync(l));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-05-06T07:08:09Z',
    config: { Env: ['PATH=/bin'], Cmd: ['cat', '/greeting'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
    history: [
      { created: '2024-05-06T07:08:09Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
      { created: '2024-05-06T07:08:09Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
      { created: '2024-05-06T07:10:00Z', created_by: '/bin/sh -c echo\thello > /greeting # then a long comment', comment: 'made by hand' },
    ],
  }));
  const names = blobs.map((b) => `${sha256(b)}/layer.tar`);
  const archive = tar([
    { name: `${sha256(config)}.json`, data: config },
    ...blobs.flatMap((b, i) => [{ name: `${sha256(b)}/`, type: 'dir' as const }, { name: names[i]!, data: b }]),
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha256(config)}.json`, RepoTags: ['greet:1', 'greet:2'], Layers: names }]) },
  ]);
  return { archive, blobs, id: `sha256:${sha256(config)}` };
}

const gz = gzipImage();

/** A zstd frame of raw (stored) blocks: what any zstd reader takes, made without an encoder. */
function zstdRaw(data: Buffer): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = 0xe0; // single segment, 8-byte content size, no checksum
  head.writeBigUInt64LE(BigInt(data.length), 5);
  const parts = [head];
  for (let off = 0; off < data.length || off === 0; off += 1 << 17) {
    const chunk = data.subarray(off, off + (1 << 17));
    const last = off + (1 << 17) >= data.length ? 1 : 0;
    const bh = Buffer.alloc(3);
    bh.writeUIntLE((chunk.length << 3) | last, 0, 3);
    parts.push(bh, chunk);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}
const members = (file: string): Promise<string[]> => sb.sh(['tar', '-tf', file]).then((r) => r.stdout.split('\n').filter(Boolean));
const manifestOf = async (file: string): Promise<{ Config: string; RepoTags: string[] | null; Layers: string[] }[]> =>
  JSON.parse((await sb.sh(['tar', '-xOf', file, 'manifest.json'])).stdout);

describe.skipIf(!isRoot)('tsdocker save and history', () => {
  const before = hostSnapshot();
  beforeAll(async () => {
    sb = await createSandbox('tsd-save');
    dir = mkdtempSync(join(tmpdir(), 'tsd-save-'));
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
    writeFileSync(join(dir, 'greet.tar'), gz.archive);
    await tsdOk(sb, ['load', '-i', join(dir, 'greet.tar')]);
    if (hasDockerd) d = await startDockerd(sb);
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // dockerd, podman and tsdocker all ran in the sandbox: nothing reached the host
    expect(hostSnapshot()).toEqual(before);
  }, 120_000);

  it('writes the docker-save layout to stdout; docker load takes it from a pipe and runs the image', async () => {
    const id = (await tsdOk(sb, ['images', '-q', '--no-trunc', 'busybox'])).trim();
    const file = join(dir, 'bb.tar');
    const r = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} save busybox > ${file}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const names = await members(file);
    expect(names).toContain('manifest.json');
    expect(names).toContain('repositories');
    expect(names).toContain(`${id.slice(7)}.json`);
    const m = await manifestOf(file);
    expect(m).toEqual([{ Config: `${id.slice(7)}.json`, RepoTags: ['busybox:latest'], Layers: [expect.stringMatching(/^[0-9a-f]{64}\/layer\.tar$/)] }]);
    expect(names).toContain(m[0]!.Layers[0]!.replace('layer.tar', 'VERSION'));
    expect(names).toContain(m[0]!.Layers[0]!.replace('layer.tar', 'json'));
    if (!d) return;
    // Docker 20.10: `docker save busybox | docker load` prints this line, the id is kept, the image runs
    const loaded = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} save busybox | docker -H unix://${d.sock} load`]);
    expect(loaded.stdout).toMatch(/Loaded image: busybox:latest\n$/);
    expect((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim()).toBe(id);
    expect((await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hi from docker'])).stdout).toBe('hi from docker\n');
  }, 180_000);

  it('keeps gzip layers as they were loaded; a name without a tag saves every tag; docker loads and runs it', async () => {
    const file = join(dir, 'greet-out.tar');
    await tsdOk(sb, ['save', '-o', file, 'greet']);
    const m = await manifestOf(file);
    expect(m).toHaveLength(1);
    expect(m[0]!.RepoTags).toEqual(['greet:1', 'greet:2']);
    expect(m[0]!.Config).toBe(`${gz.id.slice(7)}.json`);
    // the busybox layer was stored first from images/busybox.tar (uncompressed): that archive is kept
    const kept = [sha256(busyboxLayer()), sha256(gz.blobs[1]!)];
    for (const [i, l] of m[0]!.Layers.entries()) {
      const blob = (await sb.sh(['sh', '-c', `tar -xOf ${file} ${l} | sha256sum`])).stdout.split(' ')[0];
      expect(blob).toBe(kept[i]);
    }
    expect(JSON.parse((await sb.sh(['tar', '-xOf', file, 'repositories'])).stdout)).toEqual({
      greet: { '1': m[0]!.Layers[1]!.split('/')[0], '2': m[0]!.Layers[1]!.split('/')[0] },
    });
    // one tag saves only that tag; an id saves no tag (as docker save)
    await tsdOk(sb, ['save', '-o', file, 'greet:2']);
    expect((await manifestOf(file))[0]!.RepoTags).toEqual(['greet:2']);
    await tsdOk(sb, ['save', '-o', file, gz.id.slice(7, 19)]);
    expect((await manifestOf(file))[0]!.RepoTags).toBeNull();
    await tsdOk(sb, ['save', '-o', file, 'greet:1', 'busybox', 'greet:2']);
    expect((await manifestOf(file)).map((x) => x.RepoTags)).toEqual([['greet:1', 'greet:2'], ['busybox:latest']]);
    if (!d) return;
    const loaded = await d.docker(['load', '-i', file]);
    expect(loaded.stdout).toMatch(/Loaded image: greet:1\nLoaded image: greet:2\n(.*\n)?Loaded image: busybox:latest\n$/);
    expect((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'greet:2'])).stdout.trim()).toBe(gz.id);
    expect((await d.docker(['run', '--rm', '--network', 'none', 'greet:1'])).stdout).toBe('hello from a gzip layer\n');
  }, 180_000);

  it('writes a zstd layer decompressed (Docker 20.10 cannot read zstd); docker loads and runs it', async () => {
    const layers = [busyboxLayer(), tar([{ name: 'z', data: 'from a zstd layer\n' }])];
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '2024-05-06T07:08:09Z', config: { Env: ['PATH=/bin'], Cmd: ['cat', '/z'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
    }));
    const blobs = [layers[0]!, zstdRaw(layers[1]!)];
    const names = blobs.map((b) => `${sha256(b)}/layer.tar`);
    writeFileSync(join(dir, 'zstd.tar'), tar([
      { name: `${sha256(config)}.json`, data: config },
      ...names.map((n, i) => ({ name: n, data: blobs[i]! })),
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha256(config)}.json`, RepoTags: ['zst:1'], Layers: names }]) },
    ]));
    await tsdOk(sb, ['load', '-i', join(dir, 'zstd.tar')]);
    const file = join(dir, 'zstd-out.tar');
    await tsdOk(sb, ['save', '-o', file, 'zst:1']);
    const m = await manifestOf(file);
    const top = (await sb.sh(['sh', '-c', `tar -xOf ${file} ${m[0]!.Layers[1]} | sha256sum`])).stdout.split(' ')[0];
    expect(top).toBe(sha256(layers[1]!)); // the tar itself: its digest is the diff-id
    if (!d) return;
    expect((await d.docker(['load', '-i', file])).stdout).toContain('Loaded image: zst:1');
    expect((await d.docker(['run', '--rm', '--network', 'none', 'zst:1'])).stdout).toBe('from a zstd layer\n');
  }, 120_000);

  it('loads back into tsdocker with the same id and tags', async () => {
    const file = join(dir, 'back.tar');
    await tsdOk(sb, ['save', '-o', file, 'greet']);
    await tsdOk(sb, ['rmi', 'greet:1', 'greet:2']);
    expect(await tsdOk(sb, ['load', '-i', file])).toBe('Loaded image: greet:1\nLoaded image: greet:2\n');
    expect((await tsdOk(sb, ['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'greet'])).split('\n').filter(Boolean).sort())
      .toEqual([`greet:1 ${gz.id}`, `greet:2 ${gz.id}`]);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'greet:2'])).toBe('hello from a gzip layer\n');
  }, 120_000);

  it.skipIf(!existsSync('/usr/bin/podman'))('loads into podman', async () => {
    const file = join(dir, 'pm.tar');
    await tsdOk(sb, ['save', '-o', file, 'greet:1']);
    const p = join(dir, 'podman');
    // podman (netavark) writes /run/containers: give the sandbox a /run of its own so the host's stays untouched
    expect((await sb.sh(['mount', '-t', 'tmpfs', 'tmpfs', '/run'])).code).toBe(0);
    const podman = (args: string[]) => sb.sh(['podman', '--root', join(p, 'root'), '--runroot', join(p, 'runroot'), '--tmpdir', join(p, 'tmp'),
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], { timeoutMs: 120_000 });
    const r = await podman(['load', '-i', file]);
    expect(r.stderr + r.stdout).toContain('Loaded image: localhost/greet:1');
    expect((await podman(['image', 'inspect', '-f', '{{.Id}}', 'localhost/greet:1'])).stdout.trim()).toBe(gz.id.slice(7));
    await podman(['rmi', '-af']);
  }, 180_000);

  it('refuses a terminal, a missing directory and a missing image, as Docker does (exit 1)', async () => {
    const tty = await sb.sh(['script', '-qec', `${CLI} --root ${sb.root} save busybox`, '/dev/null']);
    expect(tty.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    expect(tty.code).toBe(1);
    const nodir = await sb.tsd(['save', '-o', join(dir, 'nope', 'x.tar'), 'busybox']);
    expect(nodir.stderr).toContain(`failed to save image: invalid output path: directory "${join(dir, 'nope')}" does not exist`);
    expect(nodir.code).toBe(1);
    const file = join(dir, 'none.tar');
    const missing = await sb.tsd(['save', '-o', file, 'nosuch:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nosuch:1');
    expect(existsSync(file)).toBe(false); // nothing half-written
    expect(readFileSync(join(dir, 'greet.tar')).length).toBeGreaterThan(0);
  }, 60_000);

  it('history: newest first, <missing> below the top, sizes of the layers, truncation, -q, --no-trunc, --human=false (as Docker 20.10)', async () => {
    const short = gz.id.slice(7, 19);
    // what Docker 20.10 prints for this image (checked against the test's dockerd below)
    const fmt = '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}';
    const expected = [
      `${short}|/bin/sh -c echo hello > /greeting # then a l…|24B|made by hand`,
      '<missing>|/bin/sh -c #(nop)  CMD ["sh"]|0B|',
      `<missing>|/bin/sh -c #(nop) ADD file:abc in / |${(await tsdOk(sb, ['history', '--format', '{{.Size}}', 'busybox'])).trim()}|`,
    ].join('\n') + '\n';
    expect(await tsdOk(sb, ['history', '--format', fmt, 'greet:1'])).toBe(expected);
    expect(await tsdOk(sb, ['history', '-q', 'greet:1'])).toBe(`${short}\n<missing>\n<missing>\n`);
    expect(await tsdOk(sb, ['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}', 'greet:1'])).toMatch(
      new RegExp(`^${gz.id}\\|/bin/sh -c echo hello > /greeting # then a long comment\n`));
    expect(await tsdOk(sb, ['history', '--human=false', '--format', '{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}', 'greet:1']))
      .toMatch(/^2024-05-06T07:10:00(Z|[+-]\d\d:\d\d)\|2024-05-06T07:10:00(Z|[+-]\d\d:\d\d)\|24\n/);
    const table = (await tsdOk(sb, ['history', 'greet:1'])).split('\n');
    expect(table[0]).toBe('IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT');
    expect(table[1]).toMatch(new RegExp(`^${short}   \\d+ (years|months) ago +/bin/sh -c echo hello > /greeting # then a l…   24B +made by hand$`));
    const missing = await sb.tsd(['history', 'nosuch:1']);
    expect(missing.code).toBe(1);
    if (!d) return;
    if ((await d.docker(['image', 'inspect', 'greet:1'])).code !== 0) await d.docker(['load', '-i', join(dir, 'greet.tar')]);
    const theirs = (await d.docker(['history', '--format', fmt, 'greet:1'])).stdout;
    expect(theirs.split('\n').map((l) => l.split('|').filter((_, i) => i !== 2).join('|')))
      .toEqual(expected.split('\n').map((l) => l.split('|').filter((_, i) => i !== 2).join('|')));
    expect(theirs.split('\n')[0]).toBe(expected.split('\n')[0]);
    expect((await d.docker(['history', '-q', 'greet:1'])).stdout).toBe(`${short}\n<missing>\n<missing>\n`);
  }, 120_000);
});
