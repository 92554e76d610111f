/**
 * Interactive streams in the CLI: `attach` (output from now on, stdin, the detach keys,
 * window size, several clients, exit codes), `run -it` detached by its keys and attached
 * again, `start -a/-i`, `run -a`, `--sig-proxy`, and clients that go away leaving nothing
 * behind. Terminals are real: util-linux `script` runs the client on a pty of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { FRAME, frame, splitFrames } from '../../src/runtime/attach.js';
import { BUSYBOX_TAR, CLI, createSandbox, hostSnapshot, type Sandbox } from '../helpers/sandbox.js';
import { onPty as onPtyIn, session, type Session } from '../helpers/session.js';

let sb: Sandbox;
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await createSandbox('tsd-attach');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000, seen?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${what}${seen ? `; seen: ${JSON.stringify(seen())}` : ''}`);
    await sleep(25);
  }
}

/** A command on a real pty (script), its keys written as typed. */
const onPty = (cmd: string): Session => onPtyIn(sb.enter, cmd);

const tsdCmd = (args: string) => `${process.execPath} ${CLI} --root ${sb.root} ${args}`;

async function state(ref: string): Promise<{ Status: string; Pid: number; ExitCode: number }> {
  const r = await sb.tsd(['inspect', '-f', '{{json .State}}', ref]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function monitorFds(ref: string): Promise<string[]> {
  const r = await sb.tsd(['inspect', '-f', '{{.State.Pid}}', ref]);
  const ppid = readFileSync(`/proc/${r.stdout.trim()}/status`, 'utf8').match(/PPid:\s+(\d+)/)![1];
  return readdirSync(`/proc/${ppid}/fd`).sort();
}

describe('attach', () => {
  it('attaches a pty: output from now on, keys in, window size, Ctrl-P Ctrl-Q detaches as Docker does (exit 1)', async () => {
    expect((await sb.tsd(['run', '-dit', '--name', 'sh1', 'busybox', 'sh'])).code).toBe(0);
    const ttyFile = `${sb.root}/attach-tty`;
    const a = onPty(`stty rows 19 cols 77; tty > ${ttyFile}; exec ${tsdCmd('attach sh1')}`);
    await until('tty file', () => existsSync(ttyFile) && readFileSync(ttyFile, 'utf8').includes('/dev/'), 30_000, a.out);
    a.write('echo hi-$((40+2)); stty size\n');
    await until('echo', () => a.out().includes('hi-42\n19 77\n'), 30_000, a.out);
    // a window-size change of the client's terminal reaches the container's pty
    const tty = readFileSync(ttyFile, 'utf8').trim();
    await sb.sh(['stty', '-F', tty, 'rows', '11', 'cols', '55']);
    a.write('stty size\n');
    await until('resize', () => a.out().includes('11 55\n'), 30_000, a.out);
    a.write('\x10\x11');
    expect(await a.closed).toBe(1);
    expect(a.out()).toContain('read escape sequence\n');
    expect((await state('sh1')).Status).toBe('running');
    // attached again with other keys; the shell's exit is attach's exit
    const b = onPty(tsdCmd('attach --detach-keys ctrl-x,y sh1'));
    await sleep(0);
    b.write('echo again\n');
    await until('again', () => b.out().includes('again\n'));
    b.write('\x18y');
    expect(await b.closed).toBe(1);
    const c = onPty(tsdCmd('attach sh1'));
    c.write('exit 7\n');
    expect(await c.closed).toBe(7);
    expect((await state('sh1')).ExitCode).toBe(7);
  });

  it('without a pty: stdin in, stdout and stderr apart, several clients at once, exit code', async () => {
    const prog = 'while read l; do echo out-$l; echo err-$l >&2; [ "$l" = end ] && exit 3; done';
    expect((await sb.tsd(['run', '-di', '--name', 'rd', 'busybox', 'sh', '-c', prog])).code).toBe(0);
    const base = await monitorFds('rd');
    const one = sb.spawnTsd(['attach', 'rd']);
    const two = sb.spawnTsd(['attach', '--no-stdin', 'rd']);
    const o1 = { out: '', err: '' };
    const o2 = { out: '', err: '' };
    one.stdout!.on('data', (d) => (o1.out += d));
    one.stderr!.on('data', (d) => (o1.err += d));
    two.stdout!.on('data', (d) => (o2.out += d));
    two.stderr!.on('data', (d) => (o2.err += d));
    const c1 = new Promise<number>((r) => one.on('close', (c) => r(c ?? -1)));
    const c2 = new Promise<number>((r) => two.on('close', (c) => r(c ?? -1)));
    // both connected: the monitor holds two more descriptors
    await until('two attached', async () => (await monitorFds('rd')).length === base.length + 2);
    one.stdin!.write('a\n');
    await until('first line', () => o1.out.includes('out-a'));
    two.stdin!.write('ignored\n'); // --no-stdin: not sent
    one.stdin!.write('b\n');
    await until('second line to both', () => o1.out.includes('out-b') && o2.out.includes('out-b'));
    one.stdin!.write('end\n');
    expect(await c1).toBe(3);
    expect(await c2).toBe(3);
    expect(o1.out).toBe('out-a\nout-b\nout-end\n');
    expect(o1.err).toBe('err-a\nerr-b\nerr-end\n');
    expect(o2.out).not.toContain('ignored');
    expect(o2.out).toContain('out-end\n');
    // the socket went with the container
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'rd'])).stdout.trim();
    expect(existsSync(`${sb.root}/run/containers/${id.slice(0, 12)}/attach.sock`)).toBe(false);
  });

  it('a client killed mid-stream leaks nothing in the monitor; the container runs on', async () => {
    expect((await sb.tsd(['run', '-dit', '--name', 'leak', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.05; done'])).code).toBe(0);
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'leak'])).stdout.trim();
    const sock = `${sb.root}/run/containers/${id.slice(0, 12)}/attach.sock`;
    expect((await sb.sh(['stat', '-c', '%a %F', sock])).stdout.trim()).toBe('600 socket');
    const idle = await monitorFds('leak');
    for (let i = 0; i < 3; i++) {
      const c = session(sb.spawnTsd(['attach', '--no-stdin', 'leak']));
      await until('ticks', () => c.out().includes('tick'));
      expect((await monitorFds('leak')).length).toBe(idle.length + 1);
      c.child.kill('SIGKILL');
      await c.closed;
    }
    await until('client fds closed', async () => (await monitorFds('leak')).join() === idle.join());
    expect((await state('leak')).Status).toBe('running');
    // and no process: the monitor's only child is still the container
    const pid = (await state('leak')).Pid;
    const ppid = readFileSync(`/proc/${pid}/status`, 'utf8').match(/PPid:\s+(\d+)/)![1];
    expect(readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim()).toBe(String(pid));
    await sb.tsd(['rm', '-f', 'leak']);
  });

  it('a container that stops reading its stdin cannot stall its monitor: input waits, output, attach and stop go on', async () => {
    const prog = 'mkfifo /tmp/f; head -c 100000 >/dev/null; echo read-done; read x </tmp/f; echo tick-$x; exec sleep 1000';
    expect((await sb.tsd(['run', '-d', '-i', '--name', 'flood', 'busybox', 'sh', '-c', prog])).code).toBe(0);
    const idle = await monitorFds('flood');
    const flood = session(sb.spawnTsd(['attach', 'flood']));
    // 64 MiB: what the container reads, then far more than its pipe, the queue and the sockets hold
    const mib = Buffer.alloc(1 << 20, 'y');
    for (let i = 0; i < 64; i++) flood.child.stdin!.write(mib);
    await until('read-done', () => flood.out().includes('read-done'), 30_000, flood.out);
    // it reads no more, the input keeps coming: the monitor still serves a second client...
    const second = session(sb.spawnTsd(['attach', '--no-stdin', 'flood']));
    await until('second attached', async () => (await monitorFds('flood')).length === idle.length + 2);
    expect((await sb.tsd(['exec', 'flood', 'sh', '-c', 'echo 7 >/tmp/f'])).code).toBe(0);
    // ...and relays the output to both
    await until('tick to the second client', () => second.out().includes('tick-7'), 30_000, second.out);
    await until('tick to the flooding client', () => flood.out().includes('tick-7'), 30_000, flood.out);
    // back-pressure reached the client too: it took from its stdin only what the queue and the sockets hold
    expect(flood.child.stdin!.writableLength).toBeGreaterThan(48 << 20);
    expect((await sb.tsd(['stop', '-t', '1', 'flood'])).code).toBe(0);
    expect(await flood.closed).toBe(137);
    expect(await second.closed).toBe(137);
    expect((await state('flood')).Status).toBe('exited');
    await sb.tsd(['rm', 'flood']);
  });

  it('the same with a pty that is never read: the monitor queues, a second client gets the output, stop works', async () => {
    expect((await sb.tsd(['run', '-dit', '--name', 'floodt', 'busybox', 'sh', '-c', 'stty -echo; echo no-echo; exec sleep 1000'])).code).toBe(0);
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'floodt'])).stdout.trim();
    const idle = await monitorFds('floodt');
    await until('stty ran', async () => (await sb.tsd(['logs', 'floodt'])).stdout.includes('no-echo'));
    const sock = net.createConnection(join(sb.root, 'run', 'containers', id.slice(0, 12), 'attach.sock'));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write('attach 1 1 1 -\n');
    const line = Buffer.alloc(16384, 'y');
    line[16383] = 10;
    for (let i = 0; i < 256; i++) sock.write(frame(FRAME.stdin, line)); // 4 MiB at a terminal nobody reads
    const second = session(sb.spawnTsd(['attach', '--no-stdin', 'floodt']));
    await until('second attached', async () => (await monitorFds('floodt')).length === idle.length + 2);
    expect((await sb.tsd(['exec', 'floodt', 'sh', '-c', 'echo tick-9 >/proc/1/fd/1'])).code).toBe(0);
    await until('tick to the second client', () => second.out().includes('tick-9'), 30_000, second.out);
    expect((await sb.tsd(['stop', '-t', '1', 'floodt'])).code).toBe(0);
    expect(await second.closed).toBe(137);
    sock.destroy();
    await sb.tsd(['rm', 'floodt']);
  });

  it('rm removes the runtime dir (the attach socket) that a killed monitor left', async () => {
    expect((await sb.tsd(['run', '-d', '--name', 'km', 'busybox', 'sleep', '300'])).code).toBe(0);
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 'km'])).stdout.trim();
    const dir = `${sb.root}/run/containers/${id.slice(0, 12)}`;
    const pid = (await state('km')).Pid;
    const mon = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/PPid:\s+(\d+)/)![1]);
    process.kill(mon, 'SIGKILL');
    await until('container gone with its monitor', async () => (await state('km')).Status !== 'running');
    expect(existsSync(`${dir}/attach.sock`)).toBe(true);
    expect((await sb.tsd(['rm', '-f', 'km'])).code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a stopped container as Docker does', async () => {
    expect((await sb.tsd(['create', '--name', 'never', 'busybox', 'true'])).code).toBe(0);
    const r = await sb.tsd(['attach', 'never']);
    expect(r.stderr).toContain('You cannot attach to a stopped container, start it first');
    expect(r.code).toBe(1);
    const k = await sb.tsd(['attach', '--detach-keys', 'ctrl-1', 'never']);
    expect(k.code).toBe(1);
  });
});

