import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { openSource } from '../../src/image/source.js';
import { readTar, type TarHeader } from '../../src/image/tar-read.js';
import { memberKey } from '../../src/image/archive.js';
import { tar, sha256 } from '../helpers/archives.js';

const CAPS = { maxBytes: 1 << 30, maxRatio: 100 };

async function* chunks(b: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function list(b: Buffer, size?: number): Promise<(TarHeader & { body: string })[]> {
  const src = await openSource(chunks(b, size), 'test', CAPS);
  const out: (TarHeader & { body: string })[] = [];
  for await (const e of readTar(src.reader, 'test')) {
    let body = '';
    for await (const c of e.body()) body += c.toString();
    out.push({ ...e.header, body });
  }
  await src.reader.drain();
  return out;
}

describe('tar reader', () => {
  const sample = tar([
    { name: 'd/', type: 'dir', mode: 0o1777 },
    { name: 'd/f', data: 'hello', mode: 0o4755, uid: 1000, gid: 100, mtime: 1234567 },
    { name: 'd/l', type: 'symlink', linkname: '/x/y' },
    { name: 'd/h', type: 'hardlink', linkname: 'd/f' },
    { name: 'n/'.repeat(70) + 'long', data: 'p' },
    { name: 'c', type: 'char', devmajor: 1, devminor: 3 },
  ]);

  it('reads headers and bodies, across odd chunk sizes', async () => {
    for (const size of [1, 7, 512, 100000]) {
      const got = await list(sample, size);
      expect(got.map((e) => [e.path, e.type])).toEqual([
        ['d/', 'dir'], ['d/f', 'file'], ['d/l', 'symlink'], ['d/h', 'hardlink'], ['n/'.repeat(70) + 'long', 'file'], ['c', 'char'],
      ]);
      expect(got[1]).toMatchObject({ body: 'hello', mode: 0o4755, uid: 1000, gid: 100, mtime: 1234567 });
      expect(got[0]!.mode).toBe(0o1777);
      expect(got[2]!.linkpath).toBe('/x/y');
      expect(got[5]).toMatchObject({ devmajor: 1, devminor: 3 });
    }
  });

  it('decompresses gzip and hashes the uncompressed stream', async () => {
    const src = await openSource(chunks(gzipSync(sample), 100), 'test', CAPS);
    for await (const e of readTar(src.reader, 'test')) for await (const _ of e.body()) void _;
    await src.reader.drain();
    expect(src.digest()).toBe(`sha256:${sha256(sample)}`);
  });

  it('reports truncation as a one-line IMAGE_INVALID', async () => {
    await expect(list(sample.subarray(0, 700))).rejects.toMatchObject({ code: 'IMAGE_INVALID', message: 'test: archive is truncated' });
    await expect(list(gzipSync(sample).subarray(0, 60))).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });

  it('reads a tar of no entries (Docker writes empty layers as 1024 zero bytes)', async () => {
    expect(await list(tar([]))).toEqual([]);
    expect(await list(Buffer.alloc(512))).toEqual([]);
    expect(await list(Buffer.alloc(0))).toEqual([]);
  });

  it('rejects a bad checksum and garbage', async () => {
    const bad = Buffer.from(sample);
    bad[10] = 0x41;
    await expect(list(bad)).rejects.toThrow(/checksum/);
    await expect(list(Buffer.alloc(1024, 0x61))).rejects.toThrow(/malformed/);
  });

  it('caps the decompressed size', async () => {
    const bomb = gzipSync(Buffer.alloc(4 << 20));
    const src = await openSource(chunks(bomb, 4096), 'bomb', { maxBytes: 1 << 20, maxRatio: 100 });
    await expect(src.reader.drain()).rejects.toThrow(/more than 1048576 bytes/);
  });

  it('caps the expansion of a gzip stream past the floor, not below it', async () => {
    const bomb = gzipSync(Buffer.alloc(80 << 20));
    expect(bomb.length).toBeLessThan(100 << 10);
    const src = await openSource(chunks(bomb, 16 << 10), 'bomb', { maxBytes: 1 << 30, maxRatio: 100 });
    await expect(src.reader.drain()).rejects.toMatchObject({
      code: 'IMAGE_INVALID',
      message: expect.stringMatching(/^bomb: \d+\.\d MiB of gzip expanded to more than 64\.\d MiB, over 100 times$/),
      hint: expect.stringContaining('TSDOCKER_IMAGE_MAX_RATIO'),
    });
    const raised = await openSource(chunks(bomb, 16 << 10), 'bomb', { maxBytes: 1 << 30, maxRatio: 5000 });
    await raised.reader.drain();
    expect(raised.bytes()).toBe(80 << 20);
    // small streams may expand any amount, and uncompressed input has no ratio
    const small = await openSource(chunks(gzipSync(Buffer.alloc(8 << 20)), 4096), 'small', { maxBytes: 1 << 30, maxRatio: 2 });
    await small.reader.drain();
    const plain = await openSource(chunks(Buffer.alloc(70 << 20), 1 << 20), 'plain', { maxBytes: 1 << 30, maxRatio: 1 });
    await plain.reader.drain();
  });

  it('turns archive member names into keys without escaping', () => {
    expect(memberKey('./manifest.json')).toBe('manifest.json');
    expect(memberKey('/blobs/sha256/ab')).toBe('blobs/sha256/ab');
    expect(memberKey('a/../b/')).toBe('b');
    expect(memberKey('../x')).toBe('x'); // contained: keys never leave the archive root
    expect(memberKey('./')).toBeUndefined();
  });
});

describe('pax xattrs (SCHILY.xattr.*)', async () => {
  const { paxXattrs } = await import('../../src/image/tar-read.js');
  const rec = (k: string, v: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  it('reads the values as bytes, and leaves out the ones UTF-8 decoding could not keep', () => {
    const cap = Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const meta = Buffer.concat([rec('path', Buffer.from('bin/x')), rec('SCHILY.xattr.security.capability', cap), rec('SCHILY.xattr.user.note', Buffer.from('héllo'))]);
    expect(paxXattrs(meta.toString())).toEqual({ 'security.capability': cap, 'user.note': Buffer.from('héllo') });
    const binary = rec('SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2, 0x80, 0, 0, 0]));
    const x = paxXattrs(binary.toString());
    expect(x && Object.values(x)).toEqual([undefined]);
    expect(paxXattrs(rec('path', Buffer.from('a')).toString())).toBeUndefined();
  });
});
