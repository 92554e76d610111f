/**
 * Docker as a peer: a dockerd of its own (data-root, exec-root and socket in a temp dir),
 * started inside a throwaway network + mount namespace so that its iptables rules, its
 * FORWARD policy DROP and docker0 never reach the real host. Stopped again on close.
 * tsdocker-oci is added as a runtime, so `docker run --runtime tsdocker` is measured too.
 * Given a sandbox (the pull measure's, where its registry listens), dockerd runs in that one
 * and closing leaves the sandbox to its owner.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.js';
import { background, failure, must, run, sleep, stop } from '../proc.js';
import { openSandbox, type Sandbox } from '../sandbox.js';
import type { ImageArchive } from '../image.js';
import { runFlags, type Runtime } from './types.js';

export async function openDocker(image: ImageArchive, shared?: Sandbox, repo?: string): Promise<Runtime> {
  if (!existsSync('/usr/sbin/dockerd') && !existsSync('/usr/bin/dockerd')) throw new Error('dockerd not installed (--install-peers)');
  const sandbox = shared ?? (await openSandbox('docker'));
  const d = sandbox.dir;
  const sock = `unix://${join(d, 'docker.sock')}`;
  const client = [existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker', '-H', sock];
  const daemon = background(
    sandbox.enter(['dockerd', '--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'), '--pidfile', join(d, 'dockerd.pid'), '-H', sock,
      ...(repo ? ['--add-runtime', `tsdocker=${join(repo, 'bin', 'tsdocker-oci')}`] : [])]),
    join(d, 'dockerd.log'),
  );
  const close = async (): Promise<string[]> => {
    const ls = await run([...client, 'ps', '-aq'], { timeoutMs: 30_000 });
    const ids = ls.code === 0 ? ls.stdout.split('\n').filter(Boolean) : [];
    if (ids.length) await run([...client, 'rm', '-f', ...ids], { timeoutMs: 300_000 });
    await stop(daemon.pid, 20_000);
    log(`docker: dockerd (pid ${daemon.pid}) stopped`);
    return shared ? [] : sandbox.close();
  };
  try {
    let ok = false;
    for (let i = 0; i < 120 && !ok; i++) {
      if ((await run([...client, 'version'], { timeoutMs: 5000 })).code === 0) ok = true;
      else await sleep(250);
    }
    if (!ok) {
      const tail = (await run(['tail', '-n', '3', join(d, 'dockerd.log')])).stdout.trim().replace(/\n/g, ' / ');
      throw new Error(`dockerd did not come up in 30 s: ${tail}`);
    }
    const version = (await must([...client, 'version', '-f', '{{.Server.Version}}'])).trim();
    const load = [...client, 'load', '-i', image.path];
    const r = await run(load, { timeoutMs: 120_000 });
    if (r.code !== 0) throw failure(load, r);
    log(`docker ${version}: dockerd pid ${daemon.pid} up in its own netns, image loaded`);
    const rmArgv = (names: string[]): string[] => [...client, 'rm', '-f', ...names];
    return {
      name: 'docker',
      version,
      sandbox,
      cli: client,
      cliArgv: (args) => [...client, ...args],
      runArgv: (spec) => [...client, 'run', '--pull', 'never', ...runFlags(spec), image.ref, ...spec.cmd],
      rmArgv,
      close,
      variants: repo ? [{
        name: 'docker+tsdocker-oci',
        version,
        sandbox,
        runArgv: (spec) => [...client, 'run', '--pull', 'never', '--runtime', 'tsdocker', ...runFlags(spec), image.ref, ...spec.cmd],
        rmArgv,
        close: async () => [],
      }] : [],
    };
  } catch (err) {
    await close();
    throw err;
  }
}
