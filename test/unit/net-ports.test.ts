import { describe, it, expect } from 'vitest';
import { parsePublish, formatPortLines, formatPortsColumn } from '../../src/net/ports.js';

describe('-p parsing', () => {
  it('accepts the forms Docker accepts', () => {
    expect(parsePublish('8080:80')).toEqual([{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp', dual: true }]);
    expect(parsePublish('80')).toEqual([{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, proto: 'tcp', dual: true }]);
    expect(parsePublish('127.0.0.1:5353:53/udp')).toEqual([{ hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, proto: 'udp' }]);
    expect(parsePublish('127.0.0.1::53')).toEqual([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, proto: 'tcp' }]);
    expect(parsePublish('8000-8001:80-81')).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8000, containerPort: 80, proto: 'tcp', dual: true },
      { hostIp: '0.0.0.0', hostPort: 8001, containerPort: 81, proto: 'tcp', dual: true },
    ]);
    expect(parsePublish('8000-8010:80')).toEqual([{ hostIp: '0.0.0.0', hostPort: 8000, hostPortEnd: 8010, containerPort: 80, proto: 'tcp', dual: true }]);
    // an explicit host IP publishes on that address only; IPv6 ones in brackets, as Docker
    expect(parsePublish('0.0.0.0:8080:80')).toEqual([{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('[::]:8080:80')).toEqual([{ hostIp: '::', hostPort: 8080, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('[::1]::80')).toEqual([{ hostIp: '::1', hostPort: 0, containerPort: 80, proto: 'tcp' }]);
    expect(parsePublish('[2001:db8::7]:8080-8081:80-81')).toHaveLength(2);
    expect(parsePublish('80-81')).toHaveLength(2);
    expect(parsePublish('80/UDP')[0]!.proto).toBe('udp');
  });
  it('refuses malformed specs with a clear message', () => {
    for (const [spec, msg] of [
      ['0:80', /between 1 and 65535/],
      ['80:70000', /between 1 and 65535/],
      ['abc', /invalid container port/],
      ['80:abc', /invalid container port/],
      ['x:80', /invalid host port/],
      ['1.2.3:80:80', /invalid host IP/],
      ['[::g]:80:80', /invalid host IP/],
      ['::1:80:80', /too many colons/],
      ['[::1]:80', /too many colons/],
      ['[::]:53:53/udp', /UDP is published on IPv4 only/],
      ['1:2:3:4', /too many colons/],
      ['80/sctp', /unsupported protocol/],
      ['8000-8002:80-81', /differ in length/],
      ['90-80', /range/],
      ['', /invalid container port/],
    ] as const) {
      expect(() => parsePublish(spec), spec).toThrow(msg);
    }
  });
});

describe('port formatting', () => {
  const ports = [
    { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' as const },
    { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, proto: 'udp' as const },
  ];
  it('prints `port` lines like Docker', () => {
    expect(formatPortLines(ports)).toEqual(['80/tcp -> 0.0.0.0:8080', '53/udp -> 127.0.0.1:5353']);
    expect(formatPortLines(ports, '80')).toEqual(['0.0.0.0:8080']);
    expect(formatPortLines(ports, '53/udp')).toEqual(['127.0.0.1:5353']);
    expect(formatPortLines(ports, '53')).toEqual([]);
  });
  it('prints the ps column', () => {
    expect(formatPortsColumn(ports)).toBe('0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp');
  });
});

describe('port records on disk', () => {
  it('a claim leaves one whole record; release also drops records of containers that no longer exist', async () => {
    const { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { setRoot, paths } = await import('../../src/state/paths.js');
    const { reservePorts, releasePorts } = await import('../../src/net/ports.js');
    const { netFiles } = await import('../../src/net/store.js');
    const root = mkdtempSync(join(tmpdir(), 'tsd-ports-'));
    try {
      setRoot(root);
      const live = 'a'.repeat(64);
      mkdirSync(paths.container(live), { recursive: true });
      // a record left by a start killed after its container went: it names nobody that exists
      mkdirSync(netFiles.ports(), { recursive: true });
      writeFileSync(netFiles.port('tcp', 61001), `${'d'.repeat(64)}\n0.0.0.0\n`);
      const got = reservePorts(live, [{ hostIp: '0.0.0.0', hostPort: 61000, containerPort: 80, proto: 'tcp' }]);
      expect(got[0]!.hostPort).toBe(61000);
      expect(readdirSync(netFiles.ports()).sort()).toEqual(['tcp-61000', 'tcp-61001']); // no aside file stays
      expect(readFileSync(netFiles.port('tcp', 61000), 'utf8')).toBe(`${live}\n0.0.0.0\n`);
      releasePorts(live);
      expect(readdirSync(netFiles.ports())).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
