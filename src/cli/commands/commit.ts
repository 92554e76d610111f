/** `tsdocker commit [-a] [-m] [-c CHANGE]... [-p] CONTAINER [REPO[:TAG]]`: a new image from a container's changes. */
import { Option, type Command } from 'commander';
import { collect, out, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('commit')
    .description("Create a new image from a container's changes")
    .addHelpText('after', `
The image is the container's image plus one layer: what the container changed in its root
(not its volumes), with its run settings (Cmd, Entrypoint, Env, WorkingDir, User, Labels).
-c takes Dockerfile instructions: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
STOPSIGNAL. A running container is paused (the cgroup freezer) while its files are read.`)
    .argument('<container>', 'container name or id')
    .argument('[repository]', 'REPOSITORY[:TAG] for the new image')
    .option('-a, --author <string>', 'author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <value>', 'apply Dockerfile instruction to the created image (repeatable)', collect, [])
    .option('-m, --message <string>', 'commit message')
    .option('-p, --pause', 'pause container during commit (default true; --pause=false to not)')
    .addOption(new Option('--no-pause').hideHelp())
    .action(async (ref: string, repo: string | undefined, o: { author?: string; change: string[]; message?: string; pause?: boolean }) => {
      requireRoot();
      const { commitContainer } = await import('../../runtime/commit.js');
      out(await commitContainer(ref, { author: o.author, message: o.message, changes: o.change, pause: o.pause !== false, tag: repo }));
    });
}
