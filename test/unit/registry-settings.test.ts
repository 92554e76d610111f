import { describe, expect, it } from 'vitest';
import { hostPart, isInsecure } from '../../src/image/registry/settings.js';

describe('insecure registries', () => {
  it('allows plain HTTP to loopback by default, as Docker does', () => {
    for (const h of ['localhost:5000', 'localhost', '127.0.0.1:5000', '127.4.5.6', '[::1]:5000']) expect(isInsecure(h, [])).toBe(true);
  });

  it('refuses every other registry unless it is configured', () => {
    expect(isInsecure('registry.test:5000', [])).toBe(false);
    expect(isInsecure('192.0.2.10:5000', [])).toBe(false);
    expect(isInsecure('128.0.0.1', [])).toBe(false);
    expect(isInsecure('registry.test:5000', ['registry.test:5000'])).toBe(true);
    expect(isInsecure('registry.test:5001', ['registry.test:5000'])).toBe(false);
    expect(isInsecure('registry.test:5001', ['registry.test'])).toBe(true);
    expect(isInsecure('192.0.2.10:5000', ['192.0.2.0/24'])).toBe(true);
    expect(isInsecure('198.51.100.1:5000', ['192.0.2.0/24'])).toBe(false);
  });

  it('strips ports from host names', () => {
    expect(hostPart('a.b:5000')).toBe('a.b');
    expect(hostPart('[::1]:5000')).toBe('::1');
    expect(hostPart('a.b')).toBe('a.b');
  });
});
