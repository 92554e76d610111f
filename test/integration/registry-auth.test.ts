/**
 * Registry authentication and transport security against distribution 2.8 in a sandbox:
 * htpasswd basic auth (login verifies before saving, Docker's config.json at mode 0600,
 * a credential helper, logout), a token server the test runs (anonymous pull, push only
 * with credentials), and TLS: a CA made here with openssl, trusted through certs.d, or
 * NODE_EXTRA_CA_CERTS; client certificates; insecure-registries from daemon.json;
 * HTTPS_PROXY/NO_PROXY. `registry.test` resolves to 127.0.0.1 through the sandbox's own
 * /etc/hosts (a bind mount inside its mount namespace).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';
import { HELPERS, startDaemon, startRegistry, type Daemon, type Registry } from '../helpers/registry.js';

const isRoot = process.getuid?.() === 0;
const openssl = (args: string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: 'ignore' });

function makeCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=tsd-test-ca', '-days', '2'], dir);
  for (const [name, cn, ext] of [
    ['server', 'registry.test', 'subjectAltName=DNS:registry.test\nextendedKeyUsage=serverAuth\n'],
    ['client', 'tsd-client', 'extendedKeyUsage=clientAuth\n'],
    ['token', 'tsd-token', 'keyUsage=digitalSignature\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
}

describe.skipIf(!isRoot)('registry auth and TLS', () => {
  let sb: Sandbox;
  let dir: string;
  let certs: string;
  const daemons: (Daemon | Registry)[] = [];
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_CONFIG: join(dir, 'docker'), ...extra });
  const tsd = (args: string[], extra: Record<string, string> = {}, input?: string) => sb.tsd(args, { env: env(extra), input });
  const dockerConfig = (): { auths?: Record<string, { auth?: string }>; credsStore?: string } =>
    existsSync(join(dir, 'docker', 'config.json')) ? JSON.parse(readFileSync(join(dir, 'docker', 'config.json'), 'utf8')) : {};

  beforeAll(async () => {
    sb = await createSandbox('tsd-regauth');
    dir = mkdtempSync(join(tmpdir(), 'tsd-regauth-'));
    certs = join(dir, 'certs');
    makeCerts(certs);
    writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost registry.test\n');
    const m = await sb.sh(['mount', '--bind', join(dir, 'hosts'), '/etc/hosts']);
    expect(m.code).toBe(0);
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    await tsdOk(sb, ['load', '-i', BUSYBOX_TAR]);
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await sb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('basic auth: login checks the password before saving it (0600), push and pull use it, logout forgets it', async () => {
    daemons.push(await startRegistry(sb, join(dir, 'basic'), { port: 5200, htpasswd: join(dir, 'htpasswd') }));
    await tsdOk(sb, ['tag', 'busybox', '127.0.0.1:5200/team/bb:1']);
    const anon = await tsd(['push', '127.0.0.1:5200/team/bb:1']);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toContain('127.0.0.1:5200: authentication required');
    const wrong = await tsd(['login', '-u', 'alice', '--password-stdin', '127.0.0.1:5200'], {}, 'nope\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.split('\n')[0]).toBe('tsdocker: 127.0.0.1:5200: unauthorized: incorrect username or password');
    expect(existsSync(join(dir, 'docker', 'config.json'))).toBe(false);
    const ok = await tsd(['login', '-u', 'alice', '--password-stdin', '127.0.0.1:5200'], {}, 's3cret\n');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('Login Succeeded\n');
    expect(statSync(join(dir, 'docker', 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'docker')).mode & 0o777).toBe(0o700);
    expect(dockerConfig().auths?.['127.0.0.1:5200']?.auth).toBe(Buffer.from('alice:s3cret').toString('base64'));
    expect((await tsd(['push', '127.0.0.1:5200/team/bb:1'])).code).toBe(0);
    await tsdOk(sb, ['rmi', '127.0.0.1:5200/team/bb:1']);
    expect((await tsd(['pull', '127.0.0.1:5200/team/bb:1'])).code).toBe(0);
    expect((await tsd(['logout', '127.0.0.1:5200'])).stdout).toBe('Removing login credentials for 127.0.0.1:5200\n');
    expect(dockerConfig().auths?.['127.0.0.1:5200']).toBeUndefined();
    expect((await tsd(['logout', '127.0.0.1:5200'])).stdout).toBe('Not logged in to 127.0.0.1:5200\n');
    expect((await tsd(['pull', '127.0.0.1:5200/team/bb:1'])).code).toBe(1);
  });

  it('a credential helper (credsStore) keeps the secret out of config.json', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-tsdtest');
    writeFileSync(
      helper,
      `#!/bin/sh\nstore="${dir}/helper-store.json"\ncase "$1" in\n  store) cat > "$store" ;;\n  get) read url; if [ -f "$store" ]; then cat "$store"; else echo "credentials not found in native keychain"; exit 1; fi ;;\n  erase) rm -f "$store" ;;\nesac\n`,
    );
    chmodSync(helper, 0o755);
    mkdirSync(join(dir, 'docker'), { recursive: true });
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ credsStore: 'tsdtest' }));
    const path = { PATH: `${bin}:${process.env.PATH}` };
    const ok = await tsd(['login', '-u', 'alice', '--password-stdin', '127.0.0.1:5200'], path, 's3cret');
    expect(ok.stdout).toBe('Login Succeeded\n');
    expect(JSON.parse(readFileSync(join(dir, 'helper-store.json'), 'utf8'))).toEqual({ ServerURL: '127.0.0.1:5200', Username: 'alice', Secret: 's3cret' });
    expect(readFileSync(join(dir, 'docker', 'config.json'), 'utf8')).not.toContain('s3cret');
    await sb.tsd(['rmi', '127.0.0.1:5200/team/bb:1']);
    expect((await tsd(['pull', '127.0.0.1:5200/team/bb:1'], path)).code).toBe(0);
    await tsd(['logout', '127.0.0.1:5200'], path);
    expect(existsSync(join(dir, 'helper-store.json'))).toBe(false);
    rmSync(join(dir, 'docker', 'config.json'));
  });

  it('token auth: anonymous pull, push only with credentials, login verified by the token server', async () => {
    const tok = await startDaemon(
      sb,
      [process.execPath, join(HELPERS, 'registry-token.mjs'), JSON.stringify({ listen: 5301, key: join(certs, 'token.key'), cert: join(certs, 'token.crt'), issuer: 'tsd-issuer', service: 'tsd-registry', user: 'bob', password: 'hunter2' })],
      /^listening/,
    );
    daemons.push(tok);
    daemons.push(await startRegistry(sb, join(dir, 'token'), { port: 5300, token: { realm: 'http://127.0.0.1:5301/token', service: 'tsd-registry', issuer: 'tsd-issuer', bundle: join(certs, 'token.crt') } }));
    await tsdOk(sb, ['tag', 'busybox', '127.0.0.1:5300/pub/bb:1']);
    const anon = await tsd(['push', '127.0.0.1:5300/pub/bb:1']);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/^tsdocker: 127\.0\.0\.1:5300(\/pub\/bb)?: .*(denied|unauthorized)/);
    const wrong = await tsd(['login', '-u', 'bob', '--password-stdin', '127.0.0.1:5300'], {}, 'wrong');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.split('\n')[0]).toBe('tsdocker: 127.0.0.1:5300: unauthorized: incorrect username or password');
    expect((await tsd(['login', '-u', 'bob', '--password-stdin', '127.0.0.1:5300'], {}, 'hunter2')).stdout).toBe('Login Succeeded\n');
    const push = await tsd(['push', '127.0.0.1:5300/pub/bb:1']);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const grants = tok.lines.filter((l) => l.includes('"ev":"token"')).map((l) => JSON.parse(l) as { user: string | null; service: string; scopes: string[] });
    expect(grants.some((g) => g.user === 'bob' && g.service === 'tsd-registry' && g.scopes.includes('repository:pub/bb:pull,push'))).toBe(true);
    await tsd(['logout', '127.0.0.1:5300']);
    await tsdOk(sb, ['rmi', '127.0.0.1:5300/pub/bb:1']);
    const mark = tok.lines.length;
    const pull = await tsd(['pull', '127.0.0.1:5300/pub/bb:1']);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(tok.lines.slice(mark).some((l) => l.includes('"user":null') && l.includes('repository:pub/bb:pull'))).toBe(true);
    expect(await tsdOk(sb, ['run', '--rm', '--network', 'none', '127.0.0.1:5300/pub/bb:1', 'echo', 'token ok'])).toBe('token ok\n');
  });

  it('TLS: refuses an unknown CA, trusts certs.d/HOST:PORT/ca.crt or NODE_EXTRA_CA_CERTS, sends client certs', async () => {
    daemons.push(await startRegistry(sb, join(dir, 'tls'), { port: 5400, tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key') } }));
    daemons.push(await startRegistry(sb, join(dir, 'mtls'), { port: 5401, tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key'), clientCas: join(certs, 'ca.crt') } }));
    const certsD = join(dir, 'certs.d');
    mkdirSync(certsD, { recursive: true });
    const withCerts = { TSDOCKER_CERTS_D: certsD };
    await tsdOk(sb, ['tag', 'busybox', 'registry.test:5400/app/bb:1']);
    const untrusted = await tsd(['push', 'registry.test:5400/app/bb:1'], withCerts);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr.split('\n')[0]).toMatch(/^tsdocker: cannot reach registry\.test:5400: .*(certificate|self.signed)/i);
    expect(untrusted.stderr.split('\n')[1]).toBe("hint: trust the registry's CA: put it in certs.d/registry.test:5400/ca.crt (default /etc/docker/certs.d)");
    mkdirSync(join(certsD, 'registry.test:5400'));
    writeFileSync(join(certsD, 'registry.test:5400', 'ca.crt'), readFileSync(join(certs, 'ca.crt')));
    expect((await tsd(['push', 'registry.test:5400/app/bb:1'], withCerts)).code).toBe(0);
    await tsdOk(sb, ['rmi', 'registry.test:5400/app/bb:1']);
    expect((await tsd(['pull', 'registry.test:5400/app/bb:1'], withCerts)).code).toBe(0);
    // the user's extra CAs are honoured too
    await tsdOk(sb, ['rmi', 'registry.test:5400/app/bb:1']);
    const extra = await tsd(['pull', 'registry.test:5400/app/bb:1'], { TSDOCKER_CERTS_D: join(dir, 'none'), NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') });
    expect(extra.stderr).toBe('');
    expect(extra.code).toBe(0);

    // a registry that wants a client certificate
    mkdirSync(join(certsD, 'registry.test:5401'));
    writeFileSync(join(certsD, 'registry.test:5401', 'ca.crt'), readFileSync(join(certs, 'ca.crt')));
    await tsdOk(sb, ['tag', 'busybox', 'registry.test:5401/app/bb:1']);
    const noClient = await tsd(['push', 'registry.test:5401/app/bb:1'], withCerts);
    expect(noClient.code).toBe(1);
    expect(noClient.stderr).toContain('cannot reach registry.test:5401: TLS handshake failed:');
    expect(noClient.stderr).toContain('hint: the registry may want a client certificate: certs.d/registry.test:5401/client.cert and client.key');
    // on loopback (insecure: HTTPS unverified, then HTTP) the TLS failure is still the one reported
    const loop = await tsd(['pull', '127.0.0.1:5401/app/bb:1'], withCerts);
    expect(loop.code).toBe(1);
    expect(loop.stderr.split('\n')[0]).toMatch(/^tsdocker: cannot reach 127\.0\.0\.1:5401: TLS handshake failed: /);
    writeFileSync(join(certsD, 'registry.test:5401', 'client.cert'), readFileSync(join(certs, 'client.crt')));
    writeFileSync(join(certsD, 'registry.test:5401', 'client.key'), readFileSync(join(certs, 'client.key')));
    const client = await tsd(['push', 'registry.test:5401/app/bb:1'], withCerts);
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
  });

  it('plain HTTP to a non-loopback name only when daemon.json lists it; HTTPS_PROXY tunnels, NO_PROXY bypasses', async () => {
    daemons.push(await startRegistry(sb, join(dir, 'plain'), { port: 5402 }));
    await tsdOk(sb, ['tag', 'busybox', 'registry.test:5402/app/bb:1']);
    const refused = await tsd(['push', 'registry.test:5402/app/bb:1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot reach registry.test:5402');
    writeFileSync(join(sb.root, 'daemon.json'), JSON.stringify({ 'insecure-registries': ['registry.test:5402'] }));
    expect((await tsd(['push', 'registry.test:5402/app/bb:1'])).code).toBe(0);
    rmSync(join(sb.root, 'daemon.json'));

    const proxy = await startDaemon(sb, [process.execPath, join(HELPERS, 'registry-proxy.mjs'), JSON.stringify({ listen: 5499, upstream: 5400 })], /^listening/);
    daemons.push(proxy);
    const certsD = { TSDOCKER_CERTS_D: join(dir, 'certs.d') };
    await sb.tsd(['rmi', 'registry.test:5400/app/bb:1']);
    const via = await tsd(['pull', 'registry.test:5400/app/bb:1'], { ...certsD, HTTPS_PROXY: 'http://127.0.0.1:5499' });
    expect(via.stderr).toBe('');
    expect(via.code).toBe(0);
    expect(proxy.lines).toContain(JSON.stringify({ ev: 'connect', target: 'registry.test:5400' }));
    const n = proxy.lines.length;
    await tsdOk(sb, ['rmi', 'registry.test:5400/app/bb:1']);
    expect((await tsd(['pull', 'registry.test:5400/app/bb:1'], { ...certsD, HTTPS_PROXY: 'http://127.0.0.1:5499', NO_PROXY: '.test' })).code).toBe(0);
    expect(proxy.lines.slice(n)).toEqual([]);
  });
});
