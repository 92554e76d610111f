/**
 * Writing tar archives (POSIX ustar, with pax extended headers for what ustar cannot hold:
 * long names and link targets, sizes past 8 GiB, large ids, sub-second times), as Go's
 * archive/tar writes them for Docker. Used by `save`, `export`, `commit`, `cp` and the API's
 * archive endpoints. Only headers are built here; callers stream the file contents.
 */
export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  name: string;
  type: TarType;
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** seconds since the epoch */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** extra pax records (e.g. SCHILY.xattr.*) */
  pax?: Record<string, string>;
}

const FLAG: Record<TarType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
export const TAR_END = Buffer.alloc(1024);

/** The zero bytes that pad a member of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const r = size % 512;
  return r === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - r);
}

function octal(buf: Buffer, off: number, len: number, n: number): boolean {
  const s = Math.max(0, Math.floor(n)).toString(8);
  if (s.length > len - 1) return false;
  buf.write(s.padStart(len - 1, '0') + '\0', off, len, 'ascii');
  return true;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let len = n + 1;
  while (len !== n + String(len).length) len = n + String(len).length;
  return `${len}${body}`;
}

/** Split a name into ustar's prefix (155) and name (100) fields, when it fits. */
function splitUstar(name: string): [string, string] | undefined {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest) return [prefix, rest];
  }
  return undefined;
}

function block(e: TarEntry, name: string, prefix: string, flag: string, size: number, pax: Record<string, string>): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  for (const [key, off, v] of [['uid', 108, e.uid ?? 0], ['gid', 116, e.gid ?? 0]] as const) {
    if (!octal(h, off, 8, v)) { pax[key] = String(v); octal(h, off, 8, 0); }
  }
  if (!octal(h, 124, 12, size)) { pax.size = String(size); octal(h, 124, 12, 0); }
  octal(h, 136, 12, e.mtime ?? 0);
  h.fill(' ', 148, 156);
  h.write(flag, 156, 1, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8'); // cut at 100 bytes when a pax linkpath holds it whole
  h.write('ustar\x0000', 257, 8, 'ascii');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** The header block(s) of one entry: a pax header first when ustar cannot hold it. */
export function tarHeader(e: TarEntry): Buffer {
  let name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const size = e.type === 'file' ? e.size ?? 0 : 0;
  const pax: Record<string, string> = { ...e.pax };
  let parts = splitUstar(name);
  if (!parts) {
    pax.path = name;
    parts = ['', name.slice(0, 99)];
  }
  if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
  const main = block(e, parts[1], parts[0], FLAG[e.type], size, pax);
  if (Object.keys(pax).length === 0) return main;
  const body = Buffer.from(Object.entries(pax).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => paxRecord(k, v)).join(''));
  name = `PaxHeaders.0/${name.replace(/\/$/, '').split('/').pop()!}`.slice(0, 99);
  const ph = block({ name, type: 'file', mode: 0o644, mtime: e.mtime }, name, '', 'x', body.length, {});
  return Buffer.concat([ph, body, tarPadding(body.length), main]);
}
