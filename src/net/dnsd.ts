/**
 * tsdocker's embedded DNS: ONE small process per root (never one per container), listening
 * on UDP port 53 of the gateway address of every user-defined network that has containers.
 * It answers A queries for container names, aliases and id prefixes of the network the query
 * arrived on (read from networks/<id>/endpoints/*.json, so containers started later resolve
 * at once), answers other types for those names with an empty NOERROR, and forwards every
 * other name to the host's resolvers (the container's --dns servers first, when given) from
 * the host's namespace, so a systemd-resolved stub at 127.0.0.53 works as an upstream.
 * UDP and TCP (clients retry over TCP when an answer was truncated) are both served.
 * It re-scans on SIGHUP (sent by attach/detach) and every second, and exits when no user
 * network has containers. Started by net/dns.ts: `node dnsd.js <root>`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setRoot } from '../state/paths.js';
import { isRunningSync } from '../state/containers.js';
import { listEndpoints, listNetworks, listRemoteEndpoints, netFiles, type EndpointRecord } from './store.js';
import { hostNameservers } from './resolv.js';
import { lengthPrefix, parseQuestion, ptrAddress, reply, replyPtr } from './dnswire.js';

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
  tcp?: Server;
}
const listeners = new Map<string, Listener>();
const internal = new Set<string>();
let idle = 0;

function say(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} dnsd[${process.pid}] ${msg}\n`);
}

/**
 * A container whose monitor was killed keeps its endpoint record until someone cleans up:
 * its name must not resolve meanwhile (its address may already be another container's).
 * A state.json that cannot be read tells nothing: the name still resolves.
 */
const alive = (e: EndpointRecord) => isRunningSync(e.containerId) !== false;
const liveEndpoints = (netId: string) => listEndpoints(netId).filter(alive);

/** Names on the network the query came in on, then on the other networks the asking container is on. */
function lookup(netId: string, name: string, clientIp: string): string[] {
  const hit = (e: EndpointRecord, n: string) =>
    e.name.toLowerCase() === n || e.aliases.some((a) => a.toLowerCase() === n) || (n.length >= 6 && /^[0-9a-f]+$/.test(n) && e.containerId.startsWith(n));
  // remote endpoints (overlay) are kept by the agent from the cluster store; local ones must be alive
  const here = [...liveEndpoints(netId), ...listRemoteEndpoints(netId)];
  const found = here.filter((e) => hit(e, name));
  if (found.length) return [...new Set(found.map((e) => e.ip))];
  const client = here.find((e) => e.ip === clientIp);
  if (!client) return [];
  const mine = listNetworks().filter((n) => n.dns && (n.id === netId || listEndpoints(n.id).some((e) => e.containerId === client.containerId)));
  for (const n of mine) {
    if (n.id === netId) continue;
    const more = liveEndpoints(n.id).filter((e) => hit(e, name));
    if (more.length) return [...new Set(more.map((e) => e.ip))];
  }
  // Docker also answers NAME.NETWORK on the networks the asking container is on
  for (const n of mine) {
    const suffix = `.${n.name.toLowerCase()}`;
    if (!name.endsWith(suffix) || name.length === suffix.length) continue;
    const more = [...liveEndpoints(n.id), ...listRemoteEndpoints(n.id)].filter((e) => hit(e, name.slice(0, -suffix.length)));
    if (more.length) return [...new Set(more.map((e) => e.ip))];
  }
  return [];
}

type Send = (answer: Buffer) => void;

/** Forwards in flight, capped as Docker's resolver does: a flooding container cannot exhaust our descriptors. */
let inflight = 0;
const MAX_INFLIGHT = 1024;

