// Runs inside a bench sandbox's network namespace ("the host" of the runtime under test).
// Listens on 0.0.0.0:PORT; every container of the burst connects once. Prints "ready", then
// one line per connection: the peer address. Exits after EXPECT distinct addresses or TIMEOUT ms.
import { createServer } from 'node:net';

const [port, expect, timeout] = process.argv.slice(2).map(Number);
const seen = new Set();
const server = createServer((sock) => {
  const addr = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
  process.stdout.write(`${addr}\n`);
  seen.add(addr);
  sock.on('error', () => {});
  sock.end('ok\n');
  if (seen.size >= expect) setTimeout(() => process.exit(0), 50);
});
server.listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
setTimeout(() => process.exit(2), timeout).unref();
