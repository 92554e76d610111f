/** `tsdocker serve`: the Docker Engine API server (src/api), until SIGINT/SIGTERM or --timeout. */
import type { Command } from 'commander';
import { out, parseIntArg, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the Docker Engine API (v1.24-1.41) so the docker CLI can drive tsdocker (DOCKER_HOST=unix://PATH)')
    .option('-H, --host <address>', 'unix:///PATH (default <run>/docker.sock) or tcp://127.0.0.1:PORT (loopback only: no TLS yet)')
    .option('--timeout <seconds>', 'stop after this many seconds without a request (0: never)', '0')
    .action(async (f: { host?: string; timeout: string }) => {
      requireRoot();
      const idleTimeoutSec = parseIntArg('--timeout', f.timeout, 0);
      const { parseHost, serve } = await import('../../api/server.js');
      const { ensureLayout } = await import('../../state/paths.js');
      const where = parseHost(f.host);
      ensureLayout();
      const serving = await serve(where, { idleTimeoutSec });
      out(`API listening on ${serving.address}`);
      const stop = () => serving.close();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await serving.closed;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
