/**
 * Unpack one untrusted layer tar into an empty directory that only this process writes,
 * producing an overlayfs lowerdir: `.wh.NAME` becomes a 0:0 character device NAME,
 * `.wh..wh..opq` sets trusted.overlay.opaque=y on its directory.
 *
 * Safety, entry by entry (CVE-2014-9356/9358, CVE-2021-32760, node-tar's 2021-2026 CVEs):
 * names are cleaned by tar-rules (`..` that leaves the root is refused, `/abs` is
 * contained); every ancestor is lstat'ed and must be a real directory, never a symlink,
 * so no symlink created by the archive is ever followed; files are opened with
 * O_CREAT|O_EXCL|O_NOFOLLOW and chown/chmod/utimes go through that descriptor; a hard
 * link's target must be inside the layer, reached without symlinks, and not a directory;
 * block and character devices are skipped with a warning. Ownership, modes (setuid
 * included) and mtimes are kept.
 */
import { promises as fsp, constants as C, type Stats } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { log } from '../sys/log.js';
import { isErrno } from '../sys/errors.js';
import { mkWhiteout, mknod, lsetxattr } from '../native/index.js';
import { readTar, type ByteReader, type TarHeader } from './tar-read.js';
import { checkStoredLength, classifyWhiteout, entryComponents, keptMode, limits, unsafe, OPAQUE_XATTR, type Limits } from './tar-rules.js';
import { TsdError } from '../sys/errors.js';

const mlog = log.child({ mod: 'image.extract' });

