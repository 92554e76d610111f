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
    // import -c / -m, as docker import: the changes are the config, the message the history comment
    await tsdOk(sb, ['import', '-c', 'CMD ["cat", "/new/sub/f"]', '-c', 'ENV A=1', '-m', 'from export', file, 'exported:2']);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'exported:2'])).toBe('x\n');
    expect(await tsdOk(sb, ['history', '--format', '{{.Comment}}', 'exported:2'])).toBe('from export\n');
    expect(await tsdOk(sb, ['inspect', '--type', 'image', '-f', '{{.Config.Env}}', 'exported:2'])).toBe('[A=1]\n');
    const badc = await sb.tsd(['import', '-c', 'RUN true', file]);
    expect([badc.code, badc.stderr.includes('RUN is not a valid change command')]).toEqual([1, true]);
    // running: stdout, and the same content
    const live = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} export up | tar -tf - | grep -c '^new/sub/f$'`]);
    expect(live.stdout.trim()).toBe('1');
    const tty = await sb.sh(['script', '-qec', `${CLI} --root ${sb.root} export up`, '/dev/null']);
    expect(tty.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    if (!d) return;
    await d.docker(['import', file, 'exp:1']);
    expect((await d.docker(['run', '--rm', '--network', 'none', 'exp:1', 'cat', '/new/sub/f'])).stdout).toBe('x\n');
  }, 120_000);

  it('commit: the changes (whiteouts included) on the image, run settings, -c changes, author, message, history; docker runs it', async () => {
    const id = (await tsdOk(sb, ['commit', '-a', 'Ann <ann@example.test>', '-m', 'my changes', '-c', 'CMD ["cat", "/new/sub/f"]', '-c', 'ENV MODE=prod',
      '-c', 'EXPOSE 8080', '-c', 'LABEL team=files', '-c', 'WORKDIR /new', '-c', 'USER 65534', '-c', 'STOPSIGNAL SIGINT', '-c', 'VOLUME /cache', 'ch', 'committed:1'])).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'committed:1'])).toBe('x\n');
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', '-u', '0', 'committed:1', 'sh', '-c', 'test -e /etc/passwd || echo gone; pwd; echo $MODE; test -e /data/v || echo novol'])).toBe('gone\n/new\nprod\nnovol\n');
    const cfg = JSON.parse(await tsdOk(sb, ['inspect', '--type', 'image', '-f', '{{json .}}', 'committed:1'])) as Record<string, any>;
    expect(cfg.Author).toBe('Ann <ann@example.test>');
    expect(cfg.Comment).toBe('my changes');
    expect(cfg.Config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(cfg.Config.Labels.team).toBe('files');
    expect(cfg.Config.User).toBe('65534');
    expect(cfg.Config.StopSignal).toBe('SIGINT');
    expect(cfg.Config.Volumes).toEqual({ '/cache': {} });
    expect(cfg.RootFS.Layers).toHaveLength(2);
    expect((await tsdOk(sb, ['history', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:1'])).split('\n')[0]).toBe(`sh -c ${CHANGES.slice(0, 38)}…|my changes`);
    // the layer is in Docker's whiteout format: saved, docker loads and runs it
    const bad = await sb.tsd(['commit', '-c', 'ADD . /', 'ch']);
    expect([bad.code, bad.stderr.includes('ADD is not a valid change command')]).toEqual([1, true]);
    // a running container is paused while it is read, and runs on after
    await tsdOk(sb, ['commit', 'up', 'fromlive:1']);
    expect((await tsdOk(sb, ['inspect', '-f', '{{.State.Status}}', 'up'])).trim()).toBe('running');
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', 'fromlive:1', 'cat', '/new/sub/f'])).toBe('x\n');
    if (!d) return;
    const loaded = await sb.sh(['sh', '-c', `${CLI} --root ${sb.root} save committed:1 | docker -H unix://${d.sock} load`]);
    expect(loaded.stdout).toContain('Loaded image: committed:1');
    expect((await d.docker(['run', '--rm', '--network', 'none', '-u', '0', 'committed:1', 'sh', '-c', 'cat /new/sub/f; test -e /etc/passwd || echo gone'])).stdout).toBe('x\ngone\n');
  }, 180_000);
});
