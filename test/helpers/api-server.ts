/**
 * A `tsdocker serve` in a sandbox, driven by the real docker client (Debian's docker.io,
 * 20.10, with a throwaway DOCKER_CONFIG) and by raw requests on its socket: what the API
 * test files share. The server is stopped by pid and must have removed its socket.
 */
import { request } from 'node:http';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, type RunResult, type Sandbox } from './sandbox.js';

/** Debian's docker.io client (20.10) when installed, else whatever `docker` is on PATH. */
export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ApiServer {
  sb: Sandbox;
  sock: string;
  server: ChildProcess;
  /** what the server wrote on stderr so far */
  stderr(): string;
  dockerConfig: string;
  docker(args: string[], opts?: { timeoutMs?: number; env?: string[] }): Promise<RunResult>;
  dockerOk(args: string[]): Promise<string>;
  api(method: string, path: string, body?: unknown): Promise<Reply>;
  close(): Promise<void>;
}

/** Start `tsdocker GLOBAL serve ARGS` in the sandbox; resolves with its first stdout line. */
export function startServer(sb: Sandbox, args: string[], onErr?: (d: string) => void, globalArgs: string[] = []): Promise<{ child: ChildProcess; line: string }> {
  const child = sb.spawnTsd([...globalArgs, 'serve', ...args]);
  return new Promise((resolve, reject) => {
    let outText = '';
    let errText = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      errText += d;
      onErr?.(d);
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      outText += d;
      if (outText.includes('\n')) resolve({ child, line: outText.split('\n')[0]! });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${errText}`)));
  });
}

/** Polls `f` (every 50 ms, up to 300 times) until it holds; whether it did. Not a timing: the bound only ends a broken run. */
export async function until(f: () => boolean | Promise<boolean>, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A raw request on a unix socket: status, headers and body text. */
export function rawRequest(sock: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: sock, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** The docker client on `sock`, with DOCKER_CONFIG `config`; dockerOk throws with its stderr on failure. */
function dockerClient(sb: Sandbox, sock: string, config: string) {
  const docker = (args: string[], opts: { timeoutMs?: number; env?: string[] } = {}): Promise<RunResult> =>
    sb.sh(['env', `DOCKER_CONFIG=${config}`, ...(opts.env ?? []), DOCKER, '-H', `unix://${sock}`, ...args], opts);
  const dockerOk = async (args: string[]): Promise<string> => {
    const r = await docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  return { docker, dockerOk };
}

/** A server on <root>/api.sock of a sandbox the caller made (and closes): its child, the client and GET. */
export async function startApiServer(sb: Sandbox): Promise<{
  sock: string;
  child: ChildProcess;
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  dockerOk(args: string[]): Promise<string>;
  get(path: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}> {
  const sock = join(sb.root, 'api.sock');
  const config = mkdtempSync(join(tmpdir(), 'tsd-apicfg-'));
  const { child } = await startServer(sb, ['-H', `unix://${sock}`]);
  return {
    sock,
    child,
    ...dockerClient(sb, sock, config),
    get: async (path) => {
      const r = await rawRequest(sock, 'GET', path);
      return { status: r.status, body: r.body };
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(config, { recursive: true, force: true });
    },
  };
}

/** A sandbox with busybox loaded and a server on <root>/api.sock (`serveArgs` added, `globalArgs` before `serve`). */
export async function apiSandbox(name: string, serveArgs: string[] = [], globalArgs: string[] = []): Promise<ApiServer> {
  const sb = await createSandbox(name);
  if ((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code !== 0) throw new Error('loading busybox failed');
  const dockerConfig = mkdtempSync(join(tmpdir(), `${name}-dockercfg-`));
  const sock = join(sb.root, 'api.sock');
  let errText = '';
  const { child: server } = await startServer(sb, ['-H', `unix://${sock}`, ...serveArgs], (d) => (errText += d), globalArgs);
  const { docker, dockerOk } = dockerClient(sb, sock, dockerConfig);
  return {
    sb,
    sock,
    server,
    stderr: () => errText,
    dockerConfig,
    docker,
    dockerOk,
    api: (method, path, body) => rawRequest(sock, method, path, body),
    async close() {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
      }
      const leftSocket = existsSync(sock);
      await sb.close();
      rmSync(dockerConfig, { recursive: true, force: true });
      if (leftSocket) throw new Error(`the server left its socket ${sock}`);
    },
  };
}
