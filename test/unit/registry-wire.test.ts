import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/image/registry/auth.js';
import { unreachable } from '../../src/image/registry/http.js';
import { bypassed } from '../../src/image/registry/proxy.js';
import { registryHost, parseRemoteRef } from '../../src/image/reference.js';

const err = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('registry wire details', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Basic realm="test realm"')).toEqual({ scheme: 'basic', params: { realm: 'test realm' } });
    expect(parseChallenge('Bearer realm=http://x/t, service=s')).toEqual({ scheme: 'bearer', params: { realm: 'http://x/t', service: 's' } });
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('says which registry cannot be reached and why, in one line', () => {
    const hub = registryHost(parseRemoteRef('busybox').domain);
    expect(unreachable(hub, err('ENOTFOUND', 'getaddrinfo ENOTFOUND registry-1.docker.io')).message).toBe(
      'cannot reach registry-1.docker.io: DNS lookup of registry-1.docker.io failed (ENOTFOUND)',
    );
    expect(unreachable('127.0.0.1:1', err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')).message).toBe(
      'cannot reach 127.0.0.1:1: connection refused (127.0.0.1:1)',
    );
    expect(unreachable('r.test:5000', err('ETIMEDOUT', 'connect ETIMEDOUT 192.0.2.1:5000')).message).toBe('cannot reach r.test:5000: connect ETIMEDOUT 192.0.2.1:5000');
  });

  it('never proxies loopback, and follows NO_PROXY', () => {
    const u = (s: string): URL => new URL(s);
    expect(bypassed(u('https://127.0.0.1:5000/v2/'), undefined)).toBe(true);
    expect(bypassed(u('https://localhost/v2/'), undefined)).toBe(true);
    expect(bypassed(u('https://registry.test:5000/v2/'), undefined)).toBe(false);
    expect(bypassed(u('https://registry.test:5000/v2/'), 'other.example, .test')).toBe(true);
    expect(bypassed(u('https://a.registry.test/v2/'), 'registry.test')).toBe(true);
    expect(bypassed(u('https://registry.test:5000/v2/'), 'registry.test:5001')).toBe(false);
    expect(bypassed(u('https://registry.test:5000/v2/'), 'registry.test:5000')).toBe(true);
    expect(bypassed(u('https://192.0.2.7/v2/'), '192.0.2.0/24')).toBe(true);
    expect(bypassed(u('https://198.51.100.7/v2/'), '192.0.2.0/24')).toBe(false);
    expect(bypassed(u('https://anything/v2/'), '*')).toBe(true);
  });
});
