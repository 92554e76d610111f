/**
 * Docker parity, part 2 (issue 13): rename, pause/unpause, top, restart, each compared with
 * what Docker 20.10 prints or returns for the same command; the expected output is written here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerSaveClassic } from '../helpers/archives.js';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';
import { detectLayout } from '../../src/runtime/cgroups/layout.js';

let sb: Sandbox;
const before = hostSnapshot();
const tsd = (args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> => sb.tsd(args, env ? { env } : undefined);
const ok = async (args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
  const r = await tsd(args, env);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const fmt = async (format: string, ref: string, env?: NodeJS.ProcessEnv) => (await ok(['inspect', '--format', format, ref], env)).trim();
const idOf = (ref: string) => fmt('{{.Id}}', ref);

beforeAll(async () => {
  sb = await createSandbox('tsd-cmds');
  await ok(['load', '-i', BUSYBOX_TAR]);
  await ok(['network', 'create', 'names']);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('rename', () => {
  it('renames, refuses what Docker refuses, and the DNS name follows on a user network', async () => {
    await ok(['run', '-d', '--name', 'asker', '--network', 'names', 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', 'old', '--network', 'names', 'busybox', 'sleep', '300']);
    const ip = await fmt('{{.NetworkSettings.IPAddress}}', 'old');
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await tsd(['exec', 'asker', 'nslookup', 'old'])).stdout).toContain(ip);
    // docker rename old new: no output, exit 0
    expect(await ok(['rename', 'old', 'new'])).toBe('');
    expect(await fmt('{{.Name}}', 'new')).toBe('/new');
    expect((await tsd(['ps', '--filter', 'name=old', '--format', '{{.Names}}'])).stdout).toBe('');
    expect((await tsd(['exec', 'asker', 'nslookup', 'new'])).stdout).toContain(ip);
    expect((await tsd(['exec', 'asker', 'nslookup', 'old'])).stdout).not.toContain(ip);
    // Docker's refusals, exit 1
    const same = await tsd(['rename', 'new', 'new']);
    expect([same.code, same.stderr]).toEqual([1, expect.stringContaining('Renaming a container with the same name as its current name')]);
    const taken = await tsd(['rename', 'new', 'asker']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(`Conflict. The container name "/asker" is already in use by container "${await idOf('asker')}"`);
    const bad = await tsd(['rename', 'new', 'bad name!']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')]);
    const none = await tsd(['rename', 'nosuch', 'x']);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('No such container: nosuch')]);
    // the old name is free again; a stopped container renamed comes back under its new name
    await ok(['run', '-d', '--name', 'old', 'busybox', 'true']);
    await ok(['stop', '-t', '1', 'new']);
    await ok(['rename', 'new', 'newer']);
    await ok(['start', 'newer']);
    const ip2 = await fmt('{{.NetworkSettings.IPAddress}}', 'newer');
    expect((await tsd(['exec', 'asker', 'nslookup', 'newer'])).stdout).toContain(ip2);
    await ok(['rm', '-f', 'asker', 'newer', 'old']);
  });
});

/** Lines a counting container has logged so far. */
const count = async (ref: string, env?: NodeJS.ProcessEnv) => (await ok(['logs', ref], env)).split('\n').filter(Boolean).length;
const COUNTER = ['busybox', 'sh', '-c', 'while true; do echo x; sleep 0.05; done'];

