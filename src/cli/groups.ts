/**
 * Docker's management groups as aliases of the top-level commands: `image ls` is `images`,
 * `container rm` is `rm`, `image inspect` is `inspect --type image`. One table; a command
 * joins its group as soon as its top-level command exists (save, history, cp, ... are listed
 * already), so a new command needs no line here unless its group name differs from Docker's.
 * The group's --help lists what exists; running an alias rewrites the argv before commander
 * parses it, so the alias is the top-level command itself (its flags, help and errors).
 */
import type { Command } from 'commander';

interface Group { description: string; aliases: Record<string, string[]> }

const same = (...names: string[]) => Object.fromEntries(names.map((n) => [n, [n]]));

export const GROUPS: Record<string, Group> = {
  image: {
    description: 'Manage images',
    aliases: {
      ls: ['images'], list: ['images'], rm: ['rmi'], remove: ['rmi'], inspect: ['inspect', '--type', 'image'],
      ...same('tag', 'load', 'import', 'pull', 'push', 'save', 'history'),
    },
  },
  container: {
    description: 'Manage containers',
    aliases: {
      ls: ['ps'], list: ['ps'], ps: ['ps'], remove: ['rm'], inspect: ['inspect', '--type', 'container'],
      ...same('rm', 'run', 'create', 'start', 'stop', 'kill', 'restart', 'logs', 'exec', 'wait', 'rename', 'pause', 'unpause', 'top', 'port', 'stats',
        'attach', 'cp', 'diff', 'export', 'commit', 'update'),
    },
  },
};

/** The group's command, made on first use (a module may add native subcommands such as `container prune`). */
export function groupCommand(program: Command, name: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(GROUPS[name]?.description ?? '');
}

const stubs = new WeakSet<Command>();

/** After every module registered: each group lists the aliases whose command exists. */
export function registerGroups(program: Command): void {
  for (const [name, g] of Object.entries(GROUPS)) {
    const group = groupCommand(program, name);
    for (const [alias, target] of Object.entries(g.aliases)) {
      const top = program.commands.find((c) => c.name() === target[0]);
      if (!top || group.commands.some((c) => c.name() === alias)) continue;
      const stub = group.command(alias).description(top.description()).allowUnknownOption().allowExcessArguments();
      stubs.add(stub);
    }
  }
}

/** `[global flags] GROUP ALIAS rest` -> `[global flags] TARGET... rest`. */
export function expandGroups(program: Command, argv: string[]): string[] {
  const args = argv.slice(2);
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    const flag = args[i]!;
    const o = program.options.find((x) => x.long === flag || x.short === flag);
    i += o?.required && !flag.includes('=') ? 2 : 1;
  }
  const group = program.commands.find((c) => c.name() === args[i]);
  const sub = group?.commands.find((c) => c.name() === args[i + 1]);
  if (!group || !sub || !stubs.has(sub)) return argv;
  const target = GROUPS[group.name()]!.aliases[sub.name()]!;
  return [...argv.slice(0, 2), ...args.slice(0, i), ...target, ...args.slice(i + 2)];
}
