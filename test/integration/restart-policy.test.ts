/**
 * --restart policies, applied by the container's native monitor after each exit (nothing
 * else stays resident), compared with Docker 20.10: docker/cli's and moby's refusals, the
 * restart manager's rules (always, unless-stopped, on-failure[:N], the back-off of 100 ms
 * doubling, reset after 10 s of running), and stop/kill/start/restart/rm with a policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type Sandbox } from '../helpers/sandbox.js';
import { inspectIn, sandboxProcesses as watchProcesses, until } from '../helpers/watch.js';

let sb: Sandbox;
const before = hostSnapshot();

beforeAll(async () => {
  sb = await createSandbox('tsd-restart');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

const inspect = (ref: string) => inspectIn(sb, ref);

const sandboxProcesses = () => watchProcesses(sb);

const monitorsOf = (id: string) => sandboxProcesses().filter((a) => a[0] === 'tsdocker-monitor' && a.some((x) => x.includes(id)));
const restartRecord = (id: string) => JSON.parse(readFileSync(join(sb.root, 'containers', id, 'restart.json'), 'utf8'));
/** A signal to one process this test started (never 0 or 1: process.kill(0) would hit our own group). */
function killPid(pid: number, sig: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}`);
  process.kill(pid, sig);
}

const monitorPid = (id: string): number => {
  try {
    return JSON.parse(readFileSync(join(sb.root, 'containers', id, 'state.json'), 'utf8')).monitorPid;
  } catch {
    return 0; // a restart is replacing it
  }
};
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/**
 * Catch the monitor in its back-off wait and SIGSTOP it there (a process this test started),
 * so what ps, inspect and rm see of a restarting container does not depend on how long the
 * wait lasts. Returns its pid; SIGCONT lets it go on.
 */
async function freezeInBackoff(ref: string): Promise<number> {
  for (;;) {
    await until('restarting', async () => (await inspect(ref)).State.Restarting === true, 60_000);
    const pid = monitorPid((await inspect(ref)).Id);
    if (!(pid > 1) || comm(pid) !== 'tsd-monitor') continue;
    killPid(pid, 'SIGSTOP');
    if ((await inspect(ref)).State.Restarting && comm(pid) === 'tsd-monitor') return pid;
    killPid(pid, 'SIGCONT');
  }
}

const status = async (ref: string) => (await sb.tsd(['ps', '-a', '--filter', `name=^${ref}$`, '--format', '{{.Status}}'])).stdout.trim();

describe('--restart: refused as Docker refuses it', () => {
  it.each([
    [['--restart', 'always', '--rm'], 'Conflicting options: --restart and --rm'],
    [['--restart', 'on-failure', '--rm'], 'Conflicting options: --restart and --rm'],
    [['--restart', 'sometimes'], "invalid restart policy 'sometimes'"],
    [['--restart', 'always:3'], "maximum retry count cannot be used with restart policy 'always'"],
    [['--restart', 'on-failure:x'], 'maximum retry count must be an integer'],
    [['--restart', 'on-failure:-1'], 'maximum retry count cannot be negative'],
    [['--restart', 'on-failure:1:2'], 'invalid restart policy format'],
  ])('run %j: exit 125, nothing created', async (flags, message) => {
    const r = await sb.tsd(['run', '-d', ...flags, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(`tsdocker: ${message}`);
    expect((await sb.tsd(['ps', '-aq'])).stdout).toBe('');
  });

  it('--restart no and --rm go together; inspect shows the policy', async () => {
    const id = (await sb.tsd(['create', '--restart', 'no', '--rm', 'busybox', 'true'])).stdout.trim();
    expect((await inspect(id)).HostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
    await sb.tsd(['rm', id]);
    const c = (await sb.tsd(['create', '--restart', 'on-failure:4', 'busybox', 'true'])).stdout.trim();
    const i = await inspect(c);
    expect(i.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 4 });
    expect([i.RestartCount, i.State.Restarting]).toEqual([0, false]);
    const d = (await sb.tsd(['create', 'busybox', 'true'])).stdout.trim();
    expect((await inspect(d)).HostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
    await sb.tsd(['rm', c, d]);
  });
});

describe('the monitor restarts the container', () => {
  it('always: the policy outlives the CLI; RestartCount grows and it runs again, with no tsdocker process between restarts', async () => {
    // exits 3 twice, then stays up (its /tmp lives in the container's own layer across restarts)
    const cmd = 'echo run >> /tmp/runs; [ $(wc -l < /tmp/runs) -ge 3 ] && exec sleep 1000; exit 3';
    const r = await sb.tsd(['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c', cmd]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    await until('running after two restarts', async () => {
      const i = await inspect('phoenix');
      return i.State.Status === 'running' && i.RestartCount === 2;
    });
    const i = await inspect('phoenix');
    expect([i.State.Running, i.State.Restarting, i.RestartCount]).toEqual([true, false, 2]);
    expect((await status('phoenix'))).toMatch(/^Up /);
    // only the monitor of the third run stays: the tsdocker that restarted it has gone
    await until('only the monitor', async () => sandboxProcesses().filter((a) => a[0] !== 'tsdocker-monitor').length === 0);
    expect(monitorsOf(id)).toHaveLength(1);
    // stop: stopped for good
    expect((await sb.tsd(['stop', '-t', '1', 'phoenix'])).code).toBe(0);
    const s = await inspect('phoenix');
    expect([s.State.Status, s.State.Running, s.State.Restarting]).toEqual(['exited', false, false]);
    await until('nobody left who could restart it', async () => monitorsOf(id).length === 0);
    expect((await inspect('phoenix')).State.Status).toBe('exited');
    // start arms the policy again, RestartCount from 0 (Docker's ResetRestartManager); a crash restarts it
    expect((await sb.tsd(['start', 'phoenix'])).code).toBe(0);
    const pid = (await inspect('phoenix')).State.Pid;
    expect((await inspect('phoenix')).RestartCount).toBe(0);
    killPid(pid, 'SIGKILL');
    await until('restarted after the crash', async () => {
      const x = await inspect('phoenix');
      return x.State.Status === 'running' && x.State.Pid !== pid && x.RestartCount === 1;
    });
    // `restart` resets the count too and keeps the policy
    expect((await sb.tsd(['restart', '-t', '1', 'phoenix'])).code).toBe(0);
    const after = await inspect('phoenix');
    expect([after.State.Status, after.RestartCount]).toEqual(['running', 0]);
    killPid(after.State.Pid, 'SIGKILL');
    await until('restarted again', async () => (await inspect('phoenix')).RestartCount === 1 && (await inspect('phoenix')).State.Status === 'running');
    // kill (SIGKILL) cancels the policy as Docker's does
    expect((await sb.tsd(['kill', 'phoenix'])).code).toBe(0);
    await until('exited', async () => (await inspect('phoenix')).State.Status === 'exited');
    await until('monitor gone', async () => monitorsOf(id).length === 0);
    expect((await inspect('phoenix')).State.Status).toBe('exited');
    await sb.tsd(['rm', 'phoenix']);
  });

  it('the back-off: 100 ms doubling; ps and inspect show the wait as Docker does; stop and rm during it', async () => {
    const id = (await sb.tsd(['run', '-d', '--name', 'flappy', '--restart', 'unless-stopped', 'busybox', 'sh', '-c', 'exit 3'])).stdout.trim();
    const frozen = await freezeInBackoff('flappy');
    expect(await status('flappy')).toMatch(/^Restarting \(3\) (Less than a second|\d+ seconds?) ago$/);
    const i = await inspect('flappy');
    expect([i.State.Status, i.State.Running, i.State.Restarting, i.State.Pid, i.State.ExitCode]).toEqual(['restarting', true, true, 0, 3]);
    const rec = restartRecord(id);
    expect(rec.count).toBe(i.RestartCount);
    expect(rec.timeoutMs).toBe(Math.min(100 * 2 ** (rec.count - 1), 60_000));
    // a restarting container is listed without -a and with status=restarting
    expect((await sb.tsd(['ps', '--filter', 'status=restarting', '--format', '{{.Names}}'])).stdout).toBe('flappy\n');
    // rm without -f is refused (Docker's message, exit 1 as a daemon-side error)
    const rm = await sb.tsd(['rm', 'flappy']);
    expect(rm.stderr.split('\n')[0]).toBe(`tsdocker: You cannot remove a restarting container ${id}. Stop the container before attempting removal or force remove`);
    expect(rm.code).toBe(1);
    // stop during the wait (the monitor goes on once stop has marked it): no more restarts
    const stop = sb.spawnTsd(['stop', 'flappy']);
    await until('stop marked it', async () => existsSync(join(sb.root, 'containers', id, '.stopped')));
    killPid(frozen, 'SIGCONT');
    expect(await new Promise((r) => stop.once('exit', r))).toBe(0);
    const s = await inspect('flappy');
    expect([s.State.Status, s.State.Restarting, s.State.ExitCode]).toEqual(['exited', false, 3]);
    await until('monitor gone', async () => monitorsOf(id).length === 0);
    expect(await status('flappy')).toMatch(/^Exited \(3\) /);
    // start: restarting again; rm -f during a wait removes it
    expect((await sb.tsd(['start', 'flappy'])).code).toBe(0);
    await freezeInBackoff('flappy');
    expect((await sb.tsd(['rm', '-f', 'flappy'])).code).toBe(0);
    await until('monitor gone', async () => monitorsOf(id).length === 0);
    expect((await sb.tsd(['ps', '-aq'])).stdout).toBe('');
  });

  it('the back-off goes back to 100 ms after a run of 10 s', async () => {
    // fails fast three times, then runs 11 s and fails once more, then stays up
    const cmd = 'echo run >> /tmp/runs; n=$(wc -l < /tmp/runs); [ $n -eq 4 ] && sleep 11; [ $n -ge 5 ] && exec sleep 1000; exit 1';
    const id = (await sb.tsd(['run', '-d', '--name', 'patient', '--restart', 'on-failure:4', 'busybox', 'sh', '-c', cmd])).stdout.trim();
    await until('three quick restarts', async () => (await inspect('patient')).RestartCount === 3 && (await inspect('patient')).State.Status === 'running');
    expect(restartRecord(id).timeoutMs).toBe(400);
    await until('the fourth restart', async () => (await inspect('patient')).RestartCount === 4 && (await inspect('patient')).State.Status === 'running', 60_000);
    expect(restartRecord(id).timeoutMs).toBe(100);
    // on-failure:4: after four restarts a crash is not restarted
    killPid((await inspect('patient')).State.Pid, 'SIGKILL');
    await until('given up', async () => (await inspect('patient')).State.Status === 'exited' && monitorsOf(id).length === 0, 60_000);
    const i = await inspect('patient');
    expect([i.RestartCount, i.State.ExitCode, i.State.Restarting]).toEqual([4, 137, false]);
    await sb.tsd(['rm', 'patient']);
  }, 120_000);

  it('on-failure: not after exit 0; a foreground run returns the first status and leaves the restart to the monitor', async () => {
    const ok = (await sb.tsd(['run', '-d', '--restart', 'on-failure', 'busybox', 'true'])).stdout.trim();
    await until('exited', async () => (await inspect(ok)).State.Status === 'exited' && monitorsOf(ok).length === 0);
    expect((await inspect(ok)).RestartCount).toBe(0);
    const fg = await sb.tsd(['run', '--name', 'fg', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 4']);
    expect(fg.code).toBe(4);
    await until('two restarts, then exited', async () => {
      const i = await inspect('fg');
      return i.RestartCount === 2 && i.State.Status === 'exited' && monitorsOf(i.Id).length === 0;
    });
    expect((await inspect('fg')).State.ExitCode).toBe(4);
    await sb.tsd(['rm', ok, 'fg']);
  });

  it('kill: the stop signal (any signal without one) cancels the policy, another signal does not', async () => {
    const trap = 'trap "exit 7" USR1; trap "exit 8" USR2; echo ready; sleep 1000 & wait; sleep 1000 & wait';
    await sb.tsd(['run', '-d', '--name', 'plain', '--restart', 'always', 'busybox', 'sh', '-c', trap]);
    await sb.tsd(['run', '-d', '--name', 'signalled', '--restart', 'always', '--stop-signal', 'USR2', 'busybox', 'sh', '-c', trap]);
    for (const n of ['plain', 'signalled']) await until(`${n} traps set`, async () => (await sb.tsd(['logs', n])).stdout === 'ready\n');
    // no stop signal: kill -s USR1 is a stop by hand
    expect((await sb.tsd(['kill', '-s', 'USR1', 'plain'])).code).toBe(0);
    await until('plain exited', async () => (await inspect('plain')).State.Status === 'exited' && monitorsOf((await inspect('plain')).Id).length === 0);
    expect([(await inspect('plain')).State.ExitCode, (await inspect('plain')).RestartCount]).toEqual([7, 0]);
    // with a stop signal (USR2), USR1 is just a signal: the container exits and is restarted
    const pid = (await inspect('signalled')).State.Pid;
    expect((await sb.tsd(['kill', '-s', 'USR1', 'signalled'])).code).toBe(0);
    await until('restarted', async () => {
      const i = await inspect('signalled');
      return i.RestartCount === 1 && i.State.Status === 'running' && i.State.Pid !== pid;
    });
    await sb.tsd(['rm', '-f', 'plain', 'signalled']);
  });

  it('update --restart: a running container takes the new policy from its next exit; refused for --rm', async () => {
    await sb.tsd(['run', '-d', '--name', 'later', 'busybox', 'sleep', '1000']);
    const up = await sb.tsd(['update', '--restart', 'on-failure:3', 'later']);
    expect([up.code, up.stdout]).toEqual([0, 'later\n']);
    const i = await inspect('later');
    expect(i.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    // a crash (not a stop by hand): restarted under the new policy
    killPid(i.State.Pid, 'SIGKILL');
    await until('restarted', async () => {
      const x = await inspect('later');
      return x.RestartCount === 1 && x.State.Status === 'running' && x.State.Pid !== i.State.Pid;
    });
    // and back to no: the next crash is final
    expect((await sb.tsd(['update', '--restart', 'no', 'later'])).code).toBe(0);
    const pid = (await inspect('later')).State.Pid;
    killPid(pid, 'SIGKILL');
    await until('exited', async () => (await inspect('later')).State.Status === 'exited' && monitorsOf((await inspect('later')).Id).length === 0);
    expect([(await inspect('later')).RestartCount, (await inspect('later')).HostConfig.RestartPolicy]).toEqual([1, { Name: 'no', MaximumRetryCount: 0 }]);
    const bad = await sb.tsd(['update', '--restart', 'bogus', 'later']);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([1, "tsdocker: invalid restart policy 'bogus'"]);
    const id = (await sb.tsd(['run', '-d', '--rm', 'busybox', 'sleep', '1000'])).stdout.trim();
    const rm = await sb.tsd(['update', '--restart', 'always', id]);
    expect([rm.code, rm.stderr.split('\n')[0]]).toEqual([1, `tsdocker: Cannot update container ${id}: Restart policy cannot be updated because AutoRemove is enabled for the container`]);
    expect((await sb.tsd(['update', '--restart', 'no', id])).code).toBe(0);
    await sb.tsd(['rm', '-f', 'later', id]);
  });

  it('start --all-restart (a boot unit): always and unless-stopped come back as at a dockerd start, on-failure and stopped unless-stopped do not', async () => {
    const names = ['b-always', 'b-always-stopped', 'b-unless', 'b-unless-stopped', 'b-onfail'];
    const policies = ['always', 'always', 'unless-stopped', 'unless-stopped', 'on-failure'];
    for (const [i, n] of names.entries()) await sb.tsd(['run', '-d', '--name', n, '--restart', policies[i]!, 'busybox', 'sleep', '1000']);
    for (const n of ['b-always-stopped', 'b-unless-stopped']) expect((await sb.tsd(['stop', '-t', '0', n])).code).toBe(0);
    // the host goes down: every monitor dies with its container, nothing restarts anything
    for (const n of names) {
      const i = await inspect(n);
      if (i.State.Status === 'running') killPid(monitorPid(i.Id), 'SIGKILL');
    }
    for (const n of names) await until(`${n} down`, async () => (await inspect(n)).State.Status === 'exited' && monitorsOf((await inspect(n)).Id).length === 0);
    const boot = await sb.tsd(['start', '--all-restart']);
    expect(boot.code, boot.stderr).toBe(0);
    expect(boot.stdout.split('\n').filter(Boolean).sort()).toEqual(['b-always', 'b-always-stopped', 'b-unless']);
    const states = await Promise.all(names.map(async (n) => (await inspect(n)).State.Status));
    expect(states).toEqual(['running', 'running', 'running', 'exited', 'exited']);
    const none = await sb.tsd(['start']);
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([1, 'tsdocker: "tsdocker start" requires at least 1 argument.']);
    await sb.tsd(['rm', '-f', ...names]);
  });
});