async function pauseCycle(name: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await ok(['run', '-d', '--name', name, ...COUNTER], env);
  const id = await idOf(name);
  expect(await ok(['pause', name], env)).toBe(`${name}\n`);
  expect(await fmt('{{.State.Status}} {{.State.Running}} {{.State.Paused}}', name, env)).toBe('paused true true');
  expect((await ok(['ps', '--filter', `name=${name}`, '--format', '{{.State}}|{{.Status}}'], env)).trim()).toMatch(/^paused\|Up .+ \(Paused\)$/);
  expect((await ok(['ps', '--filter', 'status=paused', '--format', '{{.Names}}'], env)).trim()).toBe(name);
  // frozen: it logs nothing more
  const frozen = await count(name, env);
  await sleep(400);
  expect(await count(name, env)).toBe(frozen);
  const again = await tsd(['pause', name], env);
  expect([again.code, again.stderr]).toEqual([1, expect.stringContaining(`Container ${id} is already paused`)]);
  const st = await tsd(['start', name], env);
  expect([st.code, st.stderr]).toEqual([1, expect.stringContaining('cannot start a paused container, try unpause instead')]);
  const ex = await tsd(['exec', name, 'true'], env);
  expect([ex.code, ex.stderr]).toEqual([1, expect.stringContaining(`Container ${name} is paused, unpause the container before exec`)]);
  expect(await ok(['unpause', name], env)).toBe(`${name}\n`);
  expect(await fmt('{{.State.Status}} {{.State.Running}} {{.State.Paused}}', name, env)).toBe('running true false');
  const thawed = await count(name, env);
  for (let i = 0; i < 100 && (await count(name, env)) === thawed; i++) await sleep(50);
  expect(await count(name, env)).toBeGreaterThan(thawed);
  const not = await tsd(['unpause', name], env);
  expect([not.code, not.stderr]).toEqual([1, expect.stringContaining(`Container ${id} is not paused`)]);
  // a paused container stops (the signal, then the thaw that delivers it)
  await ok(['pause', name], env);
  expect(await ok(['stop', '-t', '1', name], env)).toBe(`${name}\n`);
  expect(await fmt('{{.State.Status}} {{.State.Paused}}', name, env)).toBe('exited false');
  const stopped = await tsd(['pause', name], env);
  expect([stopped.code, stopped.stderr]).toEqual([1, expect.stringContaining(`Container ${id} is not running`)]);
  // and rm -f takes a paused one
  await ok(['start', name], env);
  await ok(['pause', name], env);
  await ok(['rm', '-f', name], env);
  expect((await tsd(['inspect', name], env)).code).toBe(1);
}

describe('pause / unpause', () => {
  it('freezes with the cgroup freezer of this host (v1 freezer.state, or v2 cgroup.freeze)', async () => {
    await pauseCycle('frozen');
  });

  it.runIf(detectLayout().unified !== undefined && detectLayout().mode !== 'v2')('freezes with cgroup.freeze under the v2 driver (TSDOCKER_CGROUP_MODE=v2)', async () => {
    await pauseCycle('frozen2', { ...process.env, TSDOCKER_CGROUP_MODE: 'v2' });
  });
});

describe('top', () => {
  it("lists the container's processes from the host's ps, Docker's columns and layout", async () => {
    await ok(['run', '-d', '--name', 'tops', 'busybox', 'sh', '-c', 'sleep 201 & exec sleep 202']);
    const pid = await fmt('{{.State.Pid}}', 'tops');
    let out = '';
    for (let i = 0; i < 100 && !out.includes('sleep 201'); i++) out = await ok(['top', 'tops']);
    const lines = out.trimEnd().split('\n');
    // docker top: ps -ef, in a tabwriter of minwidth 20, padding 3
    expect(lines[0]).toBe('UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD');
    expect(lines).toHaveLength(3);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r[7]).sort()).toEqual(['sleep 201', 'sleep 202']);
    expect(rows.find((r) => r[7] === 'sleep 202')![1]).toBe(pid);
    expect(rows.every((r) => r[0] === 'root')).toBe(true);
    // ps options after the container
    expect((await ok(['top', 'tops', '-o', 'pid,comm'])).split('\n')[0]).toBe('PID                 COMMAND');
    expect((await ok(['top', 'tops', '-o', 'pid,args'])).trimEnd().split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(1).join(' ')).sort()).toEqual(['sleep 201', 'sleep 202']);
    // forest listings do not go with ps -q: the whole table, filtered to the container's pids
    const forest = (await ok(['top', 'tops', '-ef', 'f'])).trimEnd().split('\n');
    expect(forest[0]).toMatch(/^UID +PID +PPID +C +STIME +TTY +STAT +TIME +CMD$/);
    expect(forest.slice(1).map((l) => /\\_ (sleep 20[12])$/.exec(l)?.[1])).toEqual(['sleep 202', 'sleep 201']);
    const hidden = await tsd(['top', 'tops', '-o', 'user=PID']);
    expect([hidden.code, hidden.stderr]).toEqual([1, expect.stringContaining('specifying "user=PID" is not allowed')]);
    const id = await idOf('tops');
    await ok(['stop', '-t', '1', 'tops']);
    const stopped = await tsd(['top', 'tops']);
    expect([stopped.code, stopped.stderr]).toEqual([1, expect.stringContaining(`Container ${id} is not running`)]);
    await ok(['rm', 'tops']);
  });
});

