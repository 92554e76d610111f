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
    expect(() => toRunOptions({ Image: 'busybox', HostConfig: { BlkioWeight: 300 } }, undefined)).toThrow('HostConfig.BlkioWeight is not supported by tsdocker yet');
    expect(() => toRunOptions({ Image: 'busybox', OnBuild: ['RUN true'] }, undefined)).toThrow('Config.OnBuild is not supported');
    expect(() => toRunOptions({ Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'] } }, undefined)).toThrow('Config.Healthcheck.Test ["CMD","true"] is not supported');
  });

  it('maps the run flags the runtime has: restart policy, healthcheck, init, exposed ports, DNS, caps, sysctls, limits, stop signal', () => {
    const o = toRunOptions({
      Image: 'busybox', ExposedPorts: { '80/tcp': {}, '90/udp': {} }, StopSignal: 'SIGINT', StopTimeout: 3, Domainname: 'example.test',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2e9, Timeout: 1e9, Retries: 4, StartPeriod: 0 },
      HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] }, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Init: true, PublishAllPorts: true,
        Dns: ['192.0.2.53'], DnsSearch: ['example.test'], DnsOptions: ['ndots:2'], ExtraHosts: ['h:192.0.2.9'], CapAdd: ['NET_ADMIN'], CapDrop: ['MKNOD'],
        Sysctls: { 'net.ipv4.ip_forward': '1' }, ShmSize: 33554432, PidsLimit: 50, CpuShares: 512, Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }] },
    }, undefined);
    expect(o).toMatchObject({
      restart: 'on-failure:3', health: { cmd: 'true', interval: '2000000000ns', timeout: '1000000000ns', retries: '4' }, init: true, publishAll: true,
      expose: ['90/udp'], publish: ['8080:80/tcp'], stopSignal: 'SIGINT', stopTimeout: 3, domainname: 'example.test',
      dns: ['192.0.2.53'], dnsSearch: ['example.test'], dnsOptions: ['ndots:2'], addHosts: ['h:192.0.2.9'], sysctls: ['net.ipv4.ip_forward=1'], ns: { shmSize: '33554432b' },
      resources: { capAdd: ['NET_ADMIN'], capDrop: ['MKNOD'], pidsLimit: '50', cpuShares: '512', ulimit: ['nofile=100:200'] },
    });
    expect(toRunOptions({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, undefined).restart).toBe('always');
    expect(toRunOptions({ Image: 'busybox', Healthcheck: { Test: ['NONE'] } }, undefined).health).toEqual({ none: true });
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
