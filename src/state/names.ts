/**
 * The names index: `<root>/names/<name>` is a symlink whose target is the id of the container
 * that has that name, so the name check of a `create` or `rename` reads one link and one
 * config.json instead of every container's config (200 containers: ~600 syscalls and ~5 ms
 * less per start).
 *
 * The container's config.json stays the truth; the index only says where to look:
 * - an entry counts only when that container's config.json names it (`ownerOf`): a link to
 *   a removed container, to one renamed since, to a corrupt record, or to a `create` killed
 *   before it wrote its record is stale, and a `create` of that name takes it over;
 * - every container with a config has its entry: `create` and `rename` make the entry before
 *   they write the config, and remove an old one only after (a crash leaves a stale entry,
 *   never a container the index misses);
 * - every change to the index happens under the containers lock (create, rename, and the
 *   release after a removal, taken after the container's own lock is dropped: rename takes
 *   the containers lock first), so a stale entry taken over by a create is never unlinked by
 *   a late release of its old owner;
 * - a root without the directory (made by an earlier tsdocker, or the directory removed) is
 *   indexed from the configs under the lock, into a temporary directory renamed into place,
 *   so the directory exists only when it is complete.
 * Readers that hold no lock (`findEntry`) use an entry as a hint and check the config.
 */
import { existsSync, mkdirSync, readlinkSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { paths } from './paths.js';
import { containerFiles, listContainerIds, type ContainerConfig } from './containers.js';
import { isCorruptRecord } from './records.js';
import { readJsonIfExistsSync, unlinkIfExistsSync } from '../sys/fs.js';
import { markerHeld, withLock } from './lock.js';
import { isErrno } from '../sys/errors.js';

/** Docker's container names (daemon/names.go): also what keeps an index entry a plain file name. */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ID_RE = /^[0-9a-f]{64}$/;

/** The id the entry for `name` points to (unchecked); undefined when there is none. */
export function linkedId(name: string): string | undefined {
  try {
    const id = readlinkSync(paths.name(name));
    return ID_RE.test(id) ? id : undefined;
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EINVAL')) return undefined;
    throw err;
  }
}

function configOf(id: string): ContainerConfig | undefined {
  try {
    return readJsonIfExistsSync<ContainerConfig>(containerFiles.config(id));
  } catch (err) {
    if (isCorruptRecord(err)) return undefined; // its name is unknown: it holds none (as the listings skip it)
    throw err;
  }
}

/**
 * The container that has `name`: the entry's target, when its config.json says so, or while
 * the create that made the entry is still writing the record (its `.creating` marker held).
 */
export function ownerOf(name: string): string | undefined {
  const id = linkedId(name);
  if (id === undefined) return undefined;
  const cfg = configOf(id);
  if (cfg === undefined && markerHeld(containerFiles.creating(id))) return id;
  return cfg?.id === id && cfg.name === name ? id : undefined;
}

/** Names of every container, from their config files (what the index is rebuilt from). */
export function scanNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const id of listContainerIds()) {
    const cfg = configOf(id);
    if (cfg && cfg.id === id && typeof cfg.name === 'string') names.set(cfg.name, id);
  }
  return names;
}

/** The index under the containers lock: rebuilt first if the directory is missing. */
export interface NameIndex {
  /** the container that has `name`, or undefined (stale entries do not count) */
  owner(name: string): string | undefined;
  has(name: string): boolean;
  /** make `name` point to `id` (the caller checked `owner(name)` is undefined) */
  reserve(name: string, id: string): void;
  /** remove the entry for `name` if it points to `id` */
  release(name: string, id: string): void;
}

function release(name: string, id: string): void {
  if (linkedId(name) === id) unlinkIfExistsSync(paths.name(name));
}

/** Remove the entry for `name` if it points to `id`; call with the containers lock held. */
export const releaseIndexed = release;

/** Call with the containers lock held. */
export function nameIndex(): NameIndex {
  if (!existsSync(paths.names())) rebuild();
  return {
    owner: ownerOf,
    has: (name) => ownerOf(name) !== undefined,
    reserve(name, id) {
      try {
        symlinkSync(id, paths.name(name));
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        // stale (the caller checked): a crash before the next line leaves no entry for a name nobody has
        rmSync(paths.name(name), { recursive: true, force: true });
        symlinkSync(id, paths.name(name));
      }
    },
    release,
  };
}

/** Remove every entry that points to `id` (lock held). */
function releaseAll(id: string): void {
  let names: string[];
  try {
    names = readdirSync(paths.names());
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  for (const n of names) release(n, id);
}

/**
 * After a container's removal, outside its own lock (rename holds the containers lock while
 * it waits for a container's): its entry goes, unless a create has taken the name over since.
 * A crash before this leaves a stale entry, which the next create of that name takes over.
 */
export async function releaseName(name: string, id: string): Promise<void> {
  await withLock('containers', async () => release(name, id));
}

/** The same for a container whose name is unknown (a corrupt record): every entry that points to it. */
export async function releaseNamesOf(id: string, opts: { locked?: boolean } = {}): Promise<void> {
  const sweep = async () => releaseAll(id);
  await (opts.locked ? sweep() : withLock('containers', sweep));
}

function rebuild(): void {
  const tmp = `${paths.names()}.tmp`; // under the lock: one rebuild at a time; a killed one's is replaced
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { mode: 0o700 });
  for (const [name, id] of scanNames()) {
    if (NAME_RE.test(name) && name.length <= 128) symlinkSync(id, `${tmp}/${name}`);
  }
  renameSync(tmp, paths.names());
}
