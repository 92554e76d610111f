// A plain-HTTP reverse proxy in front of a test registry that logs every request as a JSON
// line and can fail one blob download: after `after` bytes it stalls (keeps the socket
// open, as a hung network does), cuts the connection, or holds the rest until SIGUSR1.
// Used once, then it passes through. It is also a forward proxy for HTTPS (CONNECT).
// argv: JSON {listen, upstream, fail?: {digest, after, mode: 'stall'|'cut'|'hold'}}
import http from 'node:http';
import net from 'node:net';

const o = JSON.parse(process.argv[2]);
let fail = o.fail;
const server = http.createServer((req, res) => {
  const target = fail && req.method === 'GET' && req.url.endsWith(`/blobs/${fail.digest}`) ? fail : undefined;
  if (target) fail = undefined;
  console.log(JSON.stringify({ ev: 'req', method: req.method, path: req.url, len: req.headers['content-length'] }));
  const up = http.request({ host: '127.0.0.1', port: o.upstream, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    const headers = { ...ur.headers };
    if (headers.location) headers.location = headers.location.replace(`127.0.0.1:${o.upstream}`, `127.0.0.1:${o.listen}`);
    res.writeHead(ur.statusCode, headers);
    if (!target) {
      ur.pipe(res);
      return;
    }
    let sent = 0;
    ur.on('data', (c) => {
      if (target.mode === 'hold' && sent >= target.after) {
        res.write(c);
        return;
      }
      if (sent >= target.after) return;
      const part = c.subarray(0, target.after - sent);
      sent += part.length;
      res.write(part);
      if (sent >= target.after && target.mode === 'hold') {
        ur.pause();
        const rest = c.subarray(part.length);
        process.once('SIGUSR1', () => {
          res.write(rest);
          ur.resume();
        });
        ur.once('end', () => res.end());
        console.log(JSON.stringify({ ev: 'held', path: req.url, sent }));
      } else if (sent >= target.after) {
        ur.destroy();
        console.log(JSON.stringify({ ev: target.mode === 'cut' ? 'cut' : 'stalled', path: req.url, sent }));
        if (target.mode === 'cut') setTimeout(() => res.socket?.destroy(), 50);
      }
    });
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
server.on('connect', (req, socket, head) => {
  console.log(JSON.stringify({ ev: 'connect', target: req.url }));
  const [host, port] = req.url.split(':');
  const up = net.connect(Number(port), host, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});
server.listen(o.listen, '127.0.0.1', () => console.log(`listening ${o.listen}`));
