/** The API server's pure parts: version prefixes, -H addresses, create's field checks, port bindings, stream frames. */
import { describe, expect, it } from 'vitest';
import { splitVersion } from '../../src/api/router.js';
import { parseHost, tlsFromFlags } from '../../src/api/server.js';
import { publishSpecs, toRunOptions } from '../../src/api/create.js';
import { isZero } from '../../src/api/fields.js';
import { frame } from '../../src/api/logs.js';

describe('API version prefixes', () => {
  it('strips /v1.24 to /v1.41 and refuses others with dockerd words', () => {
    expect(splitVersion('/v1.24/containers/json')).toEqual({ version: '1.24', rest: '/containers/json' });
    expect(splitVersion('/_ping')).toEqual({ version: '1.41', rest: '/_ping' });
    expect(() => splitVersion('/v1.42/info')).toThrow('client version 1.42 is too new. Maximum supported API version is 1.41');
    expect(() => splitVersion('/v1.23/info')).toThrow('client version 1.23 is too old');
    expect(() => splitVersion('/v2.0/info')).toThrow('too new');
  });
});

describe('-H addresses', () => {
  it('takes unix paths and loopback TCP only', () => {
    expect(parseHost('unix:///tmp/x.sock')).toEqual({ kind: 'unix', path: '/tmp/x.sock' });
    expect(parseHost('tcp://127.0.0.1:2375')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseHost('tcp://[::1]:2375')).toEqual({ kind: 'tcp', host: '::1', port: 2375 });
    expect(() => parseHost('tcp://0.0.0.0:2375')).toThrow('without --tlsverify');
    expect(() => parseHost('tcp://192.0.2.1:2375')).toThrow('only loopback');
    // beyond loopback with client certificates only (--tls alone checks no client)
    const tls = { cert: 'c', key: 'k', ca: 'a', verify: true };
    expect(parseHost('tcp://0.0.0.0:2376', tls)).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 2376 });
    expect(() => parseHost('tcp://0.0.0.0:2376', { ...tls, verify: false })).toThrow('without --tlsverify');
    expect(tlsFromFlags({})).toBeUndefined();
    expect(() => tlsFromFlags({ tlscert: 'c' })).toThrow('take effect with --tls or --tlsverify');
    expect(() => tlsFromFlags({ tlsverify: true, tlscert: 'c', tlskey: 'k' })).toThrow('--tlsverify needs --tlscacert');
    expect(tlsFromFlags({ tlsverify: true, tlscacert: 'a', tlscert: 'c', tlskey: 'k' })).toEqual(tls);
    expect(() => parseHost('unix://rel.sock')).toThrow('must be absolute');
    expect(() => parseHost('tcp://127.0.0.1:99999')).toThrow('invalid -H');
  });
});

describe('create body', () => {
  it('knows Go zero values', () => {
    expect(isZero({ Type: '', Config: {} })).toBe(true);
    expect(isZero([0, 0])).toBe(true);
    expect(isZero(['x'])).toBe(false);
    expect(isZero({ Name: 'always' })).toBe(false);
  });

  it('turns PortBindings into -p specs', () => {
    expect(publishSpecs({ '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }], '443/tcp': null })).toEqual([
      '8080:80/tcp', '127.0.0.1::53/udp', '443/tcp',
    ]);
    expect(publishSpecs({ '80/tcp': [{ HostIp: '::', HostPort: '8080' }, { HostIp: '::1', HostPort: '' }] })).toEqual(['[::]:8080:80/tcp', '[::1]::80/tcp']);
  });

  it('splits a multi-word Entrypoint, passes defaults and refuses a changed unsupported field', () => {
    const o = toRunOptions({ Image: 'busybox', Entrypoint: ['sh', '-c'], Cmd: ['echo hi'], HostConfig: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, MemorySwappiness: -1, NetworkMode: 'default', NanoCpus: 1.5e9 } }, 'n');
    expect(o).toMatchObject({ image: 'busybox', entrypoint: 'sh', command: ['-c', 'echo hi'], name: 'n', network: undefined, resources: { cpus: '1.5' } });
    expect(toRunOptions({ Image: 'busybox', Entrypoint: [''] }, undefined).entrypoint).toBe('');
    expect(() => toRunOptions({ Image: 'busybox', HostConfig: { CapAdd: ['NET_ADMIN'] } }, undefined)).toThrow('HostConfig.CapAdd is not supported by tsdocker yet');
    expect(() => toRunOptions({ Image: 'busybox', StopSignal: 'SIGINT' }, undefined)).toThrow('Config.StopSignal is not supported');
    expect(() => toRunOptions({ Image: 'busybox', ExposedPorts: { '80/tcp': {} } }, undefined)).toThrow('without a port binding');
    expect(() => toRunOptions({ Cmd: ['true'] }, undefined)).toThrow('Config.Image is required');
  });
});

describe('multiplexed stream', () => {
  it('frames a payload with its stream and big-endian length', () => {
    expect([...frame('stderr', Buffer.from('hi\n'))]).toEqual([2, 0, 0, 0, 0, 0, 0, 3, 104, 105, 10]);
    expect(frame('stdout', Buffer.alloc(300))[0]).toBe(1);
    expect(frame('stdout', Buffer.alloc(300)).readUInt32BE(4)).toBe(300);
  });
});
