/**
 * Network test helpers: a "world" namespace (another host / the outside) wired to a sandbox
 * host by a veth pair in a documentation range, small Node servers and clients that run in
 * any namespace (TCP "who is calling", UDP echo client), and a static UDP echo binary for
 * containers (Debian's static busybox has no UDP server).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, startHolder, type RunResult, type Sandbox } from './sandbox.js';

export interface World {
  pid: number;
  hostIp: string;
  ip: string;
  enter: string[];
  sh(argv: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** start a long-running command in the world namespace */
  spawn(argv: string[]): ChildProcess;
  close(): Promise<void>;
}

/** host side `uplink` = hostIp/24 in the sandbox, world side `eth0` = ip/24. */
export async function createWorld(sb: Sandbox, hostIp = '203.0.113.1', ip = '203.0.113.2'): Promise<World> {
  const holder = await startHolder(['--net']);
  const pid = holder.pid!;
  const enter = ['nsenter', `--net=/proc/${pid}/ns/net`, '--'];
  const r = await sb.sh(['ip', 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
  if (r.code !== 0) throw new Error(`world veth: ${r.stderr}`);
  await sb.sh(['ip', 'addr', 'add', `${hostIp}/24`, 'dev', 'uplink']);
  await sb.sh(['ip', 'link', 'set', 'uplink', 'up']);
  execFileSync(enter[0]!, [...enter.slice(1), 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  execFileSync(enter[0]!, [...enter.slice(1), 'ip', 'link', 'set', 'eth0', 'up']);
  execFileSync(enter[0]!, [...enter.slice(1), 'ip', 'link', 'set', 'lo', 'up']);
  const children: ChildProcess[] = [];
  return {
    pid,
    hostIp,
    ip,
    enter,
    sh: (argv, opts) => run([...enter, ...argv], opts),
    spawn(argv) {
      const c = spawn(enter[0]!, [...enter.slice(1), ...argv], { stdio: 'pipe' });
      output(c);
      children.push(c);
      return c;
    },
    async close() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      holder.kill('SIGKILL');
      await new Promise((res) => holder.once('exit', res));
    },
  };
}

/** A Node TCP server printing each caller's address on a line, then closing. */
export const TCP_WHO = `
const net = require('node:net');
const s = net.createServer((c) => { process.stdout.write(c.remoteAddress.replace(/^::ffff:/, '') + '\\n'); c.end('hello\\n'); });
s.listen(Number(process.argv[1]), process.argv[2] || '0.0.0.0', () => process.stdout.write('listening\\n'));
`;

/** A Node UDP client: sends argv[3] to argv[1]:argv[2], prints the reply (exit 1 on timeout). */
export const UDP_ASK = `
const d = require('node:dgram').createSocket('udp4');
const t = setTimeout(() => { process.stderr.write('timeout\\n'); process.exit(1); }, 3000);
d.on('message', (m) => { process.stdout.write(m.toString()); clearTimeout(t); d.close(); });
d.send(process.argv[3], Number(process.argv[2]), process.argv[1]);
`;

export function nodeArgv(script: string, args: string[]): string[] {
  return [process.execPath, '-e', script, ...args];
}

const outputs = new WeakMap<ChildProcess, { buf: string }>();

/** Everything a spawned process printed on stdout so far (collection starts at the first call). */
export function output(c: ChildProcess): { buf: string } {
  let o = outputs.get(c);
  if (!o) {
    const rec = { buf: '' };
    c.stdout!.on('data', (d: Buffer) => (rec.buf += d.toString()));
    outputs.set(c, rec);
    o = rec;
  }
  return o;
}

/** Wait until a spawned process has printed `text` on stdout (at any time since it started). */
export async function waitOutput(c: ChildProcess, text: string, timeoutMs = 5000): Promise<string> {
  const o = output(c);
  const deadline = Date.now() + timeoutMs;
  while (!o.buf.includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in: ${o.buf}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return o.buf;
}

const UDP_ECHO_C = `
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1])); a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
  char buf[2048];
  for (;;) {
    struct sockaddr_in p; socklen_t l = sizeof p;
    ssize_t n = recvfrom(s, buf, sizeof buf - 8, 0, (struct sockaddr *)&p, &l);
    if (n < 0) continue;
    memcpy(buf + n, " echo", 5);
    sendto(s, buf, n + 5, 0, (struct sockaddr *)&p, l);
  }
}
`;

/** Build (once per call site) a static UDP echo server: `udpecho PORT` answers "<msg> echo". */
export function buildUdpEcho(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-udpecho-'));
  writeFileSync(join(dir, 'udpecho.c'), UDP_ECHO_C);
  execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'udpecho'), join(dir, 'udpecho.c')]);
  if (!existsSync(join(dir, 'udpecho'))) throw new Error('udpecho build failed');
  return { path: join(dir, 'udpecho'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Build a static binary from test/fixtures/<name>.c (for containers: busybox has no such tool). */
export function buildFixture(name: string): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tsd-${name}-`));
  const src = join(import.meta.dirname, '..', 'fixtures', `${name}.c`);
  execFileSync('gcc', ['-static', '-O2', '-o', join(dir, name), src]);
  return { path: join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
