/**
 * Volumes on disk: <root>/volumes/<name>/volume.json (the record) and _data/ (the content
 * a container sees), as Docker's local driver lays them out. Which containers use which
 * volume is recorded per container in its resources.json (written when its resources are
 * prepared), so "in use" survives crashes and needs no reference counts. Changes happen
 * under the `volumes` lock.
 */
import { emit } from './events.js';
import { promises as fsp, readdirSync } from 'node:fs';
import { randomBytes } from '../sys/random.js';
import { join } from 'node:path';
import { paths } from './paths.js';
import { listContainerIds, containerFiles } from './containers.js';
import { withLock } from './lock.js';
import { readJsonIfExists, readJsonIfExistsSync, writeJsonAtomic } from '../sys/fs.js';
import { TsdError } from '../sys/errors.js';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  /** created for one container (image VOLUME, -v /path): removed by `rm -v` */
  Anonymous?: boolean;
}

/** What a container's resources hold on the host, for release and "in use" checks. */
export interface ResourceRecord {
  cgroupParent: string;
  volumes: { name: string; anonymous: boolean; target: string }[];
  seccompPath?: string;
  /** Docker's inspect `Mounts` entries */
  mounts?: InspectMount[];
}

export interface InspectMount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export const volumeFiles = {
  record: (name: string) => join(paths.volume(name), 'volume.json'),
  data: (name: string) => join(paths.volume(name), '_data'),
};

export const resourceFile = (id: string) => join(containerFiles.dir(id), 'resources.json');
export const seccompFile = (id: string) => join(containerFiles.dir(id), 'seccomp.txt');

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function isVolumeName(name: string): boolean {
  return NAME.test(name);
}

export function validateVolumeName(name: string): string {
  if (!NAME.test(name)) {
    throw new TsdError('BAD_ARGS', `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`, {
      hint: 'if you meant a host directory, give an absolute path (e.g. /srv/data or $PWD/data)',
    });
  }
  return name;
}

export async function readVolume(name: string): Promise<VolumeRecord | undefined> {
  if (!NAME.test(name)) return undefined;
  return readJsonIfExists<VolumeRecord>(volumeFiles.record(name));
}

export async function findVolume(name: string): Promise<VolumeRecord> {
  const v = await readVolume(name);
  if (!v) throw new TsdError('VOLUME_NOT_FOUND', `no such volume: ${name}`, { hint: 'see `tsdocker volume ls`' });
  return v;
}

/** Create a volume, or return the existing one (created: false). Call under the volumes lock. */
export async function ensureVolume(
  name: string,
  opts: { labels?: Record<string, string>; anonymous?: boolean } = {},
): Promise<{ volume: VolumeRecord; created: boolean }> {
  validateVolumeName(name);
  const existing = await readVolume(name);
  if (existing) return { volume: existing, created: false };
  await fsp.mkdir(volumeFiles.data(name), { recursive: true, mode: 0o755 });
  const volume: VolumeRecord = {
    Name: name,
    Driver: 'local',
    Mountpoint: volumeFiles.data(name),
    CreatedAt: new Date().toISOString(),
    Labels: opts.labels ?? {},
    Scope: 'local',
    Options: {},
    ...(opts.anonymous ? { Anonymous: true } : {}),
  };
  await writeJsonAtomic(volumeFiles.record(name), volume);
  emit('volume', 'create', name, { driver: 'local' });
  return { volume, created: true };
}

export function listVolumeNames(): string[] {
  try {
    return readdirSync(paths.volumes()).filter((n) => NAME.test(n));
  } catch {
    return [];
  }
}

export async function listVolumes(): Promise<VolumeRecord[]> {
  const all = await Promise.all(listVolumeNames().map(readVolume));
  return all.filter((v): v is VolumeRecord => v !== undefined).sort((a, b) => a.Name.localeCompare(b.Name));
}

/** volume name -> ids of the containers (of any status) that use it */
export async function volumeUsers(): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  for (const id of listContainerIds()) {
    const rec = await readJsonIfExists<ResourceRecord>(resourceFile(id));
    for (const v of rec?.volumes ?? []) users.set(v.name, [...(users.get(v.name) ?? []), id]);
  }
  return users;
}

/** Remove a volume that no container uses (checked by the caller under the lock). */
export async function deleteVolume(name: string): Promise<void> {
  await fsp.rm(paths.volume(name), { recursive: true, force: true });
  emit('volume', 'destroy', name, { driver: 'local' });
}

export function readResourceRecordSync(id: string): ResourceRecord | undefined {
  return readJsonIfExistsSync<ResourceRecord>(resourceFile(id));
}

export async function readResourceRecord(id: string): Promise<ResourceRecord | undefined> {
  return readJsonIfExists<ResourceRecord>(resourceFile(id));
}

export async function writeResourceRecord(id: string, rec: ResourceRecord, opts: { durable: boolean }): Promise<void> {
  await writeJsonAtomic(resourceFile(id), rec, opts);
}

/** `volume create [NAME]`: a named volume (random name when none is given); existing ones are returned as is. */
export async function createVolumeCommand(name: string | undefined, labels: Record<string, string>): Promise<VolumeRecord> {
  return withLock('volumes', async () => (await ensureVolume(name ?? randomBytes(32).toString('hex'), { labels })).volume);
}

/** `volume rm`: refuses a volume any container (running or not) uses, as Docker does. */
export async function removeVolumeCommand(name: string, opts: { force: boolean }): Promise<void> {
  await withLock('volumes', async () => {
    if (!(await (opts.force ? readVolume(name) : findVolume(name)))) return; // -f: a missing volume is fine
    const users = (await volumeUsers()).get(name);
    if (users?.length) {
      throw new TsdError('VOLUME_IN_USE', `remove ${name}: volume is in use - [${users.join(', ')}]`, {
        hint: 'remove the containers that use it first (tsdocker rm)',
      });
    }
    await deleteVolume(name);
  });
}

/** `volume prune`: unused anonymous volumes, or every unused volume with `all`. Returns the names and bytes freed. */
export async function pruneVolumes(opts: { all: boolean; select?: (v: VolumeRecord) => boolean }): Promise<{ names: string[]; bytes: number }> {
  return withLock('volumes', async () => {
    const users = await volumeUsers();
    const names: string[] = [];
    let bytes = 0;
    for (const v of await listVolumes()) {
      if (users.get(v.Name)?.length || (!opts.all && !v.Anonymous) || (opts.select && !opts.select(v))) continue;
      bytes += await diskUsage(paths.volume(v.Name));
      await deleteVolume(v.Name);
      names.push(v.Name);
    }
    return { names, bytes };
  });
}

/** Bytes of the files under `dir` (du's apparent size). */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(p);
    else total += (await fsp.lstat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
