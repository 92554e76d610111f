/** `tsdocker serve`: the Docker Engine API server (src/api), until SIGINT/SIGTERM or --timeout. */
import type { Command } from 'commander';
import { out, parseIntArg, requireRoot } from './common.js';

const SERVE_HELP = `
The docker client then drives tsdocker:
  tsdocker serve -H unix:///run/tsd.sock &
  DOCKER_HOST=unix:///run/tsd.sock docker run --rm busybox echo hi
  DOCKER_HOST=unix:///run/tsd.sock docker-compose up -d

Containers, images, networks (create, connect with aliases and --ip, prune), volumes, logs -f,
top, stats, pause, rename, restart and prune work through it; a setting tsdocker does not
implement is refused with a 400 naming it, never ignored. TLS as dockerd's:
  tsdocker serve -H tcp://0.0.0.0:2376 --tlsverify --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem
  docker -H tcp://HOST:2376 --tlsverify --tlscacert ca.pem --tlscert client.pem --tlskey client-key.pem ps
Global --log-level info (before serve) logs each request on stderr.
`;

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the Docker Engine API (v1.24-1.41) so the docker CLI can drive tsdocker (DOCKER_HOST=unix://PATH)')
    .option('-H, --host <address>', 'unix:///PATH (default <run>/docker.sock) or tcp://HOST:PORT (loopback, or any address with --tlsverify)')
    .option('--timeout <seconds>', 'stop after this many seconds without a request (0: never)', '0')
    .option('--tls', 'serve TCP over TLS (--tlscert, --tlskey), without checking clients: loopback only')
    .option('--tlsverify', 'TLS, and clients must show a certificate signed by --tlscacert (needed beyond loopback)')
    .option('--tlscacert <file>', 'CA (PEM) that client certificates must chain to')
    .option('--tlscert <file>', "the server's certificate (PEM)")
    .option('--tlskey <file>', "the server's private key (PEM)")
    .addHelpText('after', SERVE_HELP)
    .action(async (f: { host?: string; timeout: string; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }) => {
      requireRoot();
      const idleTimeoutSec = parseIntArg('--timeout', f.timeout, 0);
      const { parseHost, serve, tlsFromFlags } = await import('../../api/server.js');
      const { ensureLayout } = await import('../../state/paths.js');
      const tls = tlsFromFlags(f);
      const where = parseHost(f.host, tls);
      ensureLayout();
      const serving = await serve(where, { idleTimeoutSec, ...(tls ? { tls } : {}) });
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
