/**
 * The names index (src/state/names.ts): `create` and `rename` check a name through
 * `<root>/names/<name>`, a link to the id of the container that has it, instead of reading
 * every container's config. These tests hold it to what the old check guaranteed: Docker's
 * conflict message with the owner's id, a name free at once after rm, `run --rm` and rename,
 * and the index true after every writer, after a crash, and after it is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flock, LOCK_EX, LOCK_NB } from '../../src/native/index.js';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();
const names = () => join(sb.root, 'names');
const entry = (name: string) => join(names(), name);
const ok = async (args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
  const r = await sb.tsd(args, env ? { env } : undefined);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
};
const conflict = (r: RunResult, name: string, owner: string) => {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toContain(`Conflict. The container name "/${name}" is already in use by container "${owner}"`);
};
const linked = (name: string): string | undefined => {
  try {
    return readlinkSync(entry(name));
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  sb = await createSandbox('tsd-names');
  await ok(['load', '-i', BUSYBOX_TAR]);
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('the names index', () => {
  it('follows create, rename, rm and run --rm: conflicts name the owner, freed names are free at once', async () => {
    const a = await ok(['create', '--name', 'alpha', 'busybox', 'true']);
    expect(linked('alpha')).toBe(a);
    conflict(await sb.tsd(['run', '-d', '--name', 'alpha', 'busybox', 'true']), 'alpha', a);
    // rename: the new name is held, the old one is free, both at once
    await ok(['rename', 'alpha', 'beta']);
    expect([linked('alpha'), linked('beta')]).toEqual([undefined, a]);
    conflict(await sb.tsd(['create', '--name', 'beta', 'busybox', 'true']), 'beta', a);
    const a2 = await ok(['create', '--name', 'alpha', 'busybox', 'true']);
    conflict(await sb.tsd(['rename', 'alpha', 'beta']), 'beta', a);
    expect(await ok(['inspect', '-f', '{{.Id}}', 'beta'])).toBe(a);
    expect(await ok(['inspect', '-f', '{{.Id}}', 'alpha'])).toBe(a2);
    // rm: gone from the index, and the name can be taken again
    await ok(['rm', 'beta', 'alpha']);
    expect(readdirSync(names())).toEqual([]);
    // run --rm: the name is free when it returns
    await ok(['run', '--rm', '--name', 'gamma', 'busybox', 'true']);
    expect(linked('gamma')).toBeUndefined();
    const g = await ok(['run', '-d', '--name', 'gamma', 'busybox', 'sleep', '60']);
    conflict(await sb.tsd(['run', '--rm', '--name', 'gamma', 'busybox', 'true']), 'gamma', g);
    await ok(['rm', '-f', 'gamma']);
    // a generated name is indexed like a given one
    const gen = await ok(['create', 'busybox', 'true']);
    const genName = (await ok(['inspect', '-f', '{{.Name}}', gen])).slice(1);
    expect(linked(genName)).toBe(gen);
    await ok(['rm', gen]);
    expect(readdirSync(names())).toEqual([]);
  });

  it('is rebuilt from the records when it is missing', async () => {
    const k = await ok(['create', '--name', 'kept', 'busybox', 'true']);
    rmSync(names(), { recursive: true });
    // a root an earlier tsdocker made, or the directory removed: the records still hold the names
    conflict(await sb.tsd(['create', '--name', 'kept', 'busybox', 'true']), 'kept', k);
    expect(linked('kept')).toBe(k);
    // rename rebuilds it too, then moves the entry
    rmSync(names(), { recursive: true });
    await ok(['rename', 'kept', 'kept2']);
    expect(readdirSync(names())).toEqual(['kept2']);
    conflict(await sb.tsd(['create', '--name', 'kept2', 'busybox', 'true']), 'kept2', k);
    await ok(['rm', 'kept2']);
    expect(readdirSync(names())).toEqual([]);
  });

  it('stale entries hold no name: a removed or renamed owner, a killed create, a corrupt record', async () => {
    mkdirSync(names(), { recursive: true });
    // a link to a container that is gone (a crash after its removal), and one that is no link
    symlinkSync('0'.repeat(64), entry('ghost'));
    writeFileSync(entry('junk'), 'x');
    const gh = await ok(['create', '--name', 'ghost', 'busybox', 'true']);
    const jk = await ok(['create', '--name', 'junk', 'busybox', 'true']);
    expect([linked('ghost'), linked('junk')]).toEqual([gh, jk]);
    // a link to a container that has another name now (a rename killed before its last step)
    rmSync(entry('junk'));
    symlinkSync(gh, entry('old'));
    expect((await sb.tsd(['inspect', 'old'])).stderr).toMatch(/No such (object|container): old/);
    const o = await ok(['create', '--name', 'old', 'busybox', 'true']);
    expect(linked('old')).toBe(o);
    conflict(await sb.tsd(['create', '--name', 'ghost', 'busybox', 'true']), 'ghost', gh);
    await ok(['rm', gh, jk, o]);
    // a create killed after its entry, before its record: an incomplete directory, which the
    // next listing removes with the entry; the name is free before that already
    const dead = 'f'.repeat(64);
    mkdirSync(join(sb.root, 'containers', dead));
    symlinkSync(dead, entry('halfmade'));
    const h = await ok(['create', '--name', 'halfmade', 'busybox', 'true']);
    await ok(['rm', h]);
    symlinkSync(dead, entry('halfmade'));
    await ok(['ps', '-a']);
    expect(existsSync(join(sb.root, 'containers', dead))).toBe(false);
    expect(linked('halfmade')).toBeUndefined();
    // a corrupt record: its name is unknown, so free (as before the index); rm -f takes its entry
    const c = await ok(['create', '--name', 'broken', 'busybox', 'true']);
    writeFileSync(join(sb.root, 'containers', c, 'config.json'), '{ not json');
    const c2 = await ok(['create', '--name', 'broken', 'busybox', 'true']);
    symlinkSync(c, entry('broken-too'));
    await ok(['rm', '-f', c]);
    expect([linked('broken'), linked('broken-too')]).toEqual([c2, undefined]);
    await ok(['rm', c2]);
    expect(readdirSync(names())).toEqual([]);
  });

  it('a create under way (its .creating marker held, no record yet) holds its name and its directory', async () => {
    // the state a create is in between the containers lock and its record (runtime/create.ts)
    const busy = 'e'.repeat(64);
    const dir = join(sb.root, 'containers', busy);
    mkdirSync(dir);
    mkdirSync(names(), { recursive: true });
    symlinkSync(busy, entry('inflight'));
    // held as a live create holds it: an flock on the open file (closing it = the holder died)
    const fd = openSync(join(dir, '.creating'), 'w');
    expect(flock(fd, LOCK_EX | LOCK_NB)).toBe(true);
    try {
      conflict(await sb.tsd(['create', '--name', 'inflight', 'busybox', 'true']), 'inflight', busy);
      await ok(['ps', '-a']); // the listing's reconcile leaves it alone
      expect(existsSync(dir)).toBe(true);
    } finally {
      closeSync(fd);
    }
    // its holder died: a dead create, whose name is free and whose directory the next listing removes
    const taken = await ok(['create', '--name', 'inflight', 'busybox', 'true']);
    await ok(['ps', '-a']);
    expect(existsSync(dir)).toBe(false);
    expect(linked('inflight')).toBe(taken);
    await ok(['rm', taken]);
  });

  it('a run --rm killed after its record: the next ps removes it and frees its name', async () => {
    const r = await sb.tsd(['run', '--rm', '--name', 'killed', 'busybox', 'true'], { env: { ...process.env, TSDOCKER_FAULT_KILL_AT: 'run: created' } });
    expect(r.code).not.toBe(0);
    expect(linked('killed')).toMatch(/^[0-9a-f]{64}$/);
    await ok(['ps', '-a']);
    expect(linked('killed')).toBeUndefined();
    await ok(['run', '--rm', '--name', 'killed', 'busybox', 'true']);
  });

  it('rename and rm of one container at once: both finish, and the index holds neither name', async () => {
    for (let i = 0; i < 3; i++) {
      await ok(['run', '-d', '--name', `racer${i}`, 'busybox', 'sleep', '60']);
      const [rn, rm] = await Promise.all([sb.tsd(['rename', `racer${i}`, `renamed${i}`]), sb.tsd(['rm', '-f', `racer${i}`])]);
      expect(rm.stderr + rn.stderr).not.toMatch(/timed out waiting/);
      if (rn.code === 0 && /No such container/.test(rm.stderr)) await ok(['rm', '-f', `renamed${i}`]); // the rename came first
      else expect(rn.code === 0 || /No such container: racer/.test(rn.stderr), rn.stderr).toBe(true);
      expect((await sb.tsd(['ps', '-aq'])).stdout.trim()).toBe('');
      expect(readdirSync(names())).toEqual([]);
    }
  });

  it('findEntry checks the entry: an entry that points elsewhere never resolves a name to the wrong container', async () => {
    const x = await ok(['create', '--name', 'xname', 'busybox', 'true']);
    const y = await ok(['create', '--name', 'yname', 'busybox', 'true']);
    rmSync(entry('xname'));
    symlinkSync(y, entry('xname'));
    expect(await ok(['inspect', '-f', '{{.Id}}', 'xname'])).toBe(x); // found by reading the records
    expect(JSON.parse(readFileSync(join(sb.root, 'containers', y, 'config.json'), 'utf8')).name).toBe('yname');
    await ok(['rm', x, y]);
  });
});
