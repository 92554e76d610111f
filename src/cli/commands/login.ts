/** `tsdocker login` and `logout`: registry credentials in Docker's config.json. */
import type { Command } from 'commander';
import { asExit1, out } from './common.js';
import { TsdError } from '../../sys/errors.js';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  program
    .command('login')
    .description('Log in to a registry (credentials are checked, then saved in $DOCKER_CONFIG/config.json)')
    .argument('[server]', 'registry host[:port] (default: Docker Hub)')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible to other users: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (server: string | undefined, f: { username?: string; password?: string; passwordStdin?: boolean }) => {
      if (f.password !== undefined && f.passwordStdin) throw new TsdError('BAD_ARGS', '--password and --password-stdin are mutually exclusive', { hint: 'use one' });
      if (!f.username) throw new TsdError('BAD_ARGS', 'login needs a user name (-u USER)', { hint: 'tsdocker login -u USER --password-stdin REGISTRY < password-file' });
      let password = f.password;
      if (f.passwordStdin) {
        if (process.stdin.isTTY) throw new TsdError('BAD_ARGS', '--password-stdin, but stdin is a terminal', { hint: 'pipe the password in' });
        password = await readStdin();
      }
      if (!password) throw new TsdError('BAD_ARGS', 'login needs a password (--password-stdin)', { hint: 'echo "$PASSWORD" | tsdocker login -u USER --password-stdin REGISTRY' });
      const { loginCommand } = await import('../../image/registry/index.js');
      out(await loginCommand(server, { username: f.username, password }).catch(asExit1));
    });

  program
    .command('logout')
    .description('Forget the credentials saved for a registry')
    .argument('[server]', 'registry host[:port] (default: Docker Hub)')
    .action(async (server: string | undefined) => {
      const { logoutCommand } = await import('../../image/registry/index.js');
      out(await logoutCommand(server).catch(asExit1));
    });
}
