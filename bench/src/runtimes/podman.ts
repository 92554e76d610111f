/**
 * Podman as a peer: storage, run state and tmp in a temp dir; every podman command runs
 * inside a throwaway network + mount namespace whose /run/netns, /var/lib/cni and /dev/shm
 * are private tmpfs, so its CNI rules, leases and locks never reach the real host.
 * ULIMITS: podman's defaults for root (nofile 1048576, nproc 4194304) are above what this
 * VM lets runc set (no CAP_SYS_RESOURCE: "error setting rlimit type 7/6: operation not
 * permitted"); 1024 is what `runc spec` sets too.
 */
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.js';
import { failure, must, run } from '../proc.js';
import { openSandbox } from '../sandbox.js';
import type { ImageArchive } from '../image.js';
import { runFlags, type Runtime } from './types.js';

export async function openPodman(image: ImageArchive): Promise<Runtime> {
  if (!existsSync('/usr/bin/podman')) throw new Error('podman not installed (--install-peers)');
  const sandbox = await openSandbox('podman', { tmpfsOver: ['/run/netns', '/var/lib/cni', '/dev/shm'] });
  const d = sandbox.dir;
  const cli = [
    'podman',
    '--root', join(d, 'storage'),
    '--runroot', join(d, 'run'),
    '--tmpdir', join(d, 'tmp'),
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
  ];
  const close = async (): Promise<string[]> => {
    await run(sandbox.enter([...cli, 'rm', '-f', '-t', '0', '--all']), { timeoutMs: 300_000 });
    return sandbox.close();
  };
  try {
    const version = (await must(sandbox.enter([...cli, 'version', '-f', '{{.Client.Version}}']))).trim();
    const load = sandbox.enter([...cli, 'load', '-i', image.path]);
    const r = await run(load, { timeoutMs: 120_000 });
    if (r.code !== 0) throw failure(load, r);
    log(`podman ${version}: image loaded`);
    return {
      name: 'podman',
      version,
      sandbox,
      runArgv: (spec) => sandbox.enter([...cli, 'run', '--pull', 'never', ...ULIMITS, ...runFlags(spec), image.ref, ...spec.cmd]),
      rmArgv: (names) => sandbox.enter([...cli, 'rm', '-f', '-t', '0', ...names]),
      cliArgv: (args) => sandbox.enter([...cli, ...args]),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