export interface ExtractResult {
  /** bytes of regular file content */
  size: number;
  entries: number;
  warnings: string[];
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

const ID_MAX = 0xfffffffe;

export async function extractLayer(r: ByteReader, dest: string, what: string, lim: Limits = limits()): Promise<ExtractResult> {
  const known = new Set<string>(['']); // relative paths checked to be real directories
  const dirTimes = new Map<string, number>();
  const warnings: string[] = [];
  let entries = 0;
  let size = 0;
  await fsp.chmod(dest, 0o755);

  const warn = (msg: string): void => {
    warnings.push(msg);
    mlog.warn({ layer: what }, msg);
  };
  const forget = (rel: string): void => {
    for (const k of known) if (k === rel || k.startsWith(rel + '/')) known.delete(k);
    for (const k of dirTimes.keys()) if (k === rel || k.startsWith(rel + '/')) dirTimes.delete(k);
  };
  /** Walk the ancestors: each must be a real directory; missing ones are created when `create`. */
  const ensureDirs = async (comps: string[], h: TarHeader, create: boolean): Promise<void> => {
    let rel = '';
    for (const c of comps) {
      rel = rel ? `${rel}/${c}` : c;
      if (known.has(rel)) continue;
      const st = await lstatOrNull(join(dest, rel));
      if (!st) {
        if (!create) throw unsafe(what, h.path, `hard link target '${h.linkpath}' is not in this layer`);
        await fsp.mkdir(join(dest, rel), 0o755);
      } else if (st.isSymbolicLink()) {
        throw unsafe(what, h.path, `'${rel}' is a symlink and entries below a symlink are refused`);
      } else if (!st.isDirectory()) {
        throw unsafe(what, h.path, `'${rel}' is not a directory`);
      }
      known.add(rel);
    }
  };
  /** Make room for a new entry at rel: anything there goes, except a directory that stays a directory. */
  const clear = async (rel: string, keepDir: boolean): Promise<boolean> => {
    const st = await lstatOrNull(join(dest, rel));
    if (!st) return false;
    if (keepDir && st.isDirectory()) return true;
    await fsp.rm(join(dest, rel), { recursive: true, force: true }); // rm never follows symlinks
    forget(rel);
    return false;
  };
  const setMeta = async (fh: fsp.FileHandle, h: TarHeader, times: boolean): Promise<void> => {
    await fh.chown(h.uid, h.gid);
    await fh.chmod(keptMode(h.mode)); // after chown, which clears setuid/setgid
    if (times) await fh.utimes(h.mtime, h.mtime);
  };
  const openNoFollow = (abs: string, flags: number): Promise<fsp.FileHandle> => fsp.open(abs, flags | C.O_NOFOLLOW);
  // after setMeta: chown clears security.capability. Overlay's own trusted.overlay.* is never
  // taken from a layer (a forged opaque or redirect); a filesystem or namespace that refuses
  // an attribute costs a warning, as Docker's best-effort xattrs
  const E = osConstants.errno;
  const setXattrs = (abs: string, h: TarHeader): void => {
    for (const [name, value] of Object.entries(h.xattrs ?? {})) {
      if (name.startsWith('trusted.overlay.')) {
        warn(`extended attribute ${name} of '${h.path}' skipped: overlay metadata cannot come from a layer`);
        continue;
      }
      if (value === undefined) {
        warn(`extended attribute ${name} of '${h.path}' not kept: its value is binary that the tar reader cannot pass on intact`);
        continue;
      }
      try {
        lsetxattr(abs, name, value);
      } catch (err) {
        if (!(err instanceof TsdError) || ![E.EPERM, E.ENOTSUP, E.EOPNOTSUPP, E.EACCES].includes(err.errno ?? 0)) throw err;
        warn(`extended attribute ${name} of '${h.path}' not kept: ${err.message}`);
      }
    }
  };

  for await (const e of readTar(r, what)) {
    const h = e.header;
    if (++entries > lim.maxEntries) {
      throw new TsdError('IMAGE_INVALID', `${what}: more than ${lim.maxEntries} entries`, {
        hint: 'the layer looks like a decompression bomb; raise TSDOCKER_IMAGE_MAX_ENTRIES if it is genuine',
      });
    }
    if (!Number.isInteger(h.uid) || !Number.isInteger(h.gid) || h.uid > ID_MAX || h.gid > ID_MAX) {
      throw unsafe(what, h.path, 'uid or gid out of range');
    }
    const comps = entryComponents(h.path, what, lim.maxDepth);
    if (h.path.startsWith('/')) warn(`absolute name '${h.path}' stored relative to the layer root`);
    if (comps.length === 0) {
      if (h.type !== 'dir') throw unsafe(what, h.path, 'only a directory can name the layer root');
      const fh = await openNoFollow(dest, C.O_RDONLY | C.O_DIRECTORY);
      try {
        await setMeta(fh, h, false);
      } finally {
        await fh.close();
      }
      dirTimes.set('', h.mtime);
      continue;
    }
    const parent = comps.slice(0, -1);
    const base = comps[comps.length - 1]!;
    const rel = comps.join('/');
    const abs = join(dest, rel);
    checkStoredLength(what, h.path, abs);
    await ensureDirs(parent, h, true);

    const wh = classifyWhiteout(base);
    if (wh.kind === 'opaque') {
      if (parent.length === 0) warn('opaque marker on the layer root ignored');
      else lsetxattr(join(dest, ...parent), OPAQUE_XATTR, 'y');
      continue;
    }
    if (wh.kind === 'meta') continue;
    if (wh.kind === 'file') {
      const target = [...parent, wh.name].join('/');
      await clear(target, false);
      mkWhiteout(join(dest, target));
      continue;
    }

    switch (h.type) {
      case 'dir': {
        if (!(await clear(rel, true))) await fsp.mkdir(abs, 0o700);
        const fh = await openNoFollow(abs, C.O_RDONLY | C.O_DIRECTORY);
        try {
          await setMeta(fh, h, false);
        } finally {
          await fh.close();
        }
        setXattrs(abs, h);
        known.add(rel);
        dirTimes.set(rel, h.mtime);
        break;
      }
      case 'file': {
        await clear(rel, false);
        const fh = await openNoFollow(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL);
        try {
          for await (const chunk of e.body()) await fh.write(chunk);
          await setMeta(fh, h, true);
        } finally {
          await fh.close();
        }
        setXattrs(abs, h);
        size += h.size;
        break;
      }
      case 'symlink': {
        if (h.linkpath === '' || h.linkpath.includes('\0') || h.linkpath.length > 4095) throw unsafe(what, h.path, 'bad symlink target');
        await clear(rel, false);
        await fsp.symlink(h.linkpath, abs);
        await fsp.lchown(abs, h.uid, h.gid);
        await fsp.lutimes(abs, h.mtime, h.mtime);
        break;
      }
      case 'hardlink': {
        let tcomps: string[];
        try {
          tcomps = entryComponents(h.linkpath, what, lim.maxDepth);
        } catch {
          throw unsafe(what, h.path, `hard link target '${h.linkpath}' is outside the layer`);
        }
        if (tcomps.length === 0) throw unsafe(what, h.path, 'hard link to the layer root');
        const trel = tcomps.join('/');
        checkStoredLength(what, h.path, join(dest, trel), `hard link target '${h.linkpath.slice(0, 40)}...'`);
        if (trel === rel) break;
        await ensureDirs(tcomps.slice(0, -1), h, false);
        const tst = await lstatOrNull(join(dest, trel));
        if (!tst) throw unsafe(what, h.path, `hard link target '${h.linkpath}' is not in this layer`);
        if (tst.isDirectory()) throw unsafe(what, h.path, 'hard link to a directory');
        if (rel.startsWith(trel + '/')) throw unsafe(what, h.path, 'hard link below its own target');
        await clear(rel, false);
        await fsp.link(join(dest, trel), abs);
        break;
      }
      case 'fifo': {
        await clear(rel, false);
        mknod(abs, C.S_IFIFO | 0o600, 0, 0);
        const fh = await openNoFollow(abs, C.O_RDONLY | C.O_NONBLOCK);
        try {
          await setMeta(fh, h, true);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'char':
      case 'block':
        warn(`device node '${h.path}' (${h.type} ${h.devmajor}:${h.devminor}) skipped: images may not carry devices`);
        break;
      default:
        warn(`entry '${h.path}' of unsupported tar type '${h.typeflag}' skipped`);
    }
  }
  await r.drain();

  // directory mtimes last (creating children changes them), deepest first, never through a symlink
  const dirs = [...dirTimes.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  for (const [rel, t] of dirs) {
    const p = rel ? join(dest, rel) : dest;
    const st = await lstatOrNull(p);
    if (st?.isDirectory()) await fsp.lutimes(p, t, t);
  }
  return { size, entries, warnings };
}