describe('restart', () => {
  it('stops then starts a running container, starts a stopped one, keeps its network; a --rm one stays', async () => {
    await ok(['run', '-d', '--name', 'rs', '--network', 'names', 'busybox', 'sleep', '300']);
    const started = await fmt('{{.State.StartedAt}}', 'rs');
    const pid = await fmt('{{.State.Pid}}', 'rs');
    expect(await ok(['restart', '-t', '1', 'rs'])).toBe('rs\n');
    expect(await fmt('{{.State.Status}}', 'rs')).toBe('running');
    expect(await fmt('{{.State.StartedAt}}', 'rs')).not.toBe(started);
    expect(await fmt('{{.State.Pid}}', 'rs')).not.toBe(pid);
    expect(await fmt('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', 'rs')).toBe('names');
    // a stopped container is started
    await ok(['stop', '-t', '1', 'rs']);
    expect(await ok(['restart', 'rs'])).toBe('rs\n');
    expect(await fmt('{{.State.Status}}', 'rs')).toBe('running');
    // Docker keeps a --rm container through its restart
    await ok(['run', '-d', '--rm', '--name', 'rsrm', 'busybox', 'sleep', '300']);
    expect(await ok(['restart', '-t', '1', 'rsrm'])).toBe('rsrm\n');
    await sleep(300);
    expect(await fmt('{{.State.Status}}', 'rsrm')).toBe('running');
    const none = await tsd(['restart', 'nosuch']);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('No such container: nosuch')]);
    const bad = await tsd(['restart', '-t', 'x', 'rs']);
    expect(bad.code).toBe(125);
    await ok(['rm', '-f', 'rs', 'rsrm']);
  });
});

