import { describe, expect, it } from 'vitest';
import { parseImageRef, parseNameRef, normalizeName, shortId } from '../../src/image/reference.js';

describe('image references', () => {
  it('defaults the tag to latest', () => {
    expect(parseNameRef('busybox')).toMatchObject({ kind: 'name', name: 'busybox', tag: 'latest', full: 'busybox:latest' });
  });

  it('keeps an explicit tag and nested names', () => {
    expect(parseNameRef('team/app:v1.2-rc_3').full).toBe('team/app:v1.2-rc_3');
  });

  it('treats a registry port as part of the name, not a tag', () => {
    expect(parseNameRef('localhost:5000/app')).toMatchObject({ name: 'localhost:5000/app', tag: 'latest' });
    expect(parseNameRef('reg.example.com:5000/a/b:t')).toMatchObject({ name: 'reg.example.com:5000/a/b', tag: 't' });
  });

  it('drops docker.io/library/ so Hub names compare equal', () => {
    expect(parseNameRef('docker.io/library/busybox:1').full).toBe('busybox:1');
    expect(parseNameRef('docker.io/team/app').full).toBe('team/app:latest');
    expect(normalizeName('index.docker.io/library/alpine')).toBe('alpine');
  });

  it('parses sha256 ids and prefixes', () => {
    const hex = 'a'.repeat(64);
    expect(parseImageRef(`sha256:${hex}`)).toEqual({ kind: 'id', prefix: hex });
    expect(parseImageRef('sha256:abc')).toEqual({ kind: 'id', prefix: 'abc' });
  });

  it('marks bare hex as a possible id prefix, still a name first', () => {
    expect(parseImageRef('67c685c7c30e')).toMatchObject({ kind: 'name', full: '67c685c7c30e:latest', idPrefix: '67c685c7c30e' });
    expect(parseImageRef('busybox')).not.toHaveProperty('idPrefix');
    expect(parseImageRef('abc:latest')).not.toHaveProperty('idPrefix');
  });

  it.each([
    ['Busybox', /lowercase/],
    ['', /empty/],
    ['busybox:', /tag/],
    ['busybox:bad tag', /tag/],
    ['a//b', /component/],
    ['-a', /component/],
    ['busybox@sha256:' + 'a'.repeat(64), /digest/],
    ['sha256:xyz', /hex/],
    ['sha256:' + 'a'.repeat(65), /hex/],
  ])('refuses %j', (ref, why) => {
    expect(() => parseImageRef(ref)).toThrow(why);
    try {
      parseImageRef(ref);
    } catch (err) {
      expect((err as { code: string }).code).toBe('BAD_ARGS');
    }
  });

  it('shows 12-digit short ids', () => {
    expect(shortId(`sha256:${'0123456789ab'.repeat(5)}abcd`)).toBe('0123456789ab');
  });
});
