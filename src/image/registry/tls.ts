/**
 * TLS trust for one registry, as Docker builds it: the system CA store
 * (/etc/ssl/certs/ca-certificates.crt where it exists, else Node's bundle), the user's
 * NODE_EXTRA_CA_CERTS (through extraCaFile: bin/tsdocker passes it on), and every `*.crt` in
 * `<certs.d>/HOST[:PORT]/`, plus a client
 * certificate pair `client.cert` + `client.key` from the same directory. Read only when
 * a TLS connection is made, so commands that make none never pay for it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { TsdError } from '../../sys/errors.js';
import { extraCaFile } from '../../sys/tls.js';

export interface TlsOptions {
  ca: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

let systemCas: string[] | undefined;
function systemStore(): string[] {
  if (!systemCas) {
    const file = SYSTEM_BUNDLES.find((f) => existsSync(f));
    systemCas = file ? [readFileSync(file, 'utf8')] : [...rootCertificates];
    // bin/tsdocker takes NODE_EXTRA_CA_CERTS out of Node's start and passes it on (sys/tls.ts)
    const extra = extraCaFile();
    if (extra && existsSync(extra)) systemCas.push(readFileSync(extra, 'utf8'));
  }
  return systemCas;
}

function readIn(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    throw new TsdError('BAD_ARGS', `cannot read ${join(dir, name)}: ${(err as Error).message}`, { hint: 'fix its permissions or remove it' });
  }
}

export function tlsFor(hostPort: string, certsDir: string, verify: boolean): TlsOptions {
  // not verifying (an insecure registry): no CA to parse, ~90 ms saved per pull
  const out: TlsOptions = { ca: verify ? [...systemStore()] : [], rejectUnauthorized: verify };
  const dir = join(certsDir, hostPort);
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  if (verify) for (const n of names) if (n.endsWith('.crt')) out.ca.push(readIn(dir, n));
  const hasCert = names.includes('client.cert');
  const hasKey = names.includes('client.key');
  if (hasCert !== hasKey) {
    throw new TsdError('BAD_ARGS', `${dir}: ${hasCert ? 'client.cert has no client.key' : 'client.key has no client.cert'}`, {
      hint: 'a client certificate needs both files',
    });
  }
  if (hasCert) {
    out.cert = readIn(dir, 'client.cert');
    out.key = readIn(dir, 'client.key');
  }
  return out;
}
