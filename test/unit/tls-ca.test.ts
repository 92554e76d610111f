/**
 * extraCaCerts: the launcher takes NODE_EXTRA_CA_CERTS out of Node's start; a TLS caller
 * must still trust the user's extra CA through it. A real TLS server on loopback with a
 * self-signed certificate (openssl) proves it both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { extraCaCerts } from '../../src/sys/tls.js';

let dir: string;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsd-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=registry.test', '-addext', 'subjectAltName=DNS:registry.test',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function handshake(ca: string[] | undefined): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'registry.test', ca }, () => resolve('ok'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('extraCaCerts', () => {
  it('without an extra file: Node default store (undefined), which does not trust the server', async () => {
    expect(extraCaCerts({})).toBeUndefined();
    expect(await handshake(extraCaCerts({}))).not.toBe('ok');
  });

  it('with TSDOCKER_EXTRA_CA_CERTS: the default roots plus the file, and the handshake succeeds', async () => {
    const ca = extraCaCerts({ TSDOCKER_EXTRA_CA_CERTS: join(dir, 'cert.pem') })!;
    expect(ca.length).toBeGreaterThan(100); // Node's roots are kept
    expect(await handshake(ca)).toBe('ok');
  });
});
