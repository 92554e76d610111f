/**
 * `diff`, `export` and `commit`: what a container changed (Docker 20.10's output written
 * here), its root filesystem as a tar that `tsdocker import` and `docker import` (a dockerd
 * of the test's own) take, and a new image made of its changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { hasDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';

const isRoot = process.getuid?.() === 0;
let sb: Sandbox;
let dir: string;
let d: Dockerd | undefined;
const CHANGES = 'mkdir -p /new/sub && echo x > /new/sub/f && echo y > /etc/motd2 && rm /etc/passwd && touch /tmp/t && echo more >> /etc/group';

describe.skipIf(!isRoot)('diff, export, commit', () => {
  beforeAll(async () => {
    sb = await createSandbox('tsd-diff');
    dir = mkdtempSync(join(tmpdir(), 'tsd-diff-'));
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
    await tsdOk(sb, ['run', '--name', 'ch', '--network', 'none', '-v', 'dv:/data', 'busybox', 'sh', '-c', `${CHANGES} && echo v > /data/v`]);
    await tsdOk(sb, ['run', '-d', '--name', 'up', '--network', 'none', 'busybox', 'sh', '-c', `${CHANGES}; exec sleep 300`]);
    await tsdOk(sb, ['run', '--name', 'quiet', '--network', 'none', 'busybox', 'true']);
    if (hasDockerd) d = await startDockerd(sb);
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
    await sb?.tsd(['rm', '-f', 'ch', 'up', 'quiet']);
    await sb?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("diff: A/C/D in Docker's order, whiteouts as D, nothing of the runtime's own, running or not", async () => {
    // Docker 20.10 prints these lines for the same commands in busybox; the order of its
    // naive overlay diff follows Go's map iteration (it varies from run to run), ours is lexical
    const want = 'C /etc\nC /etc/group\nA /etc/motd2\nD /etc/passwd\nA /new\nA /new/sub\nA /new/sub/f\nC /tmp\nA /tmp/t\n';
    expect(await tsdOk(sb, ['diff', 'ch'])).toBe(want);
    for (let i = 0; i < 100 && (await sb.tsd(['exec', 'up', 'test', '-e', '/etc/motd2'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await tsdOk(sb, ['diff', 'up'])).toBe(want);
    expect(await tsdOk(sb, ['diff', 'quiet'])).toBe('');
    const r = await sb.tsd(['diff', 'nosuch']);
    expect([r.code, r.stderr.includes('No such container: nosuch')]).toEqual([1, true]);
    if (!d) return;
    await d.docker(['load', '-i', BUSYBOX_TAR]);
    await d.docker(['run', '--name', 'ch', '--network', 'none', 'busybox', 'sh', '-c', CHANGES]);
    expect((await d.docker(['diff', 'ch'])).stdout.split('\n').sort()).toEqual(want.split('\n').sort());
  }, 120_000);

  it('export: the merged root without volumes, loadable by tsdocker import and docker import', async () => {
    const file = join(dir, 'ch.tar');
    await tsdOk(sb, ['export', '-o', file, 'ch']);
    const names = (await sb.sh(['tar', '-tf', file])).stdout.split('\n');
    expect(names).toContain('new/sub/f');
    expect(names).toContain('bin/');
    expect(names).not.toContain('etc/passwd');
    expect(names).not.toContain('data/v');
    expect(names.some((n) => n.startsWith('./') || n.startsWith('/'))).toBe(false);
    await tsdOk(sb, ['import', file, 'exported:1']);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'exported:1', 'sh', '-c', 'cat /new/sub/f; test -e /etc/passwd || echo gone'])).toBe('x\ngone\n');
    // running: stdout, and the same content
    const live = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} export up | tar -tf - | grep -c '^new/sub/f$'`]);
    expect(live.stdout.trim()).toBe('1');
    const tty = await sb.sh(['script', '-qec', `${CLI} --root ${sb.root} export up`, '/dev/null']);
    expect(tty.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    if (!d) return;
    await d.docker(['import', file, 'exp:1']);
    expect((await d.docker(['run', '--rm', '--network', 'none', 'exp:1', 'cat', '/new/sub/f'])).stdout).toBe('x\n');
  }, 120_000);
});
