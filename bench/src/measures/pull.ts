/**
 * Pull time: one multi-layer image (busybox plus four layers of 6 MB of random bytes, so
 * gzip cannot shrink them) in a docker-registry (distribution) on the sandbox's loopback,
 * pushed there by tsdocker; then, each run from an empty store, `tsdocker pull`,
 * `docker pull` (a dockerd of its own in the same sandbox, where dockerd is installed) and
 * `skopeo copy docker://... oci:DIR` (skopeo only writes the blobs; it unpacks nothing,
 * the others unpack every layer).
 */
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { log } from '../log.js';
import { background, must, run, sleep, stop, timed } from '../proc.js';
import { openSandbox } from '../sandbox.js';
import { attempt, put, skip, type Results } from '../results.js';
import { sample, type Plan } from '../stats.js';
import { openDocker } from '../runtimes/docker.js';
import type { ImageArchive } from '../image.js';

const IMG = '127.0.0.1:5000/bench/pull:1';
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A docker-save archive: the busybox layer of `base`, then `extra` layers of random bytes. */
async function buildArchive(base: ImageArchive, dir: string, extra: number, mb: number): Promise<string> {
  const work = join(dir, 'build');
  mkdirSync(work, { recursive: true });
  await must(['tar', '-C', work, '-xf', base.path]);
  const m = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const layers = [m[0]!.Layers[0]!];
  for (let i = 0; i < extra; i++) {
    const root = join(dir, `l${i}`);
    mkdirSync(join(root, 'data'), { recursive: true });
    writeFileSync(join(root, 'data', `blob${i}`), randomFillSync(Buffer.alloc(mb << 20)));
    await must(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', join(work, `l${i}.tar`), '.']);
    layers.push(`l${i}.tar`);
  }
  const diffIds = layers.map((l) => `sha256:${sha(readFileSync(join(work, l)))}`);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
  writeFileSync(join(work, 'config.json'), config);
  writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [IMG], Layers: layers }]));
  const out = join(dir, 'pull-image.tar');
  await must(['tar', '-C', work, '-cf', out, 'manifest.json', 'config.json', ...layers]);
  return out;
}

export async function pullFigures(res: Results, plan: Plan, repo: string, base: ImageArchive): Promise<void> {
  const ids = ['pull.multi'];
  const sb = await openSandbox('registry');
  const reg = background(sb.enter(['docker-registry', 'serve', join(sb.dir, 'registry.yml')]), join(sb.dir, 'registry.log'));
  try {
    writeFileSync(
      join(sb.dir, 'registry.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(sb.dir, 'data')}\nhttp:\n  addr: 127.0.0.1:5000\n`,
    );
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await run(sb.enter(['busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:5000/v2/']))).code === 0;
      if (!up) await sleep(100);
    }
    if (!up) throw new Error(`docker-registry did not come up: ${readFileSync(join(sb.dir, 'registry.log'), 'utf8').trim().split('\n').pop()}`);
    const tsd = (root: string, args: string[]): string[] => sb.enter(['node', join(repo, 'bin', 'tsdocker'), '--root', root, ...args]);
    const seed = join(sb.dir, 'seed');
    await must(tsd(seed, ['load', '-i', await buildArchive(base, sb.dir, 4, 6)]), { timeoutMs: 300_000 });
    await must(tsd(seed, ['push', IMG]), { timeoutMs: 300_000 });
    log(`registry: ${IMG} pushed (busybox + 4 x 6 MB layers)`);

    await attempt(res, ids, 'tsdocker', async () => {
      const root = join(sb.dir, 'tsd');
      put(res, 'pull.multi', 'tsdocker', await sample('tsdocker pull', plan, async () => {
        await run(tsd(root, ['rmi', IMG]));
        return timed(tsd(root, ['pull', '-q', IMG]), { timeoutMs: 300_000 });
      }));
    });
    await attempt(res, ids, 'skopeo', async () => {
      const dest = join(sb.dir, 'skopeo');
      put(res, 'pull.multi', 'skopeo', await sample('skopeo copy', plan, async () => {
        rmSync(dest, { recursive: true, force: true });
        return timed(sb.enter(['skopeo', '--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${IMG}`, `oci:${dest}:1`]), { timeoutMs: 300_000 });
      }), 'blobs written to an OCI layout, nothing unpacked');
    });
    let docker;
    try {
      docker = await openDocker(base, sb);
    } catch (err) {
      skip(res, ids, 'docker', (err as Error).message);
    }
    if (docker) {
      const client = docker.cli!;
      try {
        await attempt(res, ids, 'docker', async () => {
          put(res, 'pull.multi', 'docker', await sample('docker pull', plan, async () => {
            await run([...client, 'rmi', '-f', IMG]);
            return timed([...client, 'pull', '-q', IMG], { timeoutMs: 300_000 });
          }));
        });
      } finally {
        await docker.close();
      }
    }
  } catch (err) {
    for (const c of ['tsdocker', 'docker', 'skopeo']) skip(res, ids, c, (err as Error).message.split('\n')[0]!);
  } finally {
    await stop(reg.pid);
    await sb.close();
  }
}
