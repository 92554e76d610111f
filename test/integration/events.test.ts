/**
 * The events journal and `tsdocker events`: every state change is one JSON line under the
 * root, shown as docker/cli shows dockerd's events (the expected lines, as Docker 20.10 prints
 * them for the same commands, are written here); filters, templates, --since/--until,
 * following the journal as it grows, concurrent writers and the bounded size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../helpers/api-server.js';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();
const tsd = (args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> => sb.tsd(args, env ? { env } : undefined);
const ok = async (args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
  const r = await tsd(args, env);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const now = () => (Date.now() / 1000).toFixed(6);
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) /;

/** `events --since T0 --until now` lines, each checked for Docker's time prefix and shown without it. */
async function pastEvents(since: string, extra: string[] = []): Promise<string[]> {
  const lines = (await ok(['events', '--since', since, '--until', now(), ...extra])).split('\n').filter(Boolean);
  if (extra.includes('--format')) return lines;
  for (const l of lines) expect(l).toMatch(TIME);
  return lines.map((l) => l.replace(TIME, ''));
}

let imageId: string;
/** the start of the lifecycle test's events and of the network/volume test's */
let tLife: string;
let tNet: string;
let lifeId: string;
let untagAttrs: string;

beforeAll(async () => {
  sb = await createSandbox('tsd-events');
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('events journal', () => {
  it('records image, container, network and volume changes with Docker attributes', async () => {
    const t0 = now();
    await ok(['load', '-i', BUSYBOX_TAR]);
    imageId = (await ok(['inspect', '--format', '{{.Id}}', 'busybox'])).trim();
    // dockerd adds the image's labels to its events
    const labels = JSON.parse(await ok(['inspect', '--format', '{{json .Config.Labels}}', 'busybox'])) as Record<string, string>;
    const withLabels = (name: string) => [`name=${name}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)].sort().join(', ');
    untagAttrs = withLabels(imageId);
    await ok(['tag', 'busybox', 'evtag:1']);
    expect((await tsd(['run', '--name', 'ev1', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
    const c1 = (await ok(['inspect', '--format', '{{.Id}}', 'ev1'])).trim();
    const br = (await ok(['network', 'inspect', '--format', '{{.Id}}', 'bridge'])).trim();
    expect(await pastEvents(t0)).toEqual([
      `image load ${imageId} (${withLabels(imageId)})`,
      `image tag ${imageId} (${withLabels('evtag:1')})`,
      `container create ${c1} (image=busybox, name=ev1)`,
      `network connect ${br} (container=${c1}, name=bridge, type=bridge)`,
      `container start ${c1} (image=busybox, name=ev1)`,
      `container die ${c1} (exitCode=3, image=busybox, name=ev1)`,
      `network disconnect ${br} (container=${c1}, name=bridge, type=bridge)`,
    ]);
  });

  it('stop, kill, rename, pause, unpause, restart, exec, rm -f, rmi, networks and volumes', async () => {
    const t0 = now();
    tLife = t0;
    const c = (await ok(['run', '-d', '--name', 'ev2', '--network', 'none', '--label', 'app=ev', 'busybox', 'sleep', '300'])).trim();
    lifeId = c;
    await ok(['stop', '-t', '0', 'ev2']); // sleep as pid 1 ignores SIGTERM: Docker kills it
    await ok(['rename', 'ev2', 'ev3']);
    await ok(['start', 'ev3']);
    await ok(['pause', 'ev3']);
    await ok(['unpause', 'ev3']);
    await ok(['exec', 'ev3', 'true']);
    await ok(['kill', '-s', 'USR1', 'ev3']); // ignored by pid 1: it keeps running
    await ok(['restart', '-t', '0', 'ev3']);
    await ok(['rm', '-f', 'ev3']);
    const a = 'app=ev, image=busybox';
    const lines = await pastEvents(t0);
    const execId = /execID=([0-9a-f]{64})/.exec(lines.find((l) => l.includes('exec_create')) ?? '')?.[1];
    expect(execId).toBeDefined();
    expect(lines).toEqual([
      `container create ${c} (${a}, name=ev2)`,
      `container start ${c} (${a}, name=ev2)`,
      `container kill ${c} (${a}, name=ev2, signal=15)`,
      `container kill ${c} (${a}, name=ev2, signal=9)`,
      `container die ${c} (app=ev, exitCode=137, image=busybox, name=ev2)`,
      `container stop ${c} (${a}, name=ev2)`,
      `container rename ${c} (${a}, name=ev3, oldName=/ev2)`,
      `container start ${c} (${a}, name=ev3)`,
      `container pause ${c} (${a}, name=ev3)`,
      `container unpause ${c} (${a}, name=ev3)`,
      `container exec_create: true  ${c} (app=ev, execID=${execId}, image=busybox, name=ev3)`,
      `container exec_start: true  ${c} (app=ev, execID=${execId}, image=busybox, name=ev3)`,
      `container exec_die ${c} (app=ev, execID=${execId}, exitCode=0, image=busybox, name=ev3)`,
      `container kill ${c} (${a}, name=ev3, signal=10)`,
      `container kill ${c} (${a}, name=ev3, signal=15)`,
      `container kill ${c} (${a}, name=ev3, signal=9)`,
      `container die ${c} (app=ev, exitCode=137, image=busybox, name=ev3)`,
      `container stop ${c} (${a}, name=ev3)`,
      `container start ${c} (${a}, name=ev3)`,
      `container restart ${c} (${a}, name=ev3)`,
      `container kill ${c} (${a}, name=ev3, signal=9)`,
      `container die ${c} (app=ev, exitCode=137, image=busybox, name=ev3)`,
      `container destroy ${c} (${a}, name=ev3)`,
    ]);

    const t1 = now();
    tNet = t1;
    await ok(['network', 'create', 'evnet']);
    const net = (await ok(['network', 'inspect', '--format', '{{.Id}}', 'evnet'])).trim();
    await ok(['volume', 'create', 'evvol']);
    await ok(['run', '--rm', '--name', 'ev4', '--network', 'evnet', '-v', 'evvol:/data:ro', 'busybox', 'true']);
    const ev4 = /container create ([0-9a-f]{64})/.exec((await pastEvents(t1)).join('\n'))?.[1];
    await ok(['network', 'rm', 'evnet']);
    await ok(['volume', 'rm', 'evvol']);
    await ok(['rmi', 'evtag:1']);
    expect(await pastEvents(t1)).toEqual([
      `network create ${net} (name=evnet, type=bridge)`,
      'volume create evvol (driver=local)',
      `container create ${ev4} (image=busybox, name=ev4)`,
      `volume mount evvol (container=${ev4}, destination=/data, driver=local, propagation=, read/write=false)`,
      `network connect ${net} (container=${ev4}, name=evnet, type=bridge)`,
      `container start ${ev4} (image=busybox, name=ev4)`,
      `container die ${ev4} (exitCode=0, image=busybox, name=ev4)`,
      `network disconnect ${net} (container=${ev4}, name=evnet, type=bridge)`,
      `container destroy ${ev4} (image=busybox, name=ev4)`,
      `network destroy ${net} (name=evnet, type=bridge)`,
      'volume destroy evvol (driver=local)',
      `image untag ${imageId} (${untagAttrs})`,
    ]);
  });

  it('writes one whole JSON line per event from concurrent commands', async () => {
    const t0 = now();
    const tags = Array.from({ length: 6 }, (_, i) => `par:${i}`);
    const results = await Promise.all(tags.map((t) => tsd(['tag', 'busybox', t])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const journal = readFileSync(join(sb.root, 'events.log'), 'utf8');
    expect(journal.endsWith('\n')).toBe(true);
    for (const line of journal.trimEnd().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
    const shown = await pastEvents(t0, ['--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    expect(shown.sort()).toEqual(tags.map((t) => `image tag ${t}`).sort());
    await ok(['rmi', ...tags]);
  });
});

/** A child's stdout, resolved once `done(text)` holds (give it whole lines: output comes in chunks). */
function outputUntil(child: import('node:child_process').ChildProcess, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (done(text)) resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before the expected output: ${text}`)));
  });
}

describe('tsdocker events', () => {
  it('follows the journal until interrupted, past events first with --since', async () => {
    const t0 = now();
    await ok(['run', '--name', 'ev5', '--network', 'none', 'busybox', 'true']);
    const child = sb.spawnTsd(['events', '--since', t0, '--filter', 'type=container', '--filter', 'event=start', '--filter', 'event=die', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    const seen = outputUntil(child, (t) => t.includes('die ev6\n'));
    await ok(['run', '--name', 'ev6', '--network', 'none', 'busybox', 'true']);
    expect(await seen).toBe('start ev5\ndie ev5\nstart ev6\ndie ev6\n');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await ok(['rm', 'ev5', 'ev6']);
  });

  it('filters as dockerd does: names and id prefixes, event, type, label, image, network, volume', async () => {
    const f = (...kv: string[]) => pastEvents(tLife, [...kv.flatMap((x) => ['--filter', x]), '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    expect(await f('container=ev3', 'event=die')).toEqual(['container die ev3', 'container die ev3']);
    expect(await f('container=ev2', 'event=die')).toEqual(['container die ev2']);
    expect(await f(`container=${lifeId.slice(0, 12)}`, 'event=die')).toEqual(['container die ev2', 'container die ev3', 'container die ev3']);
    expect(await f('label=app=ev', 'event=destroy')).toEqual(['container destroy ev3']);
    expect(await f('label=app=other')).toEqual([]);
    // exec_create names its command: the bare word matches by prefix
    expect(await f('event=exec_create')).toEqual(['container exec_create: true  ev3']);
    expect(await f('type=volume')).toEqual(['volume create <no value>', 'volume mount <no value>', 'volume destroy <no value>']);
    expect(await f('volume=evvol', 'event=mount')).toEqual(['volume mount <no value>']);
    expect(await f('network=evnet')).toEqual(['network create evnet', 'network connect evnet', 'network disconnect evnet', 'network destroy evnet']);
    expect(await f('image=busybox', 'event=create')).toEqual(['container create ev2', 'container create ev4', 'container create ev5', 'container create ev6']);
    // moby compares the name as given (and without its tag): busybox:latest is not busybox
    expect(await f('image=busybox:latest', 'event=create')).toEqual([]);
    const bad = await tsd(['events', '--until', now(), '--filter', 'nosuch=x']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining("Invalid filter 'nosuch'")]);
    void tNet;
  });

  it('{{json .}} is the API message, with the legacy fields and an exact timeNano', async () => {
    const [line] = await pastEvents(tLife, ['--filter', 'event=create', '--format', '{{json .}}']);
    const m = /"timeNano":(\d+)\}$/.exec(line!);
    expect(m).not.toBeNull();
    const e = JSON.parse(line!) as Record<string, unknown>;
    expect(Object.keys(e)).toEqual(['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
    expect(e).toMatchObject({ status: 'create', from: 'busybox', Type: 'container', Action: 'create', scope: 'local', Actor: { Attributes: { app: 'ev', image: 'busybox', name: 'ev2' } } });
    expect(e.id).toBe((e.Actor as { ID: string }).ID);
    expect(BigInt(m![1]!) / 1_000_000_000n).toBe(BigInt(e.time as number));
  });
});

describe('GET /events with the docker client', () => {
  let srv: ApiServer;
  beforeAll(async () => {
    srv = await startApiServer(sb);
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('docker events --since/--until prints what tsdocker events prints', async () => {
    const until = now();
    const ours = (await ok(['events', '--since', tNet, '--until', until])).split('\n').filter(Boolean);
    const theirs = (await srv.dockerOk(['events', '--since', tNet, '--until', until])).split('\n').filter(Boolean);
    expect(ours.length).toBeGreaterThan(5);
    expect(theirs).toEqual(ours);
    const filtered = await srv.dockerOk(['events', '--since', tNet, '--until', until, '--filter', 'type=network', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    expect(filtered).toBe('network create evnet\nnetwork connect evnet\nnetwork disconnect evnet\nnetwork destroy evnet\n');
  });

  it('streams new events to a docker events that follows', async () => {
    const child = sb.spawnTsd(['run', '--name', 'placeholder', '--network', 'none', 'busybox', 'true']);
    await new Promise((r) => child.once('exit', r));
    const t0 = now();
    const follower = (await import('node:child_process')).spawn(sb.enter[0]!, [...sb.enter.slice(1), 'env', `DOCKER_CONFIG=${sb.root}`, (await import('../helpers/api-server.js')).DOCKER, '-H', `unix://${srv.sock}`, 'events', '--since', t0, '--format', '{{.Status}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}', '--filter', 'event=die'], { stdio: 'pipe' });
    const seen = outputUntil(follower, (t) => /die ev7[^\n]*\n/.test(t));
    expect((await srv.docker(['run', '--name', 'ev7', '--network', 'none', 'busybox', 'sh', '-c', 'exit 4'])).code).toBe(4);
    expect(await seen).toBe('die ev7 4\n');
    follower.kill('SIGTERM');
    await new Promise((r) => follower.once('exit', r));
    await ok(['rm', 'ev7', 'placeholder']);
    const raw = await srv.get(`/events?since=${tNet}&until=${now()}&filters=${encodeURIComponent(JSON.stringify({ type: { volume: true } }))}`);
    expect(raw.status).toBe(200);
    expect(raw.body.trim().split('\n').map((l) => (JSON.parse(l) as { Action: string }).Action)).toEqual(['create', 'mount', 'destroy']);
  });
});

// last: a tiny limit rotates away what the tests above read
describe('journal size', () => {
  it('stays bounded: past the limit the journal rotates to events.log.1, and both are read', async () => {
    const env = { ...process.env, TSDOCKER_EVENTS_MAX_BYTES: '1500' };
    const t0 = now();
    for (let i = 0; i < 12; i++) await ok(['tag', 'busybox', `rot:${i}`], env);
    expect(statSync(join(sb.root, 'events.log')).size).toBeLessThanOrEqual(1500 + 400);
    expect(statSync(join(sb.root, 'events.log.1')).size).toBeLessThanOrEqual(1500 + 400);
    const names = (await pastEvents(t0, ['--filter', 'event=tag', '--format', '{{.Actor.Attributes.name}}']));
    // the newest are all there, in order; the oldest generation is gone
    expect(names.length).toBeGreaterThan(4);
    expect(names.length).toBeLessThan(12);
    expect(names).toEqual(Array.from({ length: names.length }, (_, i) => `rot:${12 - names.length + i}`));
    await ok(['rmi', ...Array.from({ length: 12 }, (_, i) => `rot:${i}`)]);
  });
});

describe('events of cp, export, commit, update and top', () => {
  it('update, top, cp both ways, export and commit, as dockerd names them', async () => {
    await ok(['run', '-d', '--name', 'evf', 'busybox', 'sleep', '1000']);
    const t0 = now();
    await ok(['update', '--pids-limit', '50', 'evf']);
    await ok(['top', 'evf']);
    await ok(['cp', 'evf:/etc/hostname', join(sb.root, 'evf-hostname')]);
    await ok(['cp', join(sb.root, 'evf-hostname'), 'evf:/tmp/']);
    await ok(['export', '-o', join(sb.root, 'evf.tar'), 'evf']);
    const img = (await ok(['commit', '-m', 'snap', 'evf', 'evf-img:1'])).trim();
    const shown = await pastEvents(t0, ['--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}', '--filter', 'container=evf']);
    expect(shown).toEqual(['container update evf', 'container top evf', 'container archive-path evf', 'container extract-to-dir evf', 'container export evf', 'container pause evf', 'container commit evf', 'container unpause evf']);
    const commit = await pastEvents(t0, ['--format', '{{.Actor.Attributes.comment}} {{.Actor.Attributes.imageID}}', '--filter', 'event=commit']);
    expect(commit).toEqual([`snap ${img}`]);
    await ok(['rm', '-f', 'evf']);
    await ok(['rmi', 'evf-img:1']);
  });
});
