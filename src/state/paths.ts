/**
 * THE on-disk layout. The only module that joins tsdocker's state directories; everything
 * else asks it for a path. `--root DIR` (or TSDOCKER_ROOT) moves all of it, runtime files
 * included, so tests and simulated hosts never share state.
 *
 *   <root>/images/            image store (image/store.ts owns the inside)
 *   <root>/containers/<id>/   config.json, state.json, exit.json, upper/, work/, rootfs/, etc/, ctr.log
 *   <root>/names/<name>       the names index: a symlink to the id of the container of that name (state/names.ts)
 *   <root>/networks/          network records and IPAM leases (net/ owns the inside)
 *   <root>/volumes/<name>/    named volumes
 *   <root>/locks/             lock files (state/lock.ts)
 *   <root>/cluster.json       the overlay's cluster settings (net/overlay/config.ts reads it)
 *   <root>/daemon.json        settings as dockerd's daemon.json (insecure-registries)
 *   <root>/events.log(.1)     the events journal, one JSON line per event (state/events.ts)
 *   <run>/                    runtime files: /run/tsdocker by default, <root>/run with --root
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

export const DEFAULT_ROOT = '/var/lib/tsdocker';
export const DEFAULT_RUN = '/run/tsdocker';

let root = process.env.TSDOCKER_ROOT || DEFAULT_ROOT;

export function setRoot(dir: string): void {
  root = dir;
}

export function rootDir(): string {
  return root;
}

export function runDir(): string {
  return root === DEFAULT_ROOT ? DEFAULT_RUN : join(root, 'run');
}

// <root>/containers, joined once per root: a listing builds several paths per container
let containersOf: [string, string] = ['', ''];
function containersDir(): string {
  if (containersOf[0] !== root) containersOf = [root, join(root, 'containers')];
  return containersOf[1];
}

export const paths = {
  images: () => join(root, 'images'),
  containers: () => containersDir(),
  /** compiled seccomp filters, by the hash of their text (native/src/seccomp.c) */
  seccompCache: () => join(root, 'cache', 'seccomp'),
  container: (id: string) => `${containersDir()}/${id}`,
  /** the names index (state/names.ts); never made by ensureLayout: its absence means "rebuild it" */
  names: () => join(root, 'names'),
  name: (name: string) => join(root, 'names', name),
  networks: () => join(root, 'networks'),
  volumes: () => join(root, 'volumes'),
  volume: (name: string) => join(root, 'volumes', name),
  locks: () => join(root, 'locks'),
  lock: (name: string) => join(root, 'locks', `${name}.lock`),
  clusterConfig: () => join(root, 'cluster.json'),
  run: () => runDir(),
  daemonConfig: () => join(root, 'daemon.json'),
  events: () => join(root, 'events.log'),
  eventsOld: () => join(root, 'events.log.1'),
};

/** Create the top-level directories once; cheap when they exist. */
export function ensureLayout(): void {
  for (const dir of [paths.images(), paths.containers(), paths.networks(), paths.volumes(), paths.locks(), runDir()]) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
  }
}

/**
 * tsdocker-oci's state (its own --root, /run/tsdocker-oci by default, as runc's /run/runc):
 *   <root>/<id>/state.json   the container record     <root>/<id>/exec.fifo  the init waits on it
 *   <root>/<id>/spec         the monitor's spec        <root>/<id>/seccomp    the rendered filter
 */
export const OCI_DEFAULT_ROOT = '/run/tsdocker-oci';

export const ociPaths = {
  container: (root: string, id: string) => join(root, id),
  state: (root: string, id: string) => join(root, id, 'state.json'),
  fifo: (root: string, id: string) => join(root, id, 'exec.fifo'),
  spec: (root: string, id: string, name = 'spec') => join(root, id, name),
  seccomp: (root: string, id: string) => join(root, id, 'seccomp'),
};
