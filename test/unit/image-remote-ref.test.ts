import { describe, expect, it } from 'vitest';
import { parseRemoteRef, registryHost } from '../../src/image/reference.js';

const D = 'sha256:' + 'ab'.repeat(32);

describe('remote image references', () => {
  it('puts short names on Docker Hub under library/', () => {
    const r = parseRemoteRef('busybox');
    expect(r).toMatchObject({ domain: 'docker.io', repository: 'library/busybox', name: 'busybox', tag: 'latest', reference: 'latest' });
    expect(r.canonical).toBe('docker.io/library/busybox:latest');
    expect(registryHost(r.domain)).toBe('registry-1.docker.io');
  });

  it('keeps user repositories on Docker Hub without library/', () => {
    expect(parseRemoteRef('team/app:v1')).toMatchObject({ domain: 'docker.io', repository: 'team/app', name: 'team/app', full: 'team/app:v1' });
    expect(parseRemoteRef('docker.io/library/alpine:3')).toMatchObject({ repository: 'library/alpine', name: 'alpine', full: 'alpine:3' });
    expect(parseRemoteRef('index.docker.io/alpine')).toMatchObject({ domain: 'docker.io', repository: 'library/alpine' });
  });

  it('splits host:port/path from the tag', () => {
    const r = parseRemoteRef('127.0.0.1:5000/team/app:2.0');
    expect(r).toMatchObject({ domain: '127.0.0.1:5000', repository: 'team/app', name: '127.0.0.1:5000/team/app', tag: '2.0' });
    expect(registryHost(r.domain)).toBe('127.0.0.1:5000');
    expect(parseRemoteRef('localhost/app')).toMatchObject({ domain: 'localhost', repository: 'app', tag: 'latest' });
    expect(parseRemoteRef('reg.example.com/app')).toMatchObject({ domain: 'reg.example.com', repository: 'app' });
    // no dot, no port, not localhost: a Hub user name, not a registry
    expect(parseRemoteRef('myhost/app')).toMatchObject({ domain: 'docker.io', repository: 'myhost/app' });
  });

  it('takes digests, with or without a tag', () => {
    const r = parseRemoteRef(`127.0.0.1:5000/app@${D}`);
    expect(r).toMatchObject({ tag: undefined, digest: D, reference: D, full: undefined });
    expect(r.canonical).toBe(`127.0.0.1:5000/app@${D}`);
    const both = parseRemoteRef(`busybox:1@${D}`);
    expect(both).toMatchObject({ tag: '1', digest: D, reference: D });
    expect(both.canonical).toBe(`docker.io/library/busybox:1@${D}`);
  });

  it.each([
    ['busybox@sha256:abc', /digest/],
    ['busybox@md5:' + 'a'.repeat(32), /digest/],
    ['Busybox', /lowercase/],
    ['bad host!/app', /registry|component/],
    ['app:bad tag', /tag/],
  ])('refuses %j', (ref, why) => {
    expect(() => parseRemoteRef(ref)).toThrow(why);
  });
});
