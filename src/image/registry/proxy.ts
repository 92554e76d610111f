/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case), as Go's net/http reads them for
 * dockerd: NO_PROXY is a comma list of hosts, domain suffixes (`.example.com` or
 * `example.com`), `host:port`, IPv4 CIDRs, or `*`; loopback is never proxied.
 */
import { inCidr as ipv4InCidr } from './settings.js';

const env = (name: string): string | undefined => process.env[name] || process.env[name.toLowerCase()] || undefined;

export function bypassed(url: URL, noProxy: string | undefined): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1' || ipv4InCidr(host, '127.0.0.0/8')) return true;
  if (!noProxy) return false;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',')) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    if (e === '*') return true;
    if (e.includes('/')) {
      if (ipv4InCidr(host, e)) return true;
      continue;
    }
    const m = /^(.*?)(?::(\d+))?$/.exec(e)!;
    const name = m[1]!.replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy to use for this URL, or undefined. */
export function proxyFor(url: URL): URL | undefined {
  const p = url.protocol === 'https:' ? env('HTTPS_PROXY') : env('HTTP_PROXY');
  if (!p || bypassed(url, env('NO_PROXY'))) return undefined;
  return new URL(p.includes('://') ? p : `http://${p}`);
}
