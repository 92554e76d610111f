/**
 * pull and push against a real registry (distribution 2.8) over plain HTTP on the sandbox's
 * loopback, through a logging proxy that shows what went over the wire: images made by
 * `load`, pushed (chunked and monolithic uploads, cross-repository mounts, blobs that
 * exist), pulled back and run; a tampered blob refused; a pull killed with -9 or cut mid
 * layer leaves nothing half-stored and runs again fetching only what is missing; two
 * concurrent pulls fetch each layer once; the errors for an unknown tag, a closed port, and
 * `run` with --pull missing|never.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUSYBOX_TAR, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { sha256 } from '../helpers/archives.js';
import { blobFile, busyboxLayer, HELPERS, layerOf, saveArchive, startDaemon, startRegistry, type Daemon, type Registry } from '../helpers/registry.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('registry pull and push (plain HTTP)', () => {
  let sb: Sandbox;
  let dir: string;
  let reg: Registry;
  let proxy: Daemon;
  const P = '127.0.0.1:5100';
  let bb: Buffer;
  const daemons: Daemon[] = [];

  const startProxy = async (listen: number, fail?: { digest: string; after: number; mode: 'stall' | 'cut' }): Promise<Daemon> => {
    const d = await startDaemon(sb, [process.execPath, join(HELPERS, 'registry-proxy.mjs'), JSON.stringify({ listen, upstream: 5000, fail })], /^listening/);
    daemons.push(d);
    return d;
  };
  const reqs = (d: Daemon, from = 0): { method: string; path: string; len?: string }[] =>
    d.lines.slice(from).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ev: string; method: string; path: string; len?: string }).filter((e) => e.ev === 'req');
  const layerGets = (d: Daemon, from: number, digests: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const dg of digests) out[dg] = reqs(d, from).filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${dg}`)).length;
    return out;
  };
  const store = (): { layers: string[]; tmp: string[] } => {
    const ls = (p: string): string[] => (existsSync(p) ? readdirSync(p).sort() : []);
    return { layers: ls(join(sb.root, 'images', 'layers')), tmp: ls(join(sb.root, 'images', 'tmp')) };
  };
  /** load a fresh image made of busybox plus `extra` layers and tag it for the registry */
  const loadImage = async (tag: string, extra: Buffer[]): Promise<{ diffIds: string[] }> => {
    const layers = [bb, ...extra];
    const file = join(dir, `${sha256(Buffer.from(tag))}.tar`);
    writeFileSync(file, saveArchive(tag, { layers, cmd: ['cat', '/data/a', '/data/b'] }));
    await tsdOk(sb, ['load', '-i', file]);
    return { diffIds: layers.map((l) => `sha256:${sha256(l)}`) };
  };
  /** the digests of an image's layers as the registry serves them */
  const manifestLayers = async (repo: string, tag: string): Promise<string[]> => {
    const r = await sb.sh(['busybox', 'wget', '-q', '-O', '-', '--header', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://127.0.0.1:5000/v2/${repo}/manifests/${tag}`]);
    return (JSON.parse(r.stdout) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
  };

  beforeAll(async () => {
    sb = await createSandbox('tsd-reg');
    dir = mkdtempSync(join(tmpdir(), 'tsd-reg-'));
    reg = await startRegistry(sb, join(dir, 'registry'), { port: 5000 });
    proxy = await startProxy(5100);
    bb = busyboxLayer();
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await reg?.stop();
    await sb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes a loaded image (chunked layers, monolithic config), mounts across repositories, pulls it back and runs it', async () => {
    const img = await loadImage(`${P}/app/multi:1`, [layerOf({ 'data/a': 'alpha\n' }), layerOf({ 'data/b': randomBytes(200_000).toString('base64') + '\nbeta\n' })]);
    const before = (await tsdOk(sb, ['images', '-q', '--no-trunc', `${P}/app/multi:1`])).trim();
    const mark = proxy.lines.length;
    const push = await sb.tsd(['push', `${P}/app/multi:1`], { env: { ...process.env, TSDOCKER_PUSH_CHUNK_SIZE: '65536' } });
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const lines = push.stdout.trim().split('\n');
    expect(lines[0]).toBe(`The push refers to repository [${P}/app/multi]`);
    for (const d of img.diffIds) expect(lines).toContain(`${d.slice(7, 19)}: Pushed`);
    const pushed = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/.exec(lines.at(-1)!);
    expect(pushed).not.toBeNull();
    // the layers went in chunks (several PATCHes to one upload), the config in one PUT, the manifest last
    const rs = reqs(proxy, mark);
    expect(rs.filter((r) => r.method === 'PATCH').length).toBeGreaterThan(img.diffIds.length);
    expect(rs.some((r) => r.method === 'PUT' && r.path.includes(`digest=${encodeURIComponent(before)}`) && Number(r.len) > 0)).toBe(true);
    expect(rs.at(-1)).toMatchObject({ method: 'PUT', path: '/v2/app/multi/manifests/1' });

    // another repository on the same registry: every layer mounted, none uploaded again
    await tsdOk(sb, ['tag', `${P}/app/multi:1`, `${P}/other/multi:2`]);
    const m2 = proxy.lines.length;
    const mount = await tsdOk(sb, ['push', `${P}/other/multi:2`]);
    for (const d of img.diffIds) expect(mount).toContain(`${d.slice(7, 19)}: Mounted from app/multi`);
    expect(reqs(proxy, m2).filter((r) => r.method === 'PATCH')).toEqual([]);
    const again = await tsdOk(sb, ['push', `${P}/other/multi:2`]);
    for (const d of img.diffIds) expect(again).toContain(`${d.slice(7, 19)}: Layer already exists`);
    expect(again).toContain(`2: digest: ${pushed![1]}`);

    // gone locally, pulled back: same id (exact config bytes), same manifest digest, runs
    await tsdOk(sb, ['rmi', `${P}/app/multi:1`, `${P}/other/multi:2`]);
    const pull = await sb.tsd(['pull', `${P}/app/multi:1`]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    const out = pull.stdout.trim().split('\n');
    expect(out[0]).toBe('1: Pulling from app/multi');
    expect(out.filter((l) => l.endsWith(': Pull complete'))).toHaveLength(2); // busybox's layer stayed: the busybox image uses it
    expect(out).toContain(`${(await manifestLayers('app/multi', '1'))[0]!.slice(7, 19)}: Already exists`);
    expect(out.slice(-3)).toEqual([`Digest: ${pushed![1]}`, `Status: Downloaded newer image for ${P}/app/multi:1`, `${P}/app/multi:1`]);
    expect((await tsdOk(sb, ['images', '-q', '--no-trunc', `${P}/app/multi:1`])).trim()).toBe(before);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', `${P}/app/multi:1`, 'cat', '/data/a'])).toBe('alpha\n');
    const table = await tsdOk(sb, ['images', '--digests', `${P}/app/multi`]);
    expect(table.split('\n')[1]).toMatch(new RegExp(`^${P}/app/multi\\s+1\\s+${pushed![1]}\\s+${before.slice(7, 19)}`));

    // up to date: nothing downloaded; -q prints the reference alone; by digest it runs too
    const m3 = proxy.lines.length;
    expect(await tsdOk(sb, ['pull', `${P}/app/multi:1`])).toContain(`Status: Image is up to date for ${P}/app/multi:1`);
    expect(reqs(proxy, m3).filter((r) => r.path.includes('/blobs/'))).toEqual([]);
    expect(await tsdOk(sb, ['pull', '-q', `${P}/app/multi:1`])).toBe(`${P}/app/multi:1\n`);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', `${P}/app/multi@${pushed![1]}`, 'cat', '/data/a'])).toBe('alpha\n');
  });

  it('push and pull are image events, named by the reference as Docker names them', async () => {
    const now = () => (Date.now() / 1000).toFixed(6);
    const t0 = now();
    await tsdOk(sb, ['tag', 'busybox', `${P}/ev/bb:1`]);
    await tsdOk(sb, ['push', `${P}/ev/bb:1`]);
    await tsdOk(sb, ['rmi', `${P}/ev/bb:1`]);
    await tsdOk(sb, ['pull', `${P}/ev/bb:1`]);
    const shown = await tsdOk(sb, ['events', '--since', t0, '--until', now(), '--filter', 'event=push', '--filter', 'event=pull', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}']);
    expect(shown).toBe(`image push ${P}/ev/bb:1 ${P}/ev/bb:1\nimage pull ${P}/ev/bb:1 ${P}/ev/bb:1\n`);
  });

  it('refuses a tampered blob and stores nothing of it', async () => {
    await loadImage(`${P}/app/tamper:1`, [layerOf({ 'data/a': randomBytes(30_000).toString('hex') })]);
    await tsdOk(sb, ['push', `${P}/app/tamper:1`]);
    await tsdOk(sb, ['rmi', `${P}/app/tamper:1`]);
    const digest = (await manifestLayers('app/tamper', '1'))[1]!;
    // same size, valid gzip, valid tar, other content: only the digest tells
    const orig = readFileSync(blobFile(reg, digest));
    const evil = gzipSync(layerOf({ 'data/a': 'evil' }));
    const padded = Buffer.concat([evil.subarray(0, 3), Buffer.from([evil[3]! | 0x10]), evil.subarray(4, 10), Buffer.alloc(orig.length - evil.length - 1, 0x41), Buffer.from([0]), evil.subarray(10)]);
    expect(padded.length).toBe(orig.length);
    writeFileSync(blobFile(reg, digest), padded);
    const before = store();
    const r = await sb.tsd(['pull', `${P}/app/tamper:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`layer ${digest} does not match its digest`);
    expect(store()).toEqual({ layers: before.layers, tmp: [] });
    expect((await sb.tsd(['images', '-q', `${P}/app/tamper:1`])).stdout).toBe('');
    writeFileSync(blobFile(reg, digest), orig);
  });

  it.each(['stall', 'cut'] as const)('a pull killed or cut mid-layer (%s) leaves no half layer and runs again fetching only the rest', async (mode) => {
    const tag = `app/resume-${mode}:1`;
    const img = await loadImage(`${P}/${tag}`, [layerOf({ 'data/a': `small ${mode}\n` }), layerOf({ 'data/b': randomBytes(600_000) })]);
    await tsdOk(sb, ['push', `${P}/${tag}`]);
    await tsdOk(sb, ['rmi', `${P}/${tag}`]);
    const [, small, big] = await manifestLayers(tag.split(':')[0]!, '1');
    const port = mode === 'stall' ? 5101 : 5102;
    const faulty = await startProxy(port, { digest: big!, after: 100_000, mode });
    const ref = `127.0.0.1:${port}/${tag}`;
    if (mode === 'stall') {
      const child = sb.spawnTsd(['pull', ref]);
      await faulty.waitFor(/"ev":"stalled"/);
      const smallDir = join(sb.root, 'images', 'layers', img.diffIds[1]!.slice(7), 'layer.json');
      for (let i = 0; i < 400 && !existsSync(smallDir); i++) await new Promise((r) => setTimeout(r, 25));
      process.kill(child.pid!, 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(store().tmp.length).toBe(1); // its partial work, in tmp/ only
    } else {
      const r = await sb.tsd(['pull', ref]);
      expect(r.code).toBe(1);
      const line = r.stderr.split('\n')[0]!;
      expect(line).toMatch(new RegExp(`^tsdocker: cannot reach 127\\.0\\.0\\.1:5102: the download of layer ${big} broke off after \\d+ of \\d+ bytes \\(aborted\\)$`));
      // the proxy cut after 100000 bytes; what was still in flight when it reset may be lost
      const got = Number(/after (\d+) of/.exec(line)![1]);
      expect(got).toBeGreaterThan(0);
      expect(got).toBeLessThanOrEqual(100_000);
      expect(store().tmp).toEqual([]);
    }
    expect(store().layers).not.toContain(img.diffIds[2]!.slice(7));
    expect(store().layers).toContain(img.diffIds[1]!.slice(7));
    const mark = faulty.lines.length;
    const again = await sb.tsd(['pull', ref]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(layerGets(faulty, mark, [small!, big!])).toEqual({ [small!]: 0, [big!]: 1 });
    expect(store().tmp).toEqual([]);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', ref, 'cat', '/data/a'])).toBe(`small ${mode}\n`);
  });

  it('two concurrent pulls of one image both succeed and fetch each layer once', async () => {
    const img = await loadImage(`${P}/app/twice:1`, [layerOf({ 'data/a': randomBytes(300_000) }), layerOf({ 'data/b': randomBytes(300_000) })]);
    await tsdOk(sb, ['push', `${P}/app/twice:1`]);
    await tsdOk(sb, ['rmi', `${P}/app/twice:1`]);
    const [, l1, l2] = await manifestLayers('app/twice', '1');
    // the first pull is held mid-layer until the second has fetched the config, and a
    // while longer: had the second not waited for the layer, it would fetch it meanwhile
    const held = await startProxy(5103, { digest: l2!, after: 50_000, mode: 'hold' });
    const ref = `127.0.0.1:5103/app/twice:1`;
    const a = sb.spawnTsd(['pull', ref]);
    await held.waitFor(/"ev":"held"/);
    const b = sb.spawnTsd(['pull', ref]);
    const configGets = (): number => reqs(held).filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) && ![l1, l2].some((l) => r.path.endsWith(l!))).length;
    for (let i = 0; i < 400 && configGets() < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(configGets()).toBe(2);
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(held.pid, 'SIGUSR1');
    const codes = await Promise.all([a, b].map((c) => new Promise<number | null>((r) => c.once('exit', r))));
    expect(codes).toEqual([0, 0]);
    expect(layerGets(held, 0, [l1!, l2!])).toEqual({ [l1!]: 1, [l2!]: 1 });
    expect(store().tmp).toEqual([]);
    // the layers' lock files went with the work they guarded
    expect(readdirSync(join(sb.root, 'locks')).filter((n) => img.diffIds.some((d) => n.includes(d.slice(7))))).toEqual([]);
  });

  it('explains an unknown tag, a closed port, and run --pull missing|never', async () => {
    const unknown = await sb.tsd(['pull', `${P}/app/multi:nope`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.split('\n')[0]).toBe(`tsdocker: manifest for ${P}/app/multi:nope not found: manifest unknown: manifest unknown`);
    const closed = await sb.tsd(['pull', '127.0.0.1:5999/app/multi:1']);
    expect(closed.code).toBe(1);
    expect(closed.stderr.split('\n')[0]).toBe('tsdocker: cannot reach 127.0.0.1:5999: connection refused (127.0.0.1:5999)');
    const runClosed = await sb.tsd(['run', '--rm', '127.0.0.1:5999/app/multi:1']);
    expect(runClosed.code).toBe(125);
    expect(runClosed.stderr).toContain("Unable to find image '127.0.0.1:5999/app/multi:1' locally");
    expect(runClosed.stderr).toContain('cannot reach 127.0.0.1:5999');

    await loadImage(`${P}/app/fresh:1`, [layerOf({ 'data/a': 'fresh\n' })]);
    await tsdOk(sb, ['push', `${P}/app/fresh:1`]);
    await tsdOk(sb, ['rmi', `${P}/app/fresh:1`]);
    const mark = proxy.lines.length;
    const never = await sb.tsd(['run', '--rm', '--pull', 'never', '--network', 'none', `${P}/app/fresh:1`]);
    expect(never.code).toBe(125);
    expect(never.stderr).toContain(`Unable to find image '${P}/app/fresh:1' locally`);
    expect(reqs(proxy, mark)).toEqual([]);
    const missing = await sb.tsd(['run', '--rm', '--network', 'none', `${P}/app/fresh:1`, 'cat', '/data/a']);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toBe('fresh\n');
    expect(missing.stderr).toContain(`Unable to find image '${P}/app/fresh:1' locally`);
    expect(missing.stderr).toContain('Pull complete');
    const m2 = proxy.lines.length;
    expect((await sb.tsd(['run', '--rm', '--network', 'none', `${P}/app/fresh:1`, 'true'])).code).toBe(0);
    expect(reqs(proxy, m2)).toEqual([]); // stored now: missing pulls nothing
    expect((await sb.tsd(['create', '--pull', 'always', '--network', 'none', `${P}/app/fresh:1`])).code).toBe(0);
    expect(reqs(proxy, m2).some((r) => r.path === '/v2/app/fresh/manifests/1')).toBe(true);
    // -q: docker/cli discards the pull's output, and still says it was not found locally
    await tsdOk(sb, ['rm', '-f', ...(await tsdOk(sb, ['ps', '-aq'])).trim().split('\n').filter(Boolean)]);
    await tsdOk(sb, ['rmi', `${P}/app/fresh:1`]);
    const quiet = await sb.tsd(['run', '--rm', '-q', '--network', 'none', `${P}/app/fresh:1`, 'cat', '/data/a']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe('fresh\n');
    expect(quiet.stderr).toBe(`Unable to find image '${P}/app/fresh:1' locally\n`);
  });
});
