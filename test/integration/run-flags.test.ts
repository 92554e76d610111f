/**
 * `run`/`create` flags of Docker parity part 2 (issue 13): --init, and what follows. Expected
 * outputs are Docker 20.10's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, tsdOk, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await createSandbox('tsd-flags');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

async function inspect(ref: string): Promise<Record<string, any>> {
  return JSON.parse(await tsdOk(sb, ['inspect', ref]))[0];
}

async function until(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

/** Every process of a running container: "pid state cmdline", read from its /proc. */
async function procs(name: string): Promise<string[]> {
  const script = 'for p in /proc/[0-9]*; do [ "${p#/proc/}" = $$ ] && continue; ' +
    'c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); s=$(cut -d" " -f3 $p/stat 2>/dev/null); [ -n "$s" ] && echo "${p#/proc/} $s $c"; done';
  const out = await tsdOk(sb, ['exec', name, 'sh', '-c', script]);
  return out.split('\n').filter((l) => l && !l.includes('/proc/[0-9]'));
}

describe('--init', () => {
  it('runs the command under /sbin/docker-init as pid 1, the init mounted read-only', async () => {
    const r = await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c',
      'tr "\\0" " " < /proc/1/cmdline; echo; grep " /sbin/docker-init " /proc/mounts | cut -d" " -f4 | cut -d, -f1; echo x > /sbin/docker-init']);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      '/sbin/docker-init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; grep " /sbin/docker-init " /proc/mounts | cut -d" " -f4 | cut -d, -f1; echo x > /sbin/docker-init ',
      'ro',
    ]);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(r.code).toBe(1);
  });

  it('exits with the command status, 128+n when signal n killed it (pid 1 alone ignores it)', async () => {
    expect((await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    // the shell is not pid 1 under the init, so a signal without a handler kills it
    expect((await sb.tsd(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -USR1 $$; exit 5'])).code).toBe(138);
    expect((await sb.tsd(['run', '--rm', 'busybox', 'sh', '-c', 'kill -USR1 $$; exit 5'])).code).toBe(5);
  });

  it('a command that does not exist: tini\'s message and 127', async () => {
    const r = await sb.tsd(['run', '--rm', '--init', 'busybox', 'nosuchcmd']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^\[FATAL tini \(\d+\)\] exec nosuchcmd failed: No such file or directory$/m);
  });

  it('forwards stop\'s SIGTERM to the command (sleep as pid 1 would ignore it and be killed: 137)', async () => {
    await tsdOk(sb, ['run', '-d', '--init', '--name', 'initsleep', 'busybox', 'sleep', '1000']);
    const c = await inspect('initsleep');
    expect(c.HostConfig.Init).toBe(true);
    expect([c.Path, c.Args]).toEqual(['sleep', ['1000']]);
    await tsdOk(sb, ['stop', '-t', '20', 'initsleep']);
    expect((await inspect('initsleep')).State.ExitCode).toBe(143);
    await tsdOk(sb, ['rm', 'initsleep']);
    await tsdOk(sb, ['create', '--name', 'noinit', 'busybox', 'true']);
    expect((await inspect('noinit')).HostConfig.Init).toBeUndefined();
    await tsdOk(sb, ['rm', 'noinit']);
  });

  it('reaps the orphans that come to pid 1; without it they stay zombies', async () => {
    // the inner shell leaves `sleep 1` behind: re-parented to pid 1, it exits a second later
    const cmd = ['sh', '-c', 'sh -c "sleep 1 &"; exec sleep 1000'];
    const orphanGone = async (name: string) => !(await procs(name)).some((l) => / [RSD] sleep 1 $/.test(l));
    await tsdOk(sb, ['run', '-d', '--init', '--name', 'reaper', 'busybox', ...cmd]);
    await tsdOk(sb, ['run', '-d', '--name', 'noreaper', 'busybox', ...cmd]);
    await until(() => orphanGone('reaper'));
    await until(() => orphanGone('noreaper'));
    expect((await procs('reaper')).map((l) => l.split(' ').slice(1).join(' '))).toEqual([
      'S /sbin/docker-init -- sh -c sh -c "sleep 1 &"; exec sleep 1000 ',
      'S sleep 1000 ',
    ]);
    expect((await procs('noreaper')).map((l) => l.split(' ').slice(1).join(' '))).toEqual(['S sleep 1000 ', 'Z ']);
    await tsdOk(sb, ['rm', '-f', 'reaper', 'noreaper']);
  });
});
