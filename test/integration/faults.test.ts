/**
 * Faults (issue 8, items 9 and 13, and "Done when"): a state root on a full disk (a small
 * tmpfs mounted over the sandbox's root inside its mount namespace) keeps exit statuses and
 * gives one-line errors without temp files; and `run -d` killed with SIGKILL at a sweep of
 * points leaves nothing once the next ordinary commands (`ps -a`, `rm -f`) have run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { dockerSaveClassic } from '../helpers/archives.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await sleep(50);
  }
}

function oneLineError(r: { code: number; stderr: string }): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(/internal error|please report|\n\s+at /);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('tsdocker: '))).toHaveLength(1);
}

describe('a full disk under the state root', () => {
  let sb: Sandbox;
  let outside: string;
  const inRoot = async (script: string) => (await sb.sh(['sh', '-c', script])).stdout;
  let fills = 0;
  /** Take every free page of the tmpfs. */
  async function fill(): Promise<void> {
    await inRoot(`dd if=/dev/zero of=${sb.root}/fill${fills++} bs=4k 2>/dev/null; true`);
    expect((await inRoot(`df -P ${sb.root} | awk 'NR==2 {print $4}'`)).trim()).toBe('0');
  }

  beforeAll(async () => {
    sb = await createSandbox('tsd-full');
    outside = mkdtempSync(join(tmpdir(), 'tsd-full-out-'));
    // the sandbox's own mount namespace: the tmpfs is seen only by tsdocker running inside it
    const m = await sb.sh(['mount', '-t', 'tmpfs', '-o', 'size=40m', 'tsd-full', sb.root]);
    expect(m.code, m.stderr).toBe(0);
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
  });

  afterAll(async () => {
    await sb?.sh(['sh', '-c', `rm -f ${sb.root}/fill*`]);
    await sb?.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it('keeps the exit status; run, exec, load and network create fail in one line and leave no temp files', async () => {
    const trigger = join(outside, 'go');
    const waiter = (await tsdOk(sb, ['run', '-d', '--name', 'waiter', '-v', `${outside}:/t`, 'busybox', 'sh', '-c', 'while [ ! -e /t/go ]; do sleep 0.05; done; exit 3'])).trim();
    await tsdOk(sb, ['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '60']);
    const big = join(outside, 'big.tar');
    writeFileSync(big, dockerSaveClassic([{ tags: ['big:1'], layers: [[{ name: 'blob', data: Buffer.alloc(8 << 20, 7) }]] }]));

    await fill();
    const before = await inRoot(`find ${sb.root} | sort`);

    writeFileSync(trigger, '');
    const wait = await sb.tsd(['wait', 'waiter']);
    expect(wait.stdout.trim()).toBe('3');
    // the monitor's exit hook (cleanup) fails on the full disk; once it is done, take what its attempt freed
    await until('the exit hook is done', async () => !(await inRoot('ps -eo args')).includes(`internal cleanup ${waiter}`));
    await fill();

    const run = await sb.tsd(['run', '--rm', 'busybox', 'true']);
    oneLineError(run);
    expect(run.stderr).toMatch(/no space left on device/);
    const exec = await sb.tsd(['exec', 'sleeper', 'true']);
    oneLineError(exec);
    expect(exec.stderr).toMatch(/no space left on device/);
    const load = await sb.tsd(['load', '-i', big]);
    oneLineError(load);
    expect(load.stderr).toMatch(/no space left on device/i);
    const net = await sb.tsd(['network', 'create', '--subnet', '10.90.0.0/24', 'full']);
    oneLineError(net);
    expect(net.stderr).toMatch(/no space left on device: cannot write .*network\.json/);

    // nothing new but the waiter's exit record (its space was reserved before it ran; its
    // cleanup locked the container's directory itself, which makes no file)
    const after = await inRoot(`find ${sb.root} | sort`);
    const added = after.split('\n').filter((l) => !before.split('\n').includes(l) && !l.startsWith(`${sb.root}/fill`));
    expect(added.sort()).toEqual([join(sb.root, 'containers', waiter, 'exit.json')]);

    await inRoot(`rm -f ${sb.root}/fill*`);
    const ps = await tsdOk(sb, ['ps', '-a', '--format', 'json']);
    const row = ps.trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.Names === 'waiter');
    expect(row.Status).toMatch(/^Exited \(3\)/);
  });
});

describe('run -d killed at many points', () => {
  let sb: Sandbox;
  let cgroupParent: string;

  beforeAll(async () => {
    sb = await createSandbox('tsd-sweep');
    cgroupParent = `tsdocker-test-${basename(sb.root)}`;
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
    await tsdOk(sb, ['network', 'create', '--subnet', '10.91.0.0/24', 'sweep']);
  });

  afterAll(async () => {
    await sb?.close();
  });

  const RUN = ['run', '-d', '--network', 'sweep', '-p', '18090:80', 'busybox', 'sleep', '60'];
  const RUN_RM = ['run', '-d', '--rm', ...RUN.slice(2)];
  /** What must be the same after every kill and cleanup: rules (without counters), links, records, processes, cgroups. */
  async function leftovers(): Promise<Record<string, unknown>> {
    const nft = (await sb.sh(['nft', 'list', 'ruleset'])).stdout.replace(/counter packets \d+ bytes \d+/g, 'counter');
    const veths = (await sb.sh(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout;
    const nets = join(sb.root, 'networks');
    const netIds = readdirSync(nets).filter((d) => /^[0-9a-f]{64}$/.test(d));
    const leases = netIds.flatMap((n) => readdirSync(join(nets, n, 'leases')).filter((f) => !f.startsWith('.')));
    const endpoints = netIds.flatMap((n) => readdirSync(join(nets, n, 'endpoints')));
    const ports = existsSync(join(nets, 'ports')) ? readdirSync(join(nets, 'ports')) : [];
    const containers = readdirSync(join(sb.root, 'containers'));
    const procs = (await sb.sh(['ps', '-eo', 'args'])).stdout.split('\n').filter((l) => l.includes(sb.root) && !l.includes('dnsd.js') && !l.startsWith('ps '));
    const cgroups: string[] = [];
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
      const dir = join('/sys/fs/cgroup', h, cgroupParent);
      try {
        cgroups.push(...readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${h}/${d.name}`));
      } catch {
        /* no such hierarchy or parent */
      }
    }
    return { nft, veths, leases, endpoints, ports, containers, procs, cgroups };
  }

  /** The next ordinary commands after a kill: ps -a, then rm -f of what it lists; then nothing may be left. */
  async function cleanAfter(label: string, baseline: Record<string, unknown>): Promise<void> {
    const ps = await sb.tsd(['ps', '-a', '-q', '--no-trunc']);
    expect(ps.code, `${label}: ${ps.stderr}`).toBe(0);
    expect(ps.stderr, label).toBe('');
    const ids = ps.stdout.split('\n').filter(Boolean);
    if (ids.length) {
      const rm = await sb.tsd(['rm', '-f', ...ids]);
      expect(rm.code, `${label}: ${rm.stderr}`).toBe(0);
    }
    // an exit hook started by the killed start may still be finishing: give it a moment
    let now: Record<string, unknown> = {};
    await until(`clean after a kill ${label}`, async () => {
      now = await leftovers();
      return JSON.stringify(now) === JSON.stringify(baseline);
    }).catch(() => expect({ label, ...now }).toEqual({ label, ...baseline }));
  }

  // every step of a start, in order (TSDOCKER_FAULT_KILL_AT makes the CLI SIGKILL itself there)
  const STEPS = [
    'run: begin', 'create: directory made', 'run: created', 'start: image resolved', 'start: resources prepared',
    'start: monitor spawned', 'start: container cloned', 'start: state written', 'net: address leased', 'net: ports reserved',
    'net: firewall applied', 'net: veth attached', 'start: cgroups joined, network attached', 'start: exec ok',
  ];

  it('leaves nothing once ps -a and rm -f have run, killed at each step of the start and at a sweep of delays', async () => {
    // the baseline: the network exists and has had one container (its rules and bridge stay)
    const first = (await tsdOk(sb, RUN)).trim();
    await tsdOk(sb, ['rm', '-f', first]);
    const baseline = await leftovers();
    expect(baseline.containers).toEqual([]);

    for (const step of STEPS) {
      const r = await sb.tsd(RUN, { env: { ...process.env, TSDOCKER_FAULT_KILL_AT: step } });
      expect(r.code, `killed at "${step}": ${r.stderr}`).toBe(137);
      await cleanAfter(`at "${step}"`, baseline);
    }
    // a killed `run --rm` whose container never ran: gone by the next `ps`, with no `rm`
    for (const step of STEPS.slice(0, -1)) {
      const r = await sb.tsd(RUN_RM, { env: { ...process.env, TSDOCKER_FAULT_KILL_AT: step } });
      expect(r.code, `--rm killed at "${step}": ${r.stderr}`).toBe(137);
      await until(`--rm killed at "${step}" is gone`, async () => (await tsdOk(sb, ['ps', '-a', '-q'])) === '');
      await cleanAfter(`--rm at "${step}"`, baseline);
    }
    for (let delay = 0; delay <= 300; delay += 50) {
      const cli = sb.spawnTsd(RUN);
      const exited = new Promise((r) => cli.once('exit', r));
      await sleep(delay);
      cli.kill('SIGKILL');
      await exited;
      await cleanAfter(`after ${delay} ms`, baseline);
    }
  }, 180_000);
});
