// A token server for a test registry (distribution's `auth: token`): GET /token with
// service, scope(s) and optional basic credentials answers a JWT signed with RS256 by the
// key whose certificate is the registry's rootcertbundle (sent in the x5c header).
// Anonymous callers get pull only; `user:password` gets what it asks; a wrong password is 401.
// Logs each request as a JSON line. argv: JSON {listen, key, cert, issuer, service, user, password}
import http from 'node:http';
import { createSign, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const key = readFileSync(o.key, 'utf8');
const der = new X509Certificate(readFileSync(o.cert)).raw.toString('base64');
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

function token(sub, access) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64u({ alg: 'RS256', typ: 'JWT', x5c: [der] });
  const body = b64u({ iss: o.issuer, sub, aud: o.service, exp: now + 600, nbf: now - 10, iat: now, jti: randomUUID(), access });
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
  return `${head}.${body}.${sig}`;
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const auth = req.headers.authorization;
    let user;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== o.user || p !== o.password) {
        console.log(JSON.stringify({ ev: 'denied', user: u }));
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':');
      const asked = (actions ?? '').split(',');
      return { type, name, actions: user ? asked : asked.filter((a) => a === 'pull') };
    });
    console.log(JSON.stringify({ ev: 'token', user: user ?? null, service: url.searchParams.get('service'), scopes }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: token(user ?? '', access), expires_in: 600 }));
  })
  .listen(o.listen, '127.0.0.1', () => console.log(`listening ${o.listen}`));
