import { describe, it, expect } from 'vitest';
import { parseAddHosts, renderHosts, renderResolvConf, validateDns } from '../../src/net/resolv.js';

describe('resolv.conf and hosts', () => {
  it('renders the embedded DNS for user networks, keeping search and options', () => {
    const base = 'nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad ndots:2\n';
    expect(renderResolvConf({ nameservers: ['10.89.0.1'], search: [], base, ndots0: true })).toBe(
      'nameserver 10.89.0.1\nsearch corp.example\noptions edns0 trust-ad ndots:0\n',
    );
    expect(renderResolvConf({ search: ['a.example'], base: 'nameserver 192.0.2.53\n' })).toBe('nameserver 192.0.2.53\nsearch a.example\n');
    expect(renderResolvConf({ nameservers: ['192.0.2.1', '192.0.2.2'], search: [], base })).toContain('nameserver 192.0.2.1\nnameserver 192.0.2.2\n');
  });
  it('renders /etc/hosts with the container address and --add-host lines', () => {
    const h = renderHosts('web', '10.89.0.2', parseAddHosts(['db:192.0.2.5', 'cache=192.0.2.6']));
    expect(h).toContain('192.0.2.5\tdb\n192.0.2.6\tcache\n10.89.0.2\tweb\n');
    expect(renderHosts('web', undefined, [])).toContain('127.0.1.1\tweb');
  });
  it('refuses bad --add-host and --dns', () => {
    expect(() => parseAddHosts(['db'])).toThrow(/--add-host/);
    expect(() => parseAddHosts(['db:1.2.3'])).toThrow(/invalid IP address/);
    expect(() => validateDns(['dns.example'])).toThrow(/not an ip address/);
    expect(() => validateDns(['192.0.2.1'])).not.toThrow();
  });
});
