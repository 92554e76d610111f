import { describe, expect, it } from 'vitest';
import { tarHeader, tarPadding, TAR_END } from '../../src/image/tar-write.js';
import { byteReader, readTar } from '../../src/image/tar-read.js';

async function entries(buf: Buffer) {
  const out: { path: string; type: string; size: number; uid: number; linkpath: string; body: string }[] = [];
  for await (const e of readTar(byteReader((async function* () { yield buf; })()), 'test')) {
    let body = '';
    for await (const c of e.body()) body += c.toString();
    out.push({ path: e.header.path, type: e.header.type, size: e.header.size, uid: e.header.uid, linkpath: e.header.linkpath, body });
  }
  return out;
}

describe('tar writer', () => {
  it('writes ustar, and pax for long names, long link targets and big ids, that a strict reader takes back', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const data = Buffer.from('hello');
    const buf = Buffer.concat([
      tarHeader({ name: 'dir', type: 'dir', mode: 0o755 }),
      tarHeader({ name: 'short', type: 'file', mode: 0o644, size: 5 }), data, tarPadding(5),
      tarHeader({ name: long, type: 'file', mode: 0o644, size: 5, uid: 2 ** 22 }), data, tarPadding(5),
      tarHeader({ name: 'link', type: 'symlink', mode: 0o777, linkname: `/${'l'.repeat(150)}` }),
      TAR_END,
    ]);
    expect(await entries(buf)).toEqual([
      { path: 'dir/', type: 'dir', size: 0, uid: 0, linkpath: '', body: '' },
      { path: 'short', type: 'file', size: 5, uid: 0, linkpath: '', body: 'hello' },
      { path: long, type: 'file', size: 5, uid: 2 ** 22, linkpath: '', body: 'hello' },
      { path: 'link', type: 'symlink', size: 0, uid: 0, linkpath: `/${'l'.repeat(150)}`, body: '' },
    ]);
  });
});
