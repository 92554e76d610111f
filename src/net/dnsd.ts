/**
 * tsdocker's embedded DNS: ONE small process per root (never one per container), listening
 * on UDP port 53 of the gateway address of every user-defined network that has containers.
 * It answers A queries for container names, aliases and id prefixes of the network the query
 * arrived on (read from networks/<id>/endpoints/*.json, so containers started later resolve
 * at once), answers other types for those names with an empty NOERROR, and forwards every
 * other name to the host's resolvers (the container's --dns servers first, when given) from
 * the host's namespace, so a systemd-resolved stub at 127.0.0.53 works as an upstream.
 * It re-scans on SIGHUP (sent by attach/detach) and every second, and exits when no user
 * network has containers. Started by net/dns.ts: `node dnsd.js <root>`.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setRoot } from '../state/paths.js';
import { listEndpoints, listNetworks, netFiles, type EndpointRecord } from './store.js';
import { hostNameservers } from './resolv.js';

const root = process.argv[2];
if (!root) {
  process.stderr.write('usage: dnsd <root>\n');
  process.exit(2);
}
setRoot(root);

interface Listener {
  netId: string;
  ip: string;
  sock: Socket;
}
const listeners = new Map<string, Listener>();
const internal = new Set<string>();
let idle = 0;

function say(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} dnsd[${process.pid}] ${msg}\n`);
}

function parseQuestion(msg: Buffer): { name: string; qtype: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), qtype: msg.readUInt16BE(off), end: off + 4 };
}

/** Names on the network the query came in on, then on the other networks the asking container is on. */
function lookup(netId: string, name: string, clientIp: string): string[] {
  const hit = (e: EndpointRecord, n: string) =>
    e.name.toLowerCase() === n || e.aliases.some((a) => a.toLowerCase() === n) || (n.length >= 6 && /^[0-9a-f]+$/.test(n) && e.containerId.startsWith(n));
  const here = listEndpoints(netId);
  const found = here.filter((e) => hit(e, name));
  if (found.length) return [...new Set(found.map((e) => e.ip))];
  const client = here.find((e) => e.ip === clientIp);
  if (!client) return [];
  for (const n of listNetworks()) {
    if (n.id === netId || !n.dns) continue;
    const eps = listEndpoints(n.id);
    if (!eps.some((e) => e.containerId === client.containerId)) continue;
    const more = eps.filter((e) => hit(e, name));
    if (more.length) return [...new Set(more.map((e) => e.ip))];
  }
  return [];
}

function reply(q: Buffer, end: number, rcode: number, ips: string[]): Buffer {
  const head = Buffer.from(q.subarray(0, end));
  const flags = 0x8000 | (q.readUInt16BE(2) & 0x0100) | 0x0400 | 0x0080 | rcode; // QR, RD copied, AA, RA
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const answers = ips.map((ip) => {
    const a = Buffer.alloc(16);
    a.writeUInt16BE(0xc00c, 0); // pointer to the question name
    a.writeUInt16BE(1, 2); // A
    a.writeUInt16BE(1, 4); // IN
    a.writeUInt32BE(600, 6);
    a.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => a.writeUInt8(Number(o), 12 + i));
    return a;
  });
  return Buffer.concat([head, ...answers]);
}

function forward(l: Listener, msg: Buffer, from: RemoteInfo, end: number, upstreams: string[]): void {
  if (!upstreams.length) {
    l.sock.send(reply(msg, end, 2, []), from.port, from.address);
    return;
  }
  const out = createSocket('udp4');
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const done = () => {
    clearTimeout(timer);
    out.close();
  };
  const tryNext = () => {
    if (i >= upstreams.length) {
      l.sock.send(reply(msg, end, 2, []), from.port, from.address);
      done();
      return;
    }
    const up = upstreams[i++]!;
    out.send(msg, 53, up, (err) => {
      if (err) tryNext();
    });
    clearTimeout(timer);
    timer = setTimeout(tryNext, 3000);
  };
  out.on('message', (resp) => {
    if (resp.length >= 2 && resp.readUInt16BE(0) === msg.readUInt16BE(0)) {
      l.sock.send(resp, from.port, from.address);
      done();
    }
  });
  out.on('error', () => done());
  tryNext();
}

function onQuery(l: Listener, msg: Buffer, from: RemoteInfo): void {
  const q = parseQuestion(msg);
  if (!q) return;
  const ips = lookup(l.netId, q.name, from.address);
  if (ips.length) {
    l.sock.send(reply(msg, q.end, 0, q.qtype === 1 || q.qtype === 255 ? ips : []), from.port, from.address);
    return;
  }
  if (internal.has(l.netId)) {
    // an --internal network has no way out, names included (no DNS tunnel): NXDOMAIN
    l.sock.send(reply(msg, q.end, 3, []), from.port, from.address);
    return;
  }
  const client = listEndpoints(l.netId).find((e) => e.ip === from.address);
  const ups = [...(client?.dns ?? []), ...hostNameservers()];
  forward(l, msg, from, q.end, [...new Set(ups)].slice(0, 3));
}

function scan(): void {
  if (!existsSync(root!)) process.exit(0);
  const want = new Map<string, string>(); // gateway ip -> net id
  for (const n of listNetworks()) {
    if (n.dns && listEndpoints(n.id).length > 0) want.set(n.gateway, n.id);
    if (n.internal) internal.add(n.id);
  }
  for (const [ip, l] of listeners) {
    if (want.get(ip) !== l.netId) {
      l.sock.close();
      listeners.delete(ip);
    }
  }
  for (const [ip, netId] of want) {
    if (listeners.has(ip)) continue;
    // SO_REUSEADDR: coexists with a host resolver bound to 0.0.0.0:53 that also set it
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    const l: Listener = { netId, ip, sock };
    listeners.set(ip, l);
    sock.on('message', (m, r) => onQuery(l, m, r));
    sock.on('error', (err) => {
      say(`${ip}:53: ${err.message}`);
      sock.close();
      listeners.delete(ip);
    });
    sock.bind(53, ip);
  }
  if (want.size === 0) {
    if (++idle >= 2) {
      try {
        if (readFileSync(netFiles.dnsPid(), 'utf8').trim() === String(process.pid)) rmSync(netFiles.dnsPid(), { force: true });
      } catch {
        /* already gone */
      }
      say('no user network has containers: exiting');
      process.exit(0);
    }
  } else idle = 0;
}

process.on('SIGHUP', scan);
process.on('SIGTERM', () => process.exit(0));
mkdirSync(dirname(netFiles.dnsPid()), { recursive: true });
writeFileSync(netFiles.dnsPid(), `${process.pid}\n`);
setInterval(scan, 1000);
scan();
say('started');
