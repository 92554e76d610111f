import { describe, expect, it } from 'vitest';
import { parsePlatform, pickEntry, type IndexEntry } from '../../src/image/registry/platform.js';

const e = (digest: string, platform: IndexEntry['platform'], annotations?: Record<string, string>): IndexEntry => ({ digest, platform, annotations });

describe('platforms', () => {
  it('parses os/arch[/variant] with Docker aliases', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('Linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(() => parsePlatform('amd64')).toThrow(/invalid platform/);
    expect(() => parsePlatform('linux/amd64/v2/x')).toThrow(/invalid platform/);
  });

  const index = [
    e('a', { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
    e('b', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    e('c', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    e('d', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    e('f', { os: 'linux', architecture: 'amd64' }),
    e('g', { os: 'windows', architecture: 'amd64' }),
  ];

  it('picks the entry for the platform asked', () => {
    expect(pickEntry(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe('f');
    expect(pickEntry(index, { os: 'windows', architecture: 'amd64' })?.digest).toBe('g');
    expect(pickEntry(index, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe('c');
    expect(pickEntry(index, { os: 'linux', architecture: 'arm64' })?.digest).toBe('d');
    expect(pickEntry(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe('d');
  });

  it('finds nothing for a platform the index lacks, and never an attestation', () => {
    expect(pickEntry(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(pickEntry(index, { os: 'linux', architecture: 'arm', variant: 'v5' })).toBeUndefined();
    expect(pickEntry(index, { os: 'unknown', architecture: 'unknown' })).toBeUndefined();
  });
});