/** Relay one query to the upstreams in turn (3 s each) over UDP; SERVFAIL when none answers. */
function forwardUdp(msg: Buffer, end: number, upstreams: string[], send: Send): void {
  const out = createSocket('udp4');
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const done = () => {
    clearTimeout(timer);
    out.close();
  };
  const tryNext = () => {
    if (i >= upstreams.length) {
      send(reply(msg, end, 2, []));
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
      send(resp);
      done();
    }
  });
  out.on('error', () => {
    send(reply(msg, end, 2, []));
    done();
  });
  tryNext();
}

/** The same over TCP (clients retry over TCP when a UDP answer was truncated). */
function forwardTcp(msg: Buffer, end: number, upstreams: string[], send: Send, i = 0): void {
  if (i >= upstreams.length) {
    send(reply(msg, end, 2, []));
    return;
  }
  const c = connect({ host: upstreams[i]!, port: 53, timeout: 3000 });
  let buf = Buffer.alloc(0);
  let settled = false;
  const fail = () => {
    if (settled) return;
    settled = true;
    c.destroy();
    forwardTcp(msg, end, upstreams, send, i + 1);
  };
  c.on('connect', () => c.write(Buffer.concat([lengthPrefix(msg.length), msg])));
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0) && !settled) {
      settled = true;
      send(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      c.end();
    }
  });
  c.on('timeout', fail);
  c.on('error', fail);
  c.on('close', fail);
}

function answerQuery(netId: string, msg: Buffer, clientIp: string, send: Send, tcp: boolean): void {
  const q = parseQuestion(msg);
  if (!q) return;
  const rev = q.qtype === 12 ? ptrAddress(q.name) : undefined;
  if (rev) {
    // reverse lookups of container addresses on this network: the container's name
    const e = listEndpoints(netId).find((x) => x.ip === rev && alive(x));
    if (e) {
      send(replyPtr(msg, q.end, e.name));
      return;
    }
  }
  const ips = lookup(netId, q.name, clientIp);
  if (ips.length) {
    send(reply(msg, q.end, 0, q.qtype === 1 || q.qtype === 255 ? ips : []));
    return;
  }
  if (internal.has(netId)) {
    // an --internal network has no way out, names included (no DNS tunnel): NXDOMAIN
    send(reply(msg, q.end, 3, []));
    return;
  }
  const client = listEndpoints(netId).find((e) => e.ip === clientIp);
  const ups = [...new Set([...(client?.dns ?? []), ...hostNameservers()])].slice(0, 3);
  if (!ups.length || inflight >= MAX_INFLIGHT) {
    send(reply(msg, q.end, 2, []));
    return;
  }
  inflight++;
  let counted = true;
  const once: Send = (a) => {
    if (counted) {
      counted = false;
      inflight--;
    }
    send(a);
  };
  (tcp ? forwardTcp : forwardUdp)(msg, q.end, ups, once);
}

/** DNS over TCP: length-prefixed messages, several per connection. */
function tcpServer(l: Listener): Server {
  const srv = createServer((conn) => {
    let buf = Buffer.alloc(0);
    const client = (conn.remoteAddress ?? '').replace(/^::ffff:/, '');
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        answerQuery(l.netId, msg, client, (a) => conn.writable && conn.write(Buffer.concat([lengthPrefix(a.length), a])), true);
      }
    });
  });
  srv.maxConnections = 64;
  return srv;
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
      l.tcp?.close();
      listeners.delete(ip);
    }
  }
  for (const [ip, netId] of want) {
    if (listeners.has(ip)) continue;
    // SO_REUSEADDR: coexists with a host resolver bound to 0.0.0.0:53 that also set it
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    const l: Listener = { netId, ip, sock };
    listeners.set(ip, l);
    sock.on('message', (m, r) => answerQuery(l.netId, m, r.address, (a) => sock.send(a, r.port, r.address), false));
    l.tcp = tcpServer(l);
    l.tcp.on('error', (err) => say(`${ip}:53/tcp: ${err.message}`));
    l.tcp.listen(53, ip);
    sock.on('error', (err) => {
      say(`${ip}:53: ${err.message}`);
      sock.close();
      l.tcp?.close();
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
