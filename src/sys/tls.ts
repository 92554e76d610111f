/**
 * The CA store for tsdocker's own TLS connections (a registry, a TLS etcd). bin/tsdocker
 * starts Node without NODE_EXTRA_CA_CERTS, which Node 20 would parse at every start (~40 ms)
 * though most commands make no TLS connection, and passes its value on in
 * TSDOCKER_EXTRA_CA_CERTS. Every TLS caller takes `ca` from here, so the user's extra CAs are
 * honoured as Node would have honoured them: Node's bundled roots plus the file's.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let cached: { file: string; ca: string[] } | undefined;

/** The user's extra CA file: passed on by the launcher, or NODE_EXTRA_CA_CERTS when Node ran without it. */
export function extraCaFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TSDOCKER_EXTRA_CA_CERTS || env.NODE_EXTRA_CA_CERTS || undefined;
}

/**
 * `ca` for tls.connect / https.request: undefined (Node's default store) when the user set
 * no extra file, else Node's bundled roots plus that file's certificates. An unreadable file is skipped with a warning, as Node does.
 */
export function extraCaCerts(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = extraCaFile(env);
  if (!file) return undefined;
  if (cached?.file === file) return cached.ca;
  const { rootCertificates } = require('node:tls') as typeof import('node:tls');
  let extra: string[] = [];
  try {
    extra = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  } catch (err) {
    process.stderr.write(`WARNING: ignoring extra certs from ${file}: ${(err as Error).message}\n`);
  }
  cached = { file, ca: [...rootCertificates, ...extra] };
  return cached.ca;
}
