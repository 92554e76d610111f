/**
 * A `tsdocker serve` in a sandbox, stopped by pid, and the real docker client (Debian's
 * docker.io, 20.10) pointed at its socket with a throwaway DOCKER_CONFIG.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult, Sandbox } from './sandbox.js';

export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();

export interface ApiServer {
  sock: string;
  child: ChildProcess;
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  dockerOk(args: string[]): Promise<string>;
  /** a raw request: status and body */
  get(path: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export async function startApiServer(sb: Sandbox): Promise<ApiServer> {
  const sock = join(sb.root, 'api.sock');
  const config = mkdtempSync(join(tmpdir(), 'tsd-apicfg-'));
  const child = sb.spawnTsd(['serve', '-H', `unix://${sock}`]);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('\n') && resolve());
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const docker = (args: string[], opts: { timeoutMs?: number } = {}) => sb.sh(['env', `DOCKER_CONFIG=${config}`, DOCKER, '-H', `unix://${sock}`, ...args], opts);
  return {
    sock,
    child,
    docker,
    async dockerOk(args) {
      const r = await docker(args);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      return r.stdout;
    },
    get: (path) =>
      new Promise((resolve, reject) => {
        const req = request({ socketPath: sock, method: 'GET', path }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      }),
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(config, { recursive: true, force: true });
    },
  };
}