describe('run -it, start -a/-i, run -a, --sig-proxy', () => {
  it('run -it detaches on Ctrl-P Ctrl-Q (exit 0, the container runs on) and attach gets it back', async () => {
    const r = onPty(tsdCmd('run -it --name fg1 busybox sh'));
    r.write('echo first-$((1+1))\n');
    await until('first', () => r.out().includes('first-2\n'));
    r.write('\x10\x11');
    expect(await r.closed).toBe(0);
    expect((await state('fg1')).Status).toBe('running');
    const a = onPty(tsdCmd('attach fg1'));
    await sleep(0);
    a.write('echo back-$((2+3))\n');
    await until('back', () => a.out().includes('back-5\n'));
    a.write('exit 4\n');
    expect(await a.closed).toBe(4);
    // --detach-keys on run
    const k = onPty(tsdCmd('run -it --rm --detach-keys ctrl-a --name fg2 busybox sh'));
    k.write('echo k-ready\n');
    await until('k-ready', () => k.out().includes('k-ready\n'));
    k.write('\x01');
    expect(await k.closed).toBe(0);
    expect((await state('fg2')).Status).toBe('running');
    await sb.tsd(['kill', 'fg2']);
    await until('--rm removed it after the exit', async () => (await sb.tsd(['inspect', 'fg2'])).code !== 0);
  });

  it('start -a attaches before the start (nothing missed) and exits with the status; several at once are refused', async () => {
    expect((await sb.tsd(['create', '--name', 's1', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 5'])).code).toBe(0);
    const r = await sb.tsd(['start', '-a', 's1']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(5);
    expect((await sb.tsd(['create', '-i', '--name', 's2', 'busybox', 'sh', '-c', 'read l; echo got-$l; exit 2'])).code).toBe(0);
    // stopped again: start -a runs it once more
    expect((await sb.tsd(['start', '-a', 's1'])).stdout).toBe('out\n');
    const two = await sb.tsd(['start', '-a', 's1', 's2']);
    expect(two.stderr).toContain('you cannot start and attach multiple containers at once');
    expect(two.code).toBe(1);
  });

  // The race this guards (once 1 run in 4): `sh -c 'read l'` exits on its line, before the
  // client's close frame; a monitor that closed the client at the exit made that late write
  // fail (EPIPE) and Node drop what it had not read yet: the output and the exit.
  it('start -ai takes stdin that ends at once (a pipe) and exits with the status, every time', async () => {
    for (let k = 0; k < 6; k++) {
      const line = k % 2 === 0;
      const prog = line ? ['sh', '-c', 'read l; echo got-$l; exit 2'] : ['cat'];
      expect((await sb.tsd(['create', '-i', '--name', `s3-${k}`, 'busybox', ...prog])).code).toBe(0);
      const i = await sb.tsd(['start', '-ai', `s3-${k}`], { input: 'zz\n' });
      expect({ k, stdout: i.stdout, stderr: i.stderr, code: i.code }).toEqual({ k, stdout: line ? 'got-zz\n' : 'zz\n', stderr: '', code: line ? 2 : 0 });
    }
  });

  it('start -ai passes a stdin larger than the queue whole and in order to a container that reads it late', async () => {
    const input = Array.from({ length: 300_000 }, (_, i) => `line ${i}\n`).join(''); // 3.4 MB
    expect((await sb.tsd(['create', '-i', '--name', 's5', 'busybox', 'sh', '-c', 'sleep 1; md5sum'])).code).toBe(0);
    const r = await sb.tsd(['start', '-ai', 's5'], { input });
    expect({ out: r.stdout, code: r.code }).toEqual({ out: `${createHash('md5').update(input).digest('hex')}  -\n`, code: 0 });
  });

  it('a client that writes after the exit, before it read the end, still gets the output and the exit', async () => {
    expect((await sb.tsd(['create', '-i', '--name', 's4', 'busybox', 'sh', '-c', 'read l; echo got-$l; exit 3'])).code).toBe(0);
    expect((await sb.tsd(['start', 's4'])).code).toBe(0);
    const id = (await sb.tsd(['inspect', '-f', '{{.Id}}', 's4'])).stdout.trim();
    const path = join(sb.root, 'run', 'containers', id.slice(0, 12), 'attach.sock');
    const sock = net.createConnection(path);
    await new Promise((r) => sock.once('connect', r));
    let writeError = '';
    sock.on('error', (e: NodeJS.ErrnoException) => (writeError = e.code ?? String(e)));
    const got: string[] = [];
    let rest: Buffer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (rest = splitFrames(Buffer.concat([rest, d]), (t, p) => got.push(`${t}:${p.toString()}`))));
    sock.write(Buffer.concat([Buffer.from('attach 1 1 1 -\n'), frame(FRAME.stdin, Buffer.from('zz\n'))]));
    // our event loop held (as a busy client's is) until the monitor has finished with us (its
    // socket file goes then): all it sent is still unread in our socket when we write again
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; existsSync(path); i++) {
      if (i > 6000) throw new Error('the container did not exit');
      Atomics.wait(nap, 0, 0, 5);
    }
    sock.write(frame(FRAME.closeStdin, Buffer.alloc(0)));
    await new Promise((r) => sock.once('close', r));
    expect({ got, writeError }).toEqual({ got: ['1:got-zz\n', '5:exit 3'], writeError: '' });
  });

  it('run -a attaches only the streams named; -a with -d and a bad stream are refused', async () => {
    const r = await sb.tsd(['run', '--rm', '-a', 'stderr', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('err\n');
    const o = await sb.tsd(['run', '--rm', '-a', 'STDOUT', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(o.stdout).toBe('out\n');
    expect(o.stderr).toBe('');
    const d = await sb.tsd(['run', '-d', '-a', 'stdout', 'busybox', 'true']);
    expect(d.stderr).toContain('Conflicting options: -a and -d');
    expect(d.code).toBe(125);
    const b = await sb.tsd(['run', '-a', 'stdfoo', 'busybox', 'true']);
    expect(b.stderr).toContain('invalid argument "stdfoo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR');
    expect(b.code).toBe(125);
    const k = await sb.tsd(['run', '-it', '--detach-keys', 'ctrl-1', 'busybox', 'true']);
    expect(k.code).not.toBe(0);
  });

  it('--sig-proxy: signals reach the container by default, and not with --sig-proxy=false', async () => {
    const prog = 'trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.05; done';
    const on = session(sb.spawnTsd(['run', '--name', 'sp1', 'busybox', 'sh', '-c', prog]));
    await until('ready', () => on.out().includes('ready'), 30_000, on.out);
    on.child.kill('SIGTERM');
    expect(await on.closed).toBe(9);
    expect(on.out()).toContain('got-term');
    const off = session(sb.spawnTsd(['run', '--sig-proxy=false', '--name', 'sp2', 'busybox', 'sh', '-c', prog]));
    await until('ready', () => off.out().includes('ready'), 30_000, off.out);
    off.child.kill('SIGTERM');
    await off.closed;
    expect(off.out()).not.toContain('got-term');
    expect((await state('sp2')).Status).toBe('running');
    // attach forwards too (no pty), unless --sig-proxy=false
    const idle = await monitorFds('sp2');
    const a = session(sb.spawnTsd(['attach', 'sp2']));
    await until('attached', async () => (await monitorFds('sp2')).length === idle.length + 1);
    a.child.kill('SIGTERM');
    expect(await a.closed).toBe(9);
    expect(a.out()).toContain('got-term');
    await sb.tsd(['rm', '-f', 'sp1', 'sp2']);
  });
});