describe('flags as Docker parses them', () => {
  it('boolean flags take a value (strconv.ParseBool), the last one wins', async () => {
    const before = (await ok(['ps', '-aq'])).trim();
    expect((await tsd(['run', '--rm=true', 'busybox', 'true'])).code).toBe(0);
    expect((await ok(['ps', '-aq'])).trim()).toBe(before);
    await ok(['run', '--rm=false', '--name', 'kept', 'busybox', 'true']);
    expect((await ok(['ps', '-a', '--filter', 'name=kept', '--format', '{{.Names}}'])).trim()).toBe('kept');
    await ok(['rm', 'kept']);
    expect(await ok(['run', '--rm', '-d=false', 'busybox', 'echo', 'hi'])).toBe('hi\n');
    expect(await ok(['run', '--rm', '-d=True', 'busybox', 'true'])).toMatch(/^[0-9a-f]{64}\n$/);
    const ttyProbe = ['busybox', 'sh', '-c', '[ -t 1 ] && echo tty || echo notty'];
    expect(await ok(['run', '--rm', '-t', '--tty=false', ...ttyProbe])).toBe('notty\n');
    expect((await ok(['run', '--rm', '--tty=1', ...ttyProbe])).trim()).toBe('tty');
    await ok(['run', '--rm=0', '--rm=t', '--name', 'lastwins', 'busybox', 'true']);
    await ok(['run', '--rm', '--rm=false', '--name', 'lastwins2', 'busybox', 'true']);
    expect((await ok(['ps', '-a', '--filter', 'name=lastwins', '--format', '{{.Names}}'])).trim()).toBe('lastwins2');
    await ok(['rm', 'lastwins2']);
    // docker ps --no-trunc=false truncates, =true does not
    await ok(['run', '-d', '--name', 'ids', 'busybox', 'sleep', '60']);
    const id = await idOf('ids');
    expect((await ok(['ps', '--no-trunc=false', '--filter', 'name=ids', '--format', '{{.ID}}'])).trim()).toBe(id.slice(0, 12));
    expect((await ok(['ps', '--no-trunc=true', '--filter', 'name=ids', '--format', '{{.ID}}'])).trim()).toBe(id);
    await ok(['rm', '-f', 'ids']);
    // pflag's refusal, exit 125
    const bad = await tsd(['run', '--rm=yes', 'busybox', 'true']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax')]);
    const badShort = await tsd(['run', '-d=maybe', 'busybox', 'true']);
    expect([badShort.code, badShort.stderr]).toEqual([125, expect.stringContaining('invalid argument "maybe" for "-d, --detach" flag')]);
  });

  it('one network at create: --network=host --net=none refused, as Docker 20.10', async () => {
    const both = await tsd(['run', '--rm', '--network=host', '--net=none', 'busybox', 'true']);
    expect(both.code).toBe(125);
    expect(both.stderr).toMatch(/Container cannot be connected to network endpoints: (host, none|none, host)/);
    const twice = await tsd(['run', '--rm', '--network', 'names', '--net', 'names', 'busybox', 'true']);
    expect([twice.code, twice.stderr]).toEqual([125, expect.stringContaining('network "names" is specified multiple times')]);
    const mixed = await tsd(['run', '--rm', '--network', 'names', '--network', 'host', 'busybox', 'true']);
    expect([mixed.code, mixed.stderr]).toEqual([125, expect.stringContaining('conflicting options: cannot attach both user-defined and non-user-defined network-modes')]);
  });

  it('an unknown command with --help is an error (125), not the top-level help', async () => {
    const r = await tsd(['nosuch', '--help']);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown command 'nosuch'");
    expect((await tsd(['rename', '--help'])).code).toBe(0);
  });
});

describe('stop signal and stop timeout', () => {
  // pid 1 of the container: a trap that says which signal came, and takes 3 s over SIGTERM
  const TRAPS = "trap 'echo got USR1; exit 3' USR1; trap 'sleep 3; exit 5' TERM; echo ready; while true; do sleep 0.1; done";
  /** until the container's run number `times` has set its traps */
  const ready = async (name: string, times = 1) => {
    const runs = async () => (await ok(['logs', name])).split('\n').filter((l) => l === 'ready').length;
    for (let i = 0; i < 200 && (await runs()) < times; i++) await sleep(20);
  };

  it('--stop-signal and --stop-timeout are what stop uses when given none; -t and -s still win', async () => {
    await ok(['run', '-d', '--name', 'sig', '--stop-signal', 'USR1', 'busybox', 'sh', '-c', TRAPS]);
    expect(await fmt('{{.Config.StopSignal}}', 'sig')).toBe('USR1');
    await ready('sig');
    expect(await ok(['stop', 'sig'])).toBe('sig\n');
    expect(await fmt('{{.State.ExitCode}}', 'sig')).toBe('3');
    expect(await ok(['logs', 'sig'])).toBe('ready\ngot USR1\n');
    // the trap of TERM outlasts a stop timeout of 1 s: killed (137); with -t 10 it exits 5
    await ok(['run', '-d', '--name', 'slow', '--stop-timeout', '1', 'busybox', 'sh', '-c', TRAPS]);
    expect(await fmt('{{.Config.StopTimeout}}', 'slow')).toBe('1');
    await ready('slow');
    await ok(['stop', 'slow']);
    expect(await fmt('{{.State.ExitCode}}', 'slow')).toBe('137');
    await ok(['start', 'slow']);
    await ready('slow', 2);
    await ok(['stop', '-t', '10', 'slow']);
    expect(await fmt('{{.State.ExitCode}}', 'slow')).toBe('5');
    // kill of a paused container thaws it only for SIGKILL or its stop signal (Docker's killWithSignal)
    await ok(['run', '-d', '--name', 'psig', '--stop-signal', 'USR1', 'busybox', 'sh', '-c', TRAPS]);
    await ready('psig');
    await ok(['pause', 'psig']);
    expect(await ok(['kill', '-s', 'USR2', 'psig'])).toBe('psig\n');
    expect(await fmt('{{.State.Status}} {{.State.Paused}}', 'psig')).toBe('paused true');
    await ok(['kill', '-s', 'USR1', 'psig']);
    for (let i = 0; i < 100 && (await fmt('{{.State.Status}}', 'psig')) !== 'exited'; i++) await sleep(50);
    expect(await fmt('{{.State.Status}}', 'psig')).toBe('exited');
    await ok(['rm', 'psig']);
    const bad = await tsd(['run', '--rm', '--stop-signal', 'NOPE', 'busybox', 'true']);
    expect([bad.code, bad.stderr]).toEqual([125, expect.stringContaining('invalid signal: NOPE')]);
    await ok(['rm', 'sig', 'slow']);
  });

  it("the image's STOPSIGNAL, unless --stop-signal says otherwise", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsd-stopsig-'));
    try {
      const bb = readFileSync('/bin/busybox');
      writeFileSync(join(dir, 'img.tar'), dockerSaveClassic([{
        tags: ['stopsig:1'],
        config: { Env: ['PATH=/bin'], Cmd: ['sh', '-c', TRAPS], StopSignal: 'SIGUSR1' },
        layers: [[
          { name: 'bin/', type: 'dir' },
          { name: 'bin/busybox', data: bb, mode: 0o755 },
          { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
          { name: 'bin/sleep', type: 'symlink', linkname: 'busybox' },
        ]],
      }]));
      await ok(['load', '-i', join(dir, 'img.tar')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await ok(['run', '-d', '--name', 'imgsig', 'stopsig:1']);
    expect(await fmt('{{.Config.StopSignal}}', 'imgsig')).toBe('SIGUSR1');
    await ready('imgsig');
    await ok(['stop', 'imgsig']);
    expect(await fmt('{{.State.ExitCode}}', 'imgsig')).toBe('3');
    await ok(['run', '-d', '--name', 'flagsig', '--stop-signal', 'TERM', '--stop-timeout', '10', 'stopsig:1']);
    await ready('flagsig');
    await ok(['stop', 'flagsig']);
    expect(await fmt('{{.State.ExitCode}}', 'flagsig')).toBe('5');
    await ok(['rm', 'imgsig', 'flagsig']);
  });
});

describe('run flags: --cidfile, --label-file, --dns-option, --add-host host-gateway', () => {
  it('--cidfile: the id written at create; an existing file refused; removed when the run fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsd-cid-'));
    try {
      const cid = join(dir, 'cid');
      const id = (await ok(['run', '-d', '--cidfile', cid, '--name', 'cid', 'busybox', 'sleep', '60'])).trim();
      expect(readFileSync(cid, 'utf8')).toBe(id); // no newline, as Docker
      const again = await tsd(['run', '-d', '--cidfile', cid, 'busybox', 'true']);
      expect([again.code, again.stderr]).toEqual([125, expect.stringContaining(`Container ID file found, make sure the other container isn't running or delete ${cid}`)]);
      const created = join(dir, 'created');
      const cId = (await ok(['create', '--cidfile', created, 'busybox', 'true'])).trim();
      expect(readFileSync(created, 'utf8')).toBe(cId);
      const failed = join(dir, 'failed');
      expect((await tsd(['run', '--cidfile', failed, 'nosuchimage:1'])).code).toBe(125);
      expect(() => readFileSync(failed)).toThrow();
      await ok(['rm', '-f', 'cid', cId]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--label-file: KEY=VALUE lines, comments skipped, --label wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsd-labels-'));
    try {
      writeFileSync(join(dir, 'labels'), '# a comment\n\ncom.example.a=1\n  com.example.b=from file\ncom.example.bare\n');
      await ok(['create', '--name', 'lab', '--label-file', join(dir, 'labels'), '-l', 'com.example.b=flag', 'busybox', 'true']);
      const labels = JSON.parse(await fmt('{{json .Config.Labels}}', 'lab')) as Record<string, string>;
      expect(Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith('com.example.')))).toEqual({ 'com.example.a': '1', 'com.example.b': 'flag', 'com.example.bare': '' });
      const none = await tsd(['create', '--label-file', join(dir, 'nosuch'), 'busybox', 'true']);
      expect([none.code, none.stderr]).toEqual([125, expect.stringContaining(`open ${join(dir, 'nosuch')}`)]);
      await ok(['rm', 'lab']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--dns-option replaces the options line (ndots:0 on a user network unless an ndots is given)', async () => {
    const conf = async (...args: string[]) => (await ok(['run', '--rm', ...args, 'busybox', 'cat', '/etc/resolv.conf'])).split('\n').filter((l) => l.startsWith('options'));
    expect(await conf('--dns-option', 'timeout:1', '--dns-option', 'attempts:2')).toEqual(['options timeout:1 attempts:2']);
    expect(await conf('--network', 'names', '--dns-option', 'timeout:1')).toEqual(['options timeout:1 ndots:0']);
    expect(await conf('--network', 'names', '--dns-option', 'ndots:3')).toEqual(['options ndots:3']);
    expect(await conf('--network', 'names')).toEqual(['options ndots:0']);
  });

  it('--add-host NAME:host-gateway names the default bridge\'s gateway', async () => {
    await ok(['run', '-d', '--name', 'gwref', 'busybox', 'sleep', '60']);
    const gw = await fmt('{{.NetworkSettings.Gateway}}', 'gwref');
    expect(gw).toMatch(/^\d+\.\d+\.\d+\.1$/);
    const hosts = await ok(['run', '--rm', '--network', 'names', '--add-host', 'host.docker.internal:host-gateway', 'busybox', 'cat', '/etc/hosts']);
    expect(hosts).toContain(`${gw}\thost.docker.internal\n`);
    await ok(['rm', '-f', 'gwref']);
  });
});
