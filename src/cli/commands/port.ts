/** `tsdocker port CONTAINER [PRIVATE_PORT[/PROTO]]`: published ports, in Docker's format. */
import type { Command } from 'commander';
import { TsdError } from '../../sys/errors.js';
import { out, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('port')
    .description('List port mappings of a container')
    .argument('<container>')
    .argument('[port]', 'PRIVATE_PORT[/PROTO]')
    .action(async (ref: string, port: string | undefined) => {
      requireRoot();
      const { findContainer } = await import('../../state/containers.js');
      const { formatPortLines } = await import('../../net/ports.js');
      const v = await findContainer(ref);
      const ports = v.status === 'running' ? ((v.state?.network as { ports?: never[] } | undefined)?.ports ?? []) : [];
      const lines = formatPortLines(ports, port);
      if (port && lines.length === 0) {
        throw new TsdError('BAD_ARGS', `No public port '${port.includes('/') ? port : `${port}/tcp`}' published for ${v.config.name}`);
      }
      for (const l of lines) out(l);
    });
}
