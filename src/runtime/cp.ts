/**
 * A container's files as Docker's archive endpoints see them: stat a path, read a path as a
 * tar, write a tar into a directory. A running container's root is its /proc/PID/root (its
 * volumes and bind mounts included, as the container sees them); a stopped one is mounted in
 * a helper's private mount namespace (cp-helper.ts). Either way every path is resolved
 * inside that root (cp-fs.ts). `cp` (cli) and the API server build on these three.
 */
import { emitContainer } from '../state/events.js';
import { createReadStream, createWriteStream, mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { findContainer, type ContainerView } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { packFrom, statIn, unpackInto, notFound, type PathStat } from './cp-fs.js';
import type { CpHelperInput } from './cp-helper.js';
import { resolveImage } from '../image/index.js';
import { readResourceRecordSync } from '../state/volumes.js';
import { byteReader, readTar } from '../image/tar-read.js';
import { exec } from '../sys/exec.js';
import { withDirLock } from '../state/lock.js';
import { distFile } from '../sys/project.js';
import { TsdError, type ErrorCode } from '../sys/errors.js';

export type { PathStat };

interface Root {
  view: ContainerView;
  /** the running container's root, or undefined when the helper must mount one */
  live?: string;
}

async function rootOf(ref: string): Promise<Root> {
  const view = await findContainer(ref);
  if (view.status === 'running' && view.state) return { view, live: `/proc/${view.state.pid}/root` };
  return { view };
}

function withMessage(err: unknown, ref: string): unknown {
  if (err instanceof TsdError && /^Could not find the file .* in container$/.test(err.message)) {
    return new TsdError(err.code, `${err.message} ${ref}`, { exitCode: err.exitCode, hint: err.hint });
  }
  return err;
}

async function helper(r: Root, op: Pick<CpHelperInput, 'op' | 'path' | 'name' | 'follow' | 'file' | 'owner'>): Promise<string> {
  const d = containerDirs(r.view.config.id);
  const img = await resolveImage(r.view.config.image.id);
  return (await withDirLock(d.dir, `container ${r.view.config.id.slice(0, 12)}`, () => helperLocked(r, op, d.dir, img.layerDirs))) ?? 'null';
}

/** Under the container's lock (rm waits for it): its root mounted in the helper's namespace. */
async function helperLocked(r: Root, op: Pick<CpHelperInput, 'op' | 'path' | 'name' | 'follow' | 'file' | 'owner'>, dir: string, layerDirs: string[]): Promise<string> {
  const d = containerDirs(r.view.config.id);
  const img = { layerDirs };
  const mnt = mkdtempSync(join(dir, 'cp-'));
  try {
    const mounts = (readResourceRecordSync(r.view.config.id)?.mounts ?? []).filter((m) => m.Type !== 'tmpfs').map((m) => ({ source: m.Source, destination: m.Destination }));
    const input: CpHelperInput = { lower: [...img.layerDirs].reverse(), upper: d.upper, work: d.work, mnt, mounts, ...op };
    const res = await exec(['unshare', '--mount', '--propagation', 'private', '--', process.execPath, distFile('runtime', 'cp-helper.js'), JSON.stringify(input)], {
      okCodes: [0, 3],
      timeoutMs: 30 * 60_000,
    });
    if (res.code === 3) {
      const e = JSON.parse(res.stdout.trim().split('\n').pop()!) as { error: string; code?: ErrorCode; exitCode?: number; hint?: string };
      throw new TsdError(e.code ?? 'INTERNAL', e.error, { exitCode: e.exitCode, hint: e.hint });
    }
    return res.stdout;
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

/** HEAD /containers/{id}/archive: what is at `path`; a not-found error when nothing is. */
export async function containerPathStat(ref: string, path: string): Promise<PathStat> {
  const r = await rootOf(ref);
  const st = r.live ? statIn(r.live, path) : (JSON.parse(await helper(r, { op: 'stat', path })) as PathStat | null);
  if (!st) throw withMessage(notFound(path), ref);
  return st;
}

/** GET /containers/{id}/archive: `path` as a tar whose top entry is `name`. */
export async function containerArchive(ref: string, path: string, name: string, follow = false): Promise<AsyncIterable<Buffer>> {
  const r = await rootOf(ref);
  if (r.live) {
    const live = r.live;
    if (!statIn(live, path)) throw withMessage(notFound(path), ref);
    const tar = packFrom(live, path, name, follow);
    emitContainer(r.view.config, 'archive-path');
    return tar;
  }
  const tar = await helperArchive(r, { op: 'pack', path, name, follow }, ref);
  emitContainer(r.view.config, 'archive-path');
  return tar;
}

/** `export` (GET /containers/{id}/export): the container's root filesystem (no volumes) as a tar. */
export async function exportContainer(ref: string): Promise<AsyncIterable<Buffer>> {
  const view = await findContainer(ref);
  const tar = await helperArchive({ view }, { op: 'export', path: '/' }, ref);
  emitContainer(view.config, 'export');
  return tar;
}

async function helperArchive(r: Root, op: Pick<CpHelperInput, 'op' | 'path' | 'name' | 'follow'>, ref: string): Promise<AsyncIterable<Buffer>> {
  const tmp = mkdtempSync(join(containerDirs(r.view.config.id).dir, 'cpout-'));
  const file = join(tmp, 'archive.tar');
  try {
    await helper(r, { ...op, file });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw withMessage(err, ref);
  }
  return (async function* () {
    try {
      yield* createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  })();
}

/** As dockerd: no writes into a read-only volume, nor into a --read-only root outside a writable volume. */
function refuseReadOnly(v: ContainerView, dir: string): void {
  const p = posix.normalize(posix.join('/', dir));
  const mounts = (readResourceRecordSync(v.config.id)?.mounts ?? []).map((m) => ({ ...m, Destination: posix.normalize(m.Destination) }));
  const m = mounts.filter((x) => p === x.Destination || p.startsWith(`${x.Destination === '/' ? '' : x.Destination}/`)).sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (m && !m.RW) throw new TsdError('BAD_ARGS', 'mounted volume is marked read-only', { exitCode: 1, hint: 'copy into a writable path of the container' });
  if (!m && (v.config.resources as { readOnly?: boolean }).readOnly) {
    throw new TsdError('BAD_ARGS', 'container rootfs is marked read-only', { exitCode: 1, hint: 'the container runs with --read-only: copy into one of its writable volumes' });
  }
}

/** PUT /containers/{id}/archive: a tar written into the directory `dir`; owned by root unless copyUidGid. */
export async function extractToContainer(ref: string, dir: string, tar: AsyncIterable<Buffer>, copyUidGid = false): Promise<void> {
  const r = await rootOf(ref);
  const st = r.live ? statIn(r.live, dir) : (JSON.parse(await helper(r, { op: 'stat', path: dir })) as PathStat | null);
  if (!st) throw withMessage(notFound(dir), ref);
  if (!st.isDir) throw new TsdError('BAD_ARGS', `extraction point is not a directory`, { exitCode: 1, hint: 'give a directory of the container as the destination' });
  refuseReadOnly(r.view, st.linkTarget || dir);
  const owner = copyUidGid ? undefined : { uid: 0, gid: 0 };
  if (r.live) {
    await unpackInto(r.live, dir, readTar(byteReader(tar), 'archive'), { owner });
    emitContainer(r.view.config, 'extract-to-dir');
    return;
  }
  const tmp = mkdtempSync(join(containerDirs(r.view.config.id).dir, 'cpin-'));
  try {
    const file = join(tmp, 'archive.tar');
    await pipeline(Readable.from(tar), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    await helper(r, { op: 'unpack', path: dir, file, owner });
    emitContainer(r.view.config, 'extract-to-dir');
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** The host's side of cp: `path` as a tar (top entry `name`), the host's own paths. */
export function packHost(path: string, name: string, follow: boolean): AsyncIterable<Buffer> {
  return packFrom('/', path, name, follow);
}

/** Extract a tar into a host directory, entries renamed; files belong to the caller (docker cp's NoLchown). */
export async function unpackHost(dir: string, tar: AsyncIterable<Buffer>, rename: (parts: string[]) => string[] | undefined): Promise<void> {
  await unpackInto('/', dir, readTar(byteReader(tar), 'archive'), { noChown: true, rename });
}
