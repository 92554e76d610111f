/** `tsdocker exec`: run a command inside a running container. */
import type { Command } from 'commander';
import { checkTty, collect, out, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('exec')
    .description('Run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-i, --interactive', 'keep STDIN open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-d, --detach', 'run the command in the background')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'user (name or uid) and optional group')
    .action(
      async (
        ref: string,
        command: string[],
        f: { interactive?: boolean; tty?: boolean; detach?: boolean; env: string[]; workdir?: string; user?: string },
      ) => {
        requireRoot();
        checkTty(f);
        const { execInContainer } = await import('../../runtime/exec.js');
        process.exitCode = await execInContainer(ref, {
          command,
          interactive: Boolean(f.interactive),
          tty: Boolean(f.tty),
          detach: Boolean(f.detach),
          env: f.env,
          workdir: f.workdir,
          user: f.user,
        });
        void out;
      },
    );
}
