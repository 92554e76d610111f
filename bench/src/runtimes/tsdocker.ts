/** tsdocker under test: its own temp --root, inside a throwaway network + mount namespace. */
import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.js';
import { run, failure } from '../proc.js';
import { openSandbox } from '../sandbox.js';
import type { ImageArchive } from '../image.js';
import { runFlags, type Runtime } from './types.js';

/** Remove the bench's own (empty) cgroup parent from every hierarchy; only empty dirs go. */
function removeCgroupParent(parent: string): void {
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
  } catch {
    return;
  }
  for (const dir of [join('/sys/fs/cgroup', parent), ...hierarchies.map((h) => join(h, parent))]) {
    try {
      rmdirSync(dir);
    } catch {
      /* not there, not empty, or not a hierarchy */
    }
  }
}

export async function openTsdocker(repo: string, image: ImageArchive): Promise<Runtime> {
  const sandbox = await openSandbox('tsdocker');
  const root = join(sandbox.dir, 'root');
  // the containers' cgroups go under a parent of the bench's own, removed at the end
  const cgroupParent = `tsdocker-bench-${process.pid}`;
  process.env.TSDOCKER_CGROUP_PARENT = cgroupParent;
  // exec'd as a user runs it: its #! line (Node started without NODE_EXTRA_CA_CERTS) is part of a start
  const cli = [join(repo, 'bin', 'tsdocker'), '--root', root];
  const close = async (): Promise<string[]> => {
    const ls = await run(sandbox.enter([...cli, 'ps', '-aq']), { timeoutMs: 30_000 });
    const ids = ls.code === 0 ? ls.stdout.split('\n').filter(Boolean) : [];
    if (ids.length) await run(sandbox.enter([...cli, 'rm', '-f', ...ids]), { timeoutMs: 120_000 });
    const left = await sandbox.close();
    removeCgroupParent(cgroupParent);
    return left;
  };
  try {
    const v = await run([...cli, '--version'], { timeoutMs: 30_000 });
    const version = v.code === 0 ? v.stdout.trim().split('\n')[0] ?? '?' : 'unknown';
    const load = sandbox.enter([...cli, 'load', '-i', image.path]);
    const r = await run(load, { timeoutMs: 120_000 });
    if (r.code !== 0) throw failure(load, r);
    log(`tsdocker ${version}: image loaded`);
    return {
      name: 'tsdocker',
      version,
      sandbox,
      runArgv: (spec) => sandbox.enter([...cli, 'run', ...runFlags(spec), image.ref, ...spec.cmd]),
      rmArgv: (names) => sandbox.enter([...cli, 'rm', '-f', ...names]),
      cliArgv: (args) => sandbox.enter([...cli, ...args]),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
