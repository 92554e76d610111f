/**
 * Detached containers and their lifecycle: logs, exec, stop/kill/rm/start/wait, signals,
 * ptys, concurrent runs, and a monitor that dies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, hostSnapshot, run, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sb = await createSandbox('tsd-life');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

async function inspect(ref: string): Promise<Record<string, any>> {
  const r = await sb.tsd(['inspect', ref]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0];
}

async function until(fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('detached containers', () => {
  it('-d prints the id at once and the output goes to logs (stdout and stderr apart)', async () => {
    const r = await sb.tsd(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo one; echo two >&2; echo three; sleep 30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    await until(async () => (await sb.tsd(['logs', 'talker'])).stdout.includes('three'));
    const logs = await sb.tsd(['logs', 'talker']);
    expect(logs.stdout).toBe('one\nthree\n');
    expect(logs.stderr).toBe('two\n');
    const ts = await sb.tsd(['logs', '-t', 'talker']);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z one\n/);
  });

  it('logs -f follows until the container exits', async () => {
    await sb.tsd(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.2; done']);
    const r = await sb.tsd(['logs', '-f', 'counter'], { timeoutMs: 10_000 });
    expect(r.stdout).toBe('1\n2\n3\n');
    expect((await sb.tsd(['logs', '--tail', '2', 'counter'])).stdout).toBe('2\n3\n');
    expect((await sb.tsd(['logs', '--tail', '0', 'counter'])).stdout).toBe('');
    await sb.tsd(['rm', 'counter']);
  });

  it('ps shows it running, inspect shows its pid and state', async () => {
    const ps = (await sb.tsd(['ps', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(ps.find((p) => p.Names === 'talker')?.State).toBe('running');
    const info = await inspect('talker');
    expect(info.State.Running).toBe(true);
    expect(info.State.Pid).toBeGreaterThan(1);
    expect(readFileSync(`/proc/${info.State.Pid}/status`, 'utf8')).toMatch(/NSpid:\s+\d+\s+1\n/);
  });

  it('exec joins all of its namespaces and returns the command status', async () => {
    const talker = await inspect('talker');
    const r = await sb.tsd(['exec', 'talker', 'sh', '-c', 'hostname; ps -o pid,args | awk \'$1 == 1 { print $2, $3 }\'; exit 4']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe(`${talker.Id.slice(0, 12)}\nsleep 30\n`); // sh execs its last command
    const env = await sb.tsd(['exec', '-e', 'X=y', '-w', '/tmp', '-u', '99', 'talker', 'sh', '-c', 'echo $X $(pwd) $(id -u)']);
    expect(env.stdout).toBe('y /tmp 99\n');
    const nf = await sb.tsd(['exec', 'talker', 'nosuch']);
    expect(nf.code).toBe(126); // Docker's exec: 126 (run's is 127)
    const stdin = await sb.tsd(['exec', '-i', 'talker', 'cat'], { input: 'piped\n' });
    expect(stdin.stdout).toBe('piped\n');
  });

  it('stop sends SIGTERM then SIGKILL after -t; the status is derived, not stored', async () => {
    const t0 = Date.now();
    const r = await sb.tsd(['stop', '-t', '1', 'talker']);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // sleep as pid 1 ignores SIGTERM
    const info = await inspect('talker');
    expect(info.State.Status).toBe('exited');
    expect(info.State.ExitCode).toBe(137);
    const ex = await sb.tsd(['exec', 'talker', 'true']);
    expect(ex.code).toBe(1); // Docker: "Container ... is not running", exit 1
    expect(ex.stderr).toMatch(/is not running/);
  });

  it('start runs a stopped container again, with its filesystem kept', async () => {
    await sb.tsd(['run', '--name', 'keeper', 'busybox', 'sh', '-c', 'echo x >> /data.txt; wc -l < /data.txt; sleep 1']);
    expect((await sb.tsd(['start', 'keeper'])).code).toBe(0);
    expect((await sb.tsd(['wait', 'keeper'])).stdout.trim()).toBe('0');
    expect((await sb.tsd(['logs', 'keeper'])).stdout).toBe('1\n2\n'); // the foreground run's log is kept, as Docker's
    await sb.tsd(['rm', 'keeper']);
  });

  it('create makes a container that start runs later', async () => {
    const id = (await sb.tsd(['create', '--name', 'later', 'busybox', 'sh', '-c', 'echo ran-as-$(hostname)'])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await inspect('later')).State.Status).toBe('created');
    expect((await sb.tsd(['logs', 'later'])).stdout).toBe(''); // nothing ran yet
    expect((await sb.tsd(['start', 'later'])).code).toBe(0);
    expect((await sb.tsd(['wait', 'later'])).stdout.trim()).toBe('0');
    expect((await sb.tsd(['logs', 'later'])).stdout).toBe(`ran-as-${id.slice(0, 12)}\n`);
    expect((await inspect('later')).State.Status).toBe('exited');
    await sb.tsd(['rm', 'later']);
  });

  it('kill -s delivers the signal to a handler in the container', async () => {
    await sb.tsd(['run', '-d', '--name', 'trapper', 'busybox', 'sh', '-c', 'trap "echo got USR1; exit 9" USR1; while true; do sleep 0.1; done']);
    await sleep(200);
    expect((await sb.tsd(['kill', '-s', 'USR1', 'trapper'])).code).toBe(0);
    expect((await sb.tsd(['wait', 'trapper'])).stdout.trim()).toBe('9');
    expect((await sb.tsd(['logs', 'trapper'])).stdout).toBe('got USR1\n');
    const bad = await sb.tsd(['kill', '-s', 'NOPE', 'trapper']);
    expect(bad.code).toBe(1); // Docker: "Invalid signal: NOPE" from the daemon, exit 1
    await sb.tsd(['rm', 'trapper']);
  });

  it('stop cleans up itself, so the monitor execs no exit hook; after a kill it does', async () => {
    // strace -f follows the monitor from the run that starts it, past its double fork, and
    // ends when the monitor has (hook or not)
    for (const [how, hooks] of [['stop', 0], ['kill', 1]] as const) {
      const trace = join(sb.root, `hook-${how}.strace`);
      const tracer = spawn(sb.enter[0]!, [...sb.enter.slice(1), 'strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, process.execPath, CLI, '--root', sb.root,
        'run', '-d', '--name', `hook-${how}`, 'busybox', 'sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait'], {
        stdio: 'ignore', env: { ...process.env, TSDOCKER_CGROUP_PARENT: `tsdocker-test-${basename(sb.root)}` },
      });
      const traced = new Promise((r) => tracer.once('exit', r));
      await until(async () => (await sb.tsd(['inspect', '-f', '{{.State.Running}}', `hook-${how}`])).stdout.trim() === 'true', 20_000);
      expect((await sb.tsd([how, `hook-${how}`])).code).toBe(0);
      await traced;
      const execs = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('execve(') && l.includes('"internal", "cleanup"'));
      expect(execs.length, `${how}: ${execs.join('\n')}`).toBe(hooks);
      expect((await inspect(`hook-${how}`)).State.Status).toBe('exited');
      await sb.tsd(['rm', `hook-${how}`]);
    }
  });

  it('rm refuses a running container without -f, and -f kills it', async () => {
    const id = (await sb.tsd(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    const r = await sb.tsd(['rm', id.slice(0, 10)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/container is running/);
    expect((await sb.tsd(['rm', '-f', id.slice(0, 10)])).code).toBe(0);
    expect((await sb.tsd(['ps', '-aq'])).stdout).not.toContain(id.slice(0, 12));
  });

  it('a container whose monitor died shows as exited, never as running', async () => {
    const id = (await sb.tsd(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    const info = await inspect(id);
    const monitorPid = info.Monitor.Pid;
    expect(readFileSync(`/proc/${monitorPid}/comm`, 'utf8').trim()).toBe('tsd-monitor');
    process.kill(monitorPid, 'SIGKILL');
    await until(async () => (await inspect(id)).State.Status === 'exited');
    // and the container died with it (PDEATHSIG): no process of it is left
    await until(async () => {
      try {
        readFileSync(`/proc/${info.State.Pid}/stat`);
        return false;
      } catch {
        return true;
      }
    });
    await sb.tsd(['rm', id]);
  });

  it('container prune removes every stopped container', async () => {
    await sb.tsd(['run', 'busybox', 'true']);
    await sb.tsd(['run', 'busybox', 'true']);
    const r = await sb.tsd(['container', 'prune', '-f']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Deleted Containers:/);
    expect((await sb.tsd(['ps', '-aq'])).stdout.trim()).toBe('');
  });
});

describe('foreground signals and ptys', () => {
  it('signals sent to tsdocker reach the container', async () => {
    const child = sb.spawnTsd(['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo term; exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
    const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await until(async () => out.includes('ready'));
    child.kill('SIGTERM');
    const code = await closed;
    expect(out).toBe('ready\nterm\n');
    expect(code).toBe(7);
  });

  it('three Ctrl-C stop a container whose pid 1 ignores SIGINT', async () => {
    const child = sb.spawnTsd(['run', '--rm', 'busybox', 'sleep', '30']);
    const closed = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    await until(async () => (await sb.tsd(['ps', '-q'])).stdout.trim() !== '');
    for (let i = 0; i < 3; i++) {
      child.kill('SIGINT');
      await sleep(100);
    }
    const code = await closed;
    expect(code).toBe(137);
  });

  it('-t gives a real pty with the window size; -it runs an interactive shell with job control', async () => {
    const cmd = `stty cols 91 rows 27; ${process.execPath} ${CLI} --root ${sb.root} run --rm -t busybox sh -c 'tty; stty size'`;
    const r = await run([...sb.enter, 'script', '-qec', cmd, '/dev/null']);
    expect(r.stdout.replace(/\r/g, ''), `stderr: ${r.stderr}`).toContain('/dev/pts/0\n27 91\n');
    const sh = `${process.execPath} ${CLI} --root ${sb.root} run --rm -it busybox sh`;
    const input = 'sleep 5 &\njobs\nkill %1\nexit 3\n';
    const j = await run([...sb.enter, 'script', '-qec', sh, '/dev/null'], { input, timeoutMs: 20_000 });
    expect(j.stdout, `stderr: ${j.stderr}`).toMatch(/\[1\]\+\s+Running\s+sleep 5/);
    expect(j.code).toBe(3);
  });

  it('exec -it: a pty with the window size, an interactive shell, and its exit status', async () => {
    expect((await sb.tsd(['run', '-d', '--name', 'ttyhost', 'busybox', 'sleep', '300'])).code).toBe(0);
    const cmd = `stty cols 83 rows 21; ${process.execPath} ${CLI} --root ${sb.root} exec -it ttyhost sh`;
    const input = 'tty; stty size; echo sum-$((40+2))\nexit 4\n';
    const r = await run([...sb.enter, 'script', '-qec', cmd, '/dev/null'], { input, timeoutMs: 20_000 });
    const out = r.stdout.replace(/\r/g, '');
    expect(out, `stderr: ${r.stderr}`).toMatch(/\/dev\/pts\/\d+\n21 83\n/);
    expect(out).toContain('sum-42\n');
    expect(r.code).toBe(4);
    // without -t the same exec has no terminal
    const plain = await sb.tsd(['exec', '-i', 'ttyhost', 'sh', '-c', 'tty; exit 5'], { input: '' });
    expect(plain.stdout).toBe('not a tty\n');
    expect(plain.code).toBe(5);
    await sb.tsd(['rm', '-f', 'ttyhost']);
  });
});

describe('concurrency', () => {
  it('runs started at the same moment get distinct names and never corrupt state', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => sb.tsd(['run', '-d', 'busybox', 'sleep', '30'])));
    expect(runs.map((r) => r.code)).toEqual(Array(8).fill(0));
    const ps = (await sb.tsd(['ps', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(ps.map((p) => p.Names)).size).toBe(ps.length);
    expect(ps.length).toBeGreaterThanOrEqual(8);
    const rm = await sb.tsd(['rm', '-f', ...runs.map((r) => r.stdout.trim())]);
    expect(rm.code, rm.stderr).toBe(0);
  });

  it('two runs racing for one name: exactly one wins', async () => {
    const runs = await Promise.all([0, 1, 2].map(() => sb.tsd(['run', '-d', '--name', 'contested', 'busybox', 'sleep', '30'])));
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    expect(runs.filter((r) => r.code === 125 && /already in use/.test(r.stderr))).toHaveLength(2);
    await sb.tsd(['rm', '-f', 'contested']);
  });
});

describe('nothing left behind', () => {
  it('after rm there is no monitor, no container process and no state', async () => {
    await sb.tsd(['rm', '-f', 'talker']);
    const ids = (await sb.tsd(['ps', '-aq'])).stdout.trim();
    expect(ids).toBe('');
    const procs = (await run(['pgrep', '-x', 'tsd-monitor'])).stdout.trim().split('\n').filter(Boolean);
    for (const p of procs) {
      // monitors of other roots (other test files, benches) may exist; none of ours
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      expect(cmdline).not.toContain(sb.root);
    }
  });
});
