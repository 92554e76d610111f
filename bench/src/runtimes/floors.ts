/**
 * Floors: what a start cannot beat. `runc run` on a bundle unpacked from the same archive
 * (namespaces and pivot_root, no network plumbing, no image bookkeeping) and `node -e 0`
 * (the start of any Node CLI). Both run through the same nsenter as tsdocker. Beside
 * runc, `tsdocker-oci run` on the very same bundle: tsdocker's OCI front end.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.js';
import { must, run } from '../proc.js';
import { openSandbox, type Sandbox } from '../sandbox.js';
import { unpackRootfs, type ImageArchive } from '../image.js';

export interface Floor {
  name: string;
  version: string;
  argv(i: number): string[];
}

export interface Floors {
  sandbox: Sandbox;
  runc?: Floor;
  runcSkip?: string;
  oci?: Floor;
  ociSkip?: string;
  node: Floor;
  close(): Promise<string[]>;
}

export async function openFloors(image: ImageArchive, repo: string): Promise<Floors> {
  const sandbox = await openSandbox('floors');
  const node: Floor = { name: 'node -e 0', version: process.version, argv: () => sandbox.enter([process.execPath, '-e', '0']) };
  const floors: Floors = { sandbox, node, close: () => sandbox.close() };
  try {
    if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/runc')) throw new Error('runc not installed (--install-peers)');
    const bundle = join(sandbox.dir, 'bundle');
    await unpackRootfs(image.path, join(sandbox.dir, 'archive'), join(bundle, 'rootfs'));
    await must(['runc', 'spec', '--bundle', bundle]);
    const cfgPath = join(bundle, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { process: { terminal: boolean; args: string[] } };
    cfg.process.terminal = false;
    cfg.process.args = ['true'];
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const version = (await must(['runc', '--version'])).split('\n')[0]?.replace(/^runc version /, '') ?? '?';
    const state = join(sandbox.dir, 'state');
    const argv = (i: number): string[] => sandbox.enter(['runc', '--root', state, 'run', '-b', bundle, `tsdb-floor-${i}`]);
    const probe = await run(argv(-1), { timeoutMs: 30_000 });
    if (probe.code !== 0) throw new Error(`runc run: exit ${probe.code}: ${probe.stderr.trim().slice(0, 160)}`);
    floors.runc = { name: 'runc', version, argv };
    log(`runc ${version}: bundle ready`);
    try {
      const oci = join(repo, 'bin', 'tsdocker-oci');
      const ociState = join(sandbox.dir, 'oci-state');
      const ociArgv = (i: number): string[] => sandbox.enter([oci, '--root', ociState, 'run', '-b', bundle, `tsdb-oci-${i}`]);
      const p = await run(ociArgv(-1), { timeoutMs: 30_000 });
      if (p.code !== 0) throw new Error(`tsdocker-oci run: exit ${p.code}: ${p.stderr.trim().slice(0, 160)}`);
      const v = (await must([oci, '--version'])).split('\n')[0]?.replace(/^tsdocker-oci version /, '') ?? '?';
      floors.oci = { name: 'tsdocker-oci', version: v, argv: ociArgv };
    } catch (err) {
      floors.ociSkip = err instanceof Error ? err.message : String(err);
    }
  } catch (err) {
    floors.runcSkip = err instanceof Error ? err.message : String(err);
  }
  return floors;
}
