/**
 * `create`: validate everything first (image, process, network plan), then, under the
 * containers lock, reserve the name and write the record. Nothing is created on the host
 * before validation has passed; if writing the record fails, the directory goes too.
 */
import { rmSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { resolveImage, type ImageRecord } from '../image/index.js';
import { holdMarker, withLock, withSharedLock } from '../state/lock.js';
import { ensureLayout } from '../state/paths.js';
import { emitContainer } from '../state/events.js';
import { containerFiles, writeConfig, type ContainerConfig } from '../state/containers.js';
import { nameIndex, releaseIndexed } from '../state/names.js';
import { createContainerDir } from '../rootfs/prepare.js';
import { planNetwork } from '../net/index.js';
import { mergeExposed } from '../net/expose.js';
import { planNamespaces } from './namespaces.js';
import { checkPlatform, planSysctls, resolveGroupAdd } from './extras.js';
import { planLinks, volumesFrom } from './legacy.js';
import { parsePublish } from '../net/ports.js';
import { generateName, nameConflict, newContainerId, validateName } from './names.js';
import { readLabelFiles, resolveProcess, resolveUser } from './options.js';
import type { RunOptions } from './types.js';
import { validateContainerResources } from './hooks.js';
import { mark } from '../sys/trace.js';
import { parseSignal } from './lifecycle.js';
import { checkAutoRemove, parseRestartPolicy } from './restart-policy.js';
import { healthFromFlags, mergeHealth } from './health.js';

export async function createContainer(opts: RunOptions): Promise<ContainerConfig> {
  return (await createContainerWithImage(opts)).config;
}

/**
 * create, also handing back the resolved image so `run` need not resolve it again. With
 * `markStarting` (`run --rm`) the record appears with a marker held until the caller
 * calls `started()`: if the caller dies first, the next `ps` knows to remove the record.
 */
export async function createContainerWithImage(
  opts: RunOptions,
  how: { markStarting?: boolean } = {},
): Promise<{ config: ContainerConfig; image: ImageRecord; started: () => void }> {
  const restartPolicy = parseRestartPolicy(opts.restart);
  checkAutoRemove(restartPolicy, opts.rm);
  const userHealth = opts.health ? healthFromFlags(opts.health) : undefined;
  ensureLayout();
  const image = await resolveImage(opts.image);
  const healthcheck = mergeHealth(userHealth, image.imageConfig.config?.Healthcheck);
  checkPlatform(opts.platform, opts.image, image.imageConfig);
  const proc = resolveProcess(image.config, opts);
  resolveGroupAdd(opts.groupAdd ?? [], image.layerDirs); // an unknown group is a create-time error
  resolveUser(proc.user, image.layerDirs); // validate now: an unknown user is a create-time error
  const stopSignal = opts.stopSignal ?? (typeof image.config.StopSignal === 'string' && image.config.StopSignal ? image.config.StopSignal : undefined);
  if (stopSignal !== undefined) parseSignal(stopSignal); // Docker: an unknown signal is a create-time error
  const labels = opts.labelFiles?.length ? { ...readLabelFiles(opts.labelFiles), ...opts.labels } : opts.labels;
  const id = newContainerId();
  const name = opts.name !== undefined ? validateName(opts.name) : undefined;
  const ns = planNamespaces(opts.ns ?? {}, { hostnameGiven: opts.hostname !== undefined });
  const sysctls = planSysctls(opts.sysctls ?? [], { hostNet: opts.network === 'host', hostIpc: ns.ipc === 'host' });
  const hostname = opts.hostname ?? (opts.network === 'host' || ns.uts === 'host' ? hostHostname() : id.slice(0, 12));
  const exposed = mergeExposed(image.config.ExposedPorts, opts.expose ?? [], opts.publish, parsePublish);
  const network = await planNetwork({
    containerId: id,
    name: name ?? '',
    hostname,
    network: opts.network,
    publish: opts.publish,
    ip: opts.ip,
    aliases: opts.aliases,
    dns: opts.dns,
    dnsSearch: opts.dnsSearch,
    dnsOptions: opts.dnsOptions,
    addHosts: opts.addHosts,
    publishAll: opts.publishAll,
    macAddress: opts.macAddress,
    exposed,
    hostnameGiven: opts.hostname !== undefined,
  });
  const links = await planLinks(opts.links ?? [], opts.network);
  const fromVolumes = opts.volumesFrom?.length ? await volumesFrom(opts.volumesFrom, ownTargets(opts.resources)) : [];
  const resources = { ...opts.resources, securityOpt: opts.securityOpt, ...(fromVolumes.length ? { volume: [...fromVolumes, ...((opts.resources.volume as string[] | undefined) ?? [])] } : {}) };
  await validateContainerResources(resources, image); // resources: bad flags fail here, before anything exists
  const config: ContainerConfig = {
    id,
    name: name ?? '', // a generated one is picked under the lock
    created: new Date().toISOString(),
    image: { id: image.id, ref: opts.image },
    path: proc.argv[0]!,
    args: proc.argv.slice(1),
    entrypoint: proc.entrypoint,
    cmd: proc.cmd,
    env: proc.env,
    workingDir: proc.workingDir,
    user: proc.user,
    // container:X mode: the target's hostname, as Docker
    hostname: typeof network.hostname === 'string' && network.mode.startsWith('container:') ? network.hostname : hostname,
    tty: opts.tty,
    interactive: opts.interactive,
    autoRemove: opts.rm,
    network: network as Record<string, unknown>,
    resources,
    labels,
    ...(stopSignal !== undefined ? { stopSignal } : {}),
    ...(opts.stopTimeout !== undefined ? { stopTimeout: opts.stopTimeout } : {}),
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    ...(opts.init ? { init: true } : {}),
    ...(opts.macAddress ? { macAddress: opts.macAddress } : {}),
    ...(links.length ? { links } : {}),
    ...(opts.volumesFrom?.length ? { volumesFrom: opts.volumesFrom } : {}),
    ...(Object.keys(ns).length ? { ns } : {}),
    ...(Object.keys(sysctls).length ? { sysctls } : {}),
    ...(opts.groupAdd?.length ? { groupAdd: opts.groupAdd } : {}),
    ...(opts.domainname ? { domainname: opts.domainname } : {}),
    ...(exposed.length ? { exposedPorts: exposed } : {}),
    ...(opts.publishAll ? { publishAll: true } : {}),
  };
  // Under the containers lock only what makes the name and the directory this create's: the
  // name checked and its index entry, the directory with its `.creating` marker (held until
  // the record is written: an entry or a directory without a record whose marker is held is
  // a create under way, not a dead one). 50 `run -d` at once waited here for each other's
  // fsync'd record: 20-50 ms held each (median), 1.7-3.1 s of a 3.8-5.4 s burst in a row.
  const { dirs, creating } = await withLock('containers', async () => {
    const names = nameIndex();
    const owner = name !== undefined ? names.owner(name) : undefined;
    if (owner !== undefined) throw nameConflict(name!, owner);
    if (name === undefined) config.name = generateName(names);
    let marker: (() => void) | undefined;
    try {
      const made = createContainerDir(id);
      marker = holdMarker(containerFiles.creating(id));
      names.reserve(config.name, id); // before the record: a crash leaves a stale entry, not a name the index misses
      return { dirs: made, creating: marker };
    } catch (err) {
      marker?.();
      rmSync(containerFiles.dir(id), { recursive: true, force: true }); // a full disk: nothing half-made
      throw err;
    }
  });
  mark('create: directory made');
  try {
    // rmi checks container records under the images lock: hold it (shared: creates do not wait
    // for one another) while the record appears, so an image can never lose its layers to an
    // rmi racing this create
    return await withSharedLock('images', async () => {
      await resolveImage(image.id);
      const started = how.markStarting ? holdMarker(containerFiles.starting(id)) : () => {};
      try {
        await writeConfig(config);
      } catch (err) {
        started();
        throw err;
      }
      emitContainer(config, 'create');
      return { config, image, started };
    });
  } catch (err) {
    // nothing half-made: the entry and the directory go while the marker still says "ours"
    await withLock('containers', async () => {
      releaseIndexed(config.name, id);
      rmSync(dirs.dir, { recursive: true, force: true });
    });
    throw err;
  } finally {
    creating();
  }
}

/** The container paths the container's own -v and --mount take (they win over --volumes-from). */
function ownTargets(resources: Record<string, unknown>): Set<string> {
  const vols = ((resources.volume as string[] | undefined) ?? []).map((v) => {
    const parts = v.split(':');
    return parts.length === 1 ? parts[0]! : parts[1]!;
  });
  const mounts = ((resources.mount as string[] | undefined) ?? []).flatMap((m) =>
    m.split(',').flatMap((kv) => (/^(target|dst|destination)=/.test(kv) ? [kv.slice(kv.indexOf('=') + 1)] : [])));
  return new Set([...vols, ...mounts]);
}
