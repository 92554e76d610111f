/**
 * `npm run bench`: tsdocker against Docker, Podman, runc, `node -e 0` and the bare kernel,
 * side by side in one run. Every runtime runs inside its own throwaway network + mount
 * namespace; whatever cannot run here is reported as "skipped: <reason>".
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, type Options } from './args.js';
import { nodeEnvNote } from './envnote.js';
import { figureDefs } from './figures.js';
import { findImage, type ImageArchive } from './image.js';
import { installPeers } from './install.js';
import { log, reasonOf } from './log.js';
import { machine } from './machine.js';
import { run } from './proc.js';
import { NO_CA, renderJson, renderTable, type Report } from './report.js';
import { attempt, newResults, put, skip, type Results } from './results.js';
import { sample } from './stats.js';
import { BARE, bareFigures } from './measures/bare.js';
import { burstFigures } from './measures/burst.js';
import { buildRr } from './measures/iperf.js';
import { netFigures } from './measures/net.js';
import { overlayFigures } from './measures/overlay.js';
import { scaleFigures } from './measures/scale.js';
import { startLatency } from './measures/start.js';
import { startCounts } from './measures/counts.js';
import { apiFigures } from './measures/api.js';
import { pullFigures } from './measures/pull.js';
import { openDocker } from './runtimes/docker.js';
import { openFloors } from './runtimes/floors.js';
import { openPodman } from './runtimes/podman.js';
import { openTsdocker } from './runtimes/tsdocker.js';
import type { Runtime } from './runtimes/types.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const helpers = join(repo, 'bench', 'helpers');

/** Closers of whatever is open now, so that Ctrl-C still stops dockerd and ends sandboxes. */
const open = new Set<() => Promise<unknown>>();

async function measureRuntime(res: Results, opts: Options, rt: Runtime, opener: () => Promise<Runtime>): Promise<void> {
  const c = rt.name;
  await attempt(res, ['start.none'], c, async () => put(res, 'start.none', c, await startLatency(rt, opts.start, 'none')));
  await attempt(res, ['start.bridge'], c, async () => put(res, 'start.bridge', c, await startLatency(rt, opts.start, 'bridge')));
  await attempt(res, ['start.publish'], c, async () => put(res, 'start.publish', c, await startLatency(rt, opts.start, 'bridge', true)));
  if (c === 'tsdocker') await countFigures(res, rt, opts.quick ? 1 : 3);
  await apiFigures(res, rt, opts.start);
  await netFigures(res, rt, opts.net);
  await burstFigures(res, rt, opts.scale.burst, helpers);
  // a second instance of the runtime, opened beside it: the empty host of the N-running ratio
  await scaleFigures(res, rt, opts.scale.levels, opts.loaded, async () => {
    const empty = await opener();
    open.add(empty.close);
    const close = async (): Promise<string[]> => {
      open.delete(empty.close);
      return empty.close();
    };
    return { ...empty, close };
  });
}

/** strace counts of tsdocker's starts (the CLI of Docker/Podman is a client: its counts would say nothing) */
async function countFigures(res: Results, rt: Runtime, runs: number): Promise<void> {
  for (const net of ['none', 'bridge'] as const) {
    const ids = net === 'none' ? ['count.none.procs', 'count.none.syscalls'] : ['count.bridge.procs', 'count.bridge.syscalls', 'count.bridge.helpers'];
    await attempt(res, ids, rt.name, async () => {
      const c = await startCounts(rt, net, runs);
      put(res, `count.${net}.procs`, rt.name, c.procs);
      put(res, `count.${net}.syscalls`, rt.name, c.syscalls);
      if (net === 'bridge') put(res, 'count.bridge.helpers', rt.name, c.helpers, c.helperNames.length ? `helpers: ${c.helperNames.join(', ')}` : undefined);
    });
  }
}

async function withRuntime(res: Results, opts: Options, name: string, opener: () => Promise<Runtime>, versions: Record<string, string>): Promise<void> {
  if (opts.only.length && !opts.only.includes(name)) return;
  log(`== ${name}`);
  let rt: Runtime;
  try {
    rt = await opener();
  } catch (err) {
    const reason = reasonOf(err);
    log(`${name}: skipped: ${reason}`);
    skip(res, res.figures.filter((f) => !f.id.startsWith('net.lo')).map((f) => f.id), name, reason);
    return;
  }
  versions[name] = rt.version;
  const closer = (): Promise<string[]> => rt.close();
  open.add(closer);
  try {
    await measureRuntime(res, opts, rt, opener);
    // the same daemon with another OCI runtime (docker run --runtime tsdocker): start only
    for (const v of rt.variants ?? []) {
      await attempt(res, ['start.none'], v.name, async () => put(res, 'start.none', v.name, await startLatency(v, opts.start, 'none')));
    }
  } finally {
    open.delete(closer);
    const left = await rt.close();
    if (left.length) res.notes.push(`${name}: at the end, the bench had to end ${left.length} process(es) left in its sandbox: ${left.slice(0, 5).join(', ')}`);
  }
}

