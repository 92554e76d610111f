/**
 * The Engine API: the same docker 20.10 client calls against dockerd (column docker) and
 * against `tsdocker serve` (column tsdocker): `docker run --rm busybox true` (create, attach,
 * start, wait, remove: a handful of requests), `docker ps` and `docker inspect` of a running
 * container. Spawn to exit of the client, so both columns pay for the same client.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { background, run, sleep, stop, timed } from '../proc.js';
import { put, skip, type Results } from '../results.js';
import type { Runtime } from '../runtimes/types.js';
import { sample, type Plan } from '../stats.js';
import type { FigureDef } from '../figures.js';

const IDS = ['api.run', 'api.ps', 'api.inspect'];

export function apiFigureDefs(): FigureDef[] {
  const what = 'docker client → engine (dockerd; tsdocker serve)';
  return [
    { id: 'api.run', label: `API: \`docker run --rm busybox true\`, ${what}`, unit: 'ms', better: 'lower' },
    { id: 'api.ps', label: `API: \`docker ps\`, one container running, ${what}`, unit: 'ms', better: 'lower' },
    { id: 'api.inspect', label: `API: \`docker inspect\` of a running container, ${what}`, unit: 'ms', better: 'lower' },
  ];
}

/** The image the runtime runs: the word its run argv ends with when there is no command. */
const imageRef = (rt: Runtime): string => rt.runArgv({ rm: true, net: 'none', cmd: [] }).at(-1)!;

/** Starts `tsdocker serve` in the runtime's sandbox; the docker client argv on it and a stop. */
async function serveTsdocker(rt: Runtime): Promise<{ client: string[]; close(): Promise<void> }> {
  if (!rt.cliArgv) throw new Error('no CLI argv for tsdocker');
  const dir = mkdtempSync(join(rt.sandbox.dir, 'api-'));
  const sock = join(dir, 'api.sock');
  const server = background(rt.cliArgv(['serve', '-H', `unix://${sock}`]), join(dir, 'serve.log'));
  const client = rt.sandbox.enter([existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker', '-H', `unix://${sock}`]);
  const close = async () => {
    await stop(server.pid);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 120; i++) {
    if ((await run([...client, 'version'], { timeoutMs: 5000 })).code === 0) return { client, close };
    await sleep(250);
  }
  await close();
  throw new Error('tsdocker serve did not answer in 30 s');
}

/** The three figures for one engine; docker uses its dockerd, tsdocker a server started here. */
export async function apiFigures(res: Results, rt: Runtime, plan: Plan): Promise<void> {
  if (rt.name !== 'docker' && rt.name !== 'tsdocker') return;
  if (!existsSync('/usr/bin/docker')) return skip(res, IDS, rt.name, 'no docker client (/usr/bin/docker; --install-peers)');
  let engine: { client: string[]; close(): Promise<void> };
  try {
    engine = rt.name === 'docker' ? { client: rt.cli!, close: async () => undefined } : await serveTsdocker(rt);
  } catch (err) {
    return skip(res, IDS, rt.name, (err as Error).message);
  }
  const d = (args: string[]) => [...engine.client, ...args];
  const ref = imageRef(rt);
  try {
    put(res, 'api.run', rt.name, await sample(`${rt.name} API run --rm`, plan, () => timed(d(['run', '--rm', '--pull', 'never', ref, 'true']), { timeoutMs: 120_000 })));
    await timed(d(['run', '-d', '--pull', 'never', '--name', 'apibench', ref, 'sleep', '3600']), { timeoutMs: 120_000 });
    put(res, 'api.ps', rt.name, await sample(`${rt.name} API ps`, plan, () => timed(d(['ps']), { timeoutMs: 60_000 })));
    put(res, 'api.inspect', rt.name, await sample(`${rt.name} API inspect`, plan, () => timed(d(['inspect', 'apibench']), { timeoutMs: 60_000 })));
  } finally {
    await run(d(['rm', '-f', 'apibench']), { timeoutMs: 60_000 });
    await engine.close();
  }
}