async function floors(res: Results, opts: Options, image: ImageArchive, versions: Record<string, string>): Promise<void> {
  if (opts.only.length && !opts.only.includes('runc') && !opts.only.includes('tsdocker-oci')) return;
  log('== floors: runc run, tsdocker-oci run, node -e 0');
  const f = await openFloors(image, repo);
  open.add(f.close);
  try {
    await attempt(res, ['start.none'], 'node -e 0', async () => {
      put(res, 'start.none', 'node -e 0', await sample('node -e 0', opts.start, async () => (await run(f.node.argv(0))).ms));
    });
    // Node 20 parses NODE_EXTRA_CA_CERTS's file at startup (~40 ms); bin/tsdocker starts Node
    // without it, so the floor that applies to tsdocker is node -e 0 without it
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    if (ca) {
      res.notes.push(`NODE_EXTRA_CA_CERTS=${ca} is set: \`node -e 0\` pays for parsing it at startup; tsdocker's launcher starts Node without it (column \`${NO_CA}\`)`);
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      await attempt(res, ['start.none'], NO_CA, async () => {
        put(res, 'start.none', NO_CA, await sample(NO_CA, opts.start, async () => (await run(f.node.argv(0), { env })).ms));
      });
    }
    if (!f.runc) {
      skip(res, ['start.none'], 'runc', f.runcSkip ?? 'runc unavailable');
      return;
    }
    versions.runc = f.runc.version;
    for (const fl of [f.runc, f.oci]) {
      if (!fl) continue;
      let i = 0;
      await attempt(res, ['start.none'], fl.name, async () => {
        put(res, 'start.none', fl.name, await sample(`${fl.name} run`, opts.start, async () => {
          const r = await run(fl.argv(i++));
          if (r.code !== 0) throw new Error(`${fl.name} run: exit ${r.code}: ${r.stderr.trim().slice(0, 160)}`);
          return r.ms;
        }));
      });
    }
    if (f.oci) versions['tsdocker-oci'] = f.oci.version;
    else skip(res, ['start.none'], 'tsdocker-oci', f.ociSkip ?? 'tsdocker-oci unavailable');
    if (f.runc) {
      const runc = f.runc;
      let i = 1000;
      await attempt(res, ['count.none.procs', 'count.none.syscalls'], 'runc', async () => {
        const c = await startCounts({ name: 'runc', version: runc.version, sandbox: f.sandbox, runArgv: () => runc.argv(i++), rmArgv: () => [], close: async () => [] }, 'none', opts.quick ? 1 : 3);
        put(res, 'count.none.procs', 'runc', c.procs);
        put(res, 'count.none.syscalls', 'runc', c.syscalls);
      });
    }
  } finally {
    open.delete(f.close);
    await f.close();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const opts = parseArgs(argv);
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (namespaces, dockerd, runc)');
  if (opts.installPeers) await installPeers();
  const tmp = mkdtempSync(join(tmpdir(), 'tsd-bench-'));
  open.add(async () => rmSync(tmp, { recursive: true, force: true }));
  const image = await findImage(repo, tmp, opts.devImage);
  await buildRr(join(helpers, 'rr.c'), join(tmp, 'rr'));
  const res = newResults(figureDefs(opts.scale));
  res.notes.push(nodeEnvNote()); // first: which node -e 0 floor applies (bench/README.md)
  const versions: Record<string, string> = {};
  const iperf = await run(['iperf3', '--version']);
  if (iperf.code === 0) versions.iperf3 = iperf.stdout.split(' ')[1] ?? '?';
  const m = machine();
  const t0 = Date.now();

  if (!opts.only.length || opts.only.includes('bare')) {
    log('== bare kernel: two namespaces on a bare bridge, loopback');
    const ids = ['net.c2c.gbps', 'net.c2c.rr', 'net.c2c.rtt', 'net.lo.gbps', 'net.lo.rr', 'net.lo.rtt'];
    await bareFigures(res, opts.net).catch((err) => skip(res, ids, BARE, reasonOf(err)));
  }
  if (!opts.only.length || opts.only.includes('overlay')) {
    log('== overlay: three simulated hosts and etcd');
    await overlayFigures(res, opts.net, opts.scale.overlayPerHost, image.path).catch((err) => skip(res, ['overlay.gbps', 'overlay.reach', 'overlay.fdb'], 'tsdocker', reasonOf(err)));
  }
  await floors(res, opts, image, versions);
  await withRuntime(res, opts, 'tsdocker', () => openTsdocker(repo, image), versions);
  await withRuntime(res, opts, 'docker', () => openDocker(image, undefined, repo), versions);
  await withRuntime(res, opts, 'podman', () => openPodman(image), versions);
  if (!opts.only.length || opts.only.includes('pull')) {
    log('== pull: tsdocker, docker and skopeo from one local registry');
    await pullFigures(res, opts.pull, repo, image);
  }
  if (image.dev) res.notes.push('image: development stand-in built from /bin/busybox (images/busybox.tar was missing)');
  res.notes.push(`the whole run took ${((Date.now() - t0) / 60000).toFixed(1)} min`);

  const report: Report = {
    machine: m,
    versions,
    image: image.dev ? `${image.path} (dev stand-in)` : 'images/busybox.tar',
    mode: opts.quick ? 'quick' : 'default',
    results: res,
  };
  const out = opts.json ? renderJson(report) : renderTable(report);
  process.stdout.write(out);
  const dir = join(repo, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), renderJson(report));
  writeFileSync(join(dir, 'latest.md'), renderTable(report));
  log(`results also in ${join(dir, 'latest.md')} and latest.json`);
  return 0;
}

async function closeAll(): Promise<void> {
  for (const c of [...open].reverse()) await c().catch((err) => log(`cleanup: ${reasonOf(err)}`));
  open.clear();
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up (stopping dockerd, ending sandboxes)`);
    void closeAll().then(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    await closeAll();
    process.exitCode = code;
  })
  .catch(async (err) => {
    log(`error: ${reasonOf(err)}`);
    await closeAll();
    process.exitCode = 1;
  });
