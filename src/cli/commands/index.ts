/**
 * Every command module exports `register(program)`; this list is the registry. Command
 * modules import their implementation lazily inside the action, so `tsdocker run` loads
 * only what it needs.
 */
import type { Command } from 'commander';
import { GROUPS, registerGroups } from '../groups.js';
type Register = (program: Command) => void;

/**
 * Each module with the commands it registers ("GROUP SUB" for a subcommand it adds to
 * `container` or `image`). A start reads argv first and loads and registers only the module
 * of the command it runs: registering all ~60 commands and evaluating every command module
 * (with what they import) cost `run` several ms before it did anything. The unit test
 * test/unit/cli-registry.test.ts checks this table against what each module registers.
 */
export const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<{ register: Register }> }[] = [
  { names: ['load'], load: () => import('./load.js') },
  { names: ['import'], load: () => import('./import.js') },
  { names: ['images'], load: () => import('./images.js') },
  { names: ['rmi'], load: () => import('./rmi.js') },
  { names: ['tag'], load: () => import('./tag.js') },
  { names: ['run'], load: () => import('./run.js') },
  { names: ['create'], load: () => import('./create.js') },
  { names: ['ps', 'start', 'stop', 'kill', 'rm', 'wait', 'logs', 'container prune', 'internal'], load: () => import('./container.js') },
  { names: ['rename', 'pause', 'unpause', 'top', 'restart'], load: () => import('./manage.js') },
  { names: ['exec'], load: () => import('./exec.js') },
  { names: ['network'], load: () => import('./network.js') },
  { names: ['port'], load: () => import('./port.js') },
  { names: ['volume'], load: () => import('./volume.js') },
  { names: ['stats'], load: () => import('./stats.js') },
  { names: ['node'], load: () => import('./node.js') },
  { names: ['inspect'], load: () => import('./inspect.js') },
  { names: ['pull'], load: () => import('./pull.js') },
  { names: ['push'], load: () => import('./push.js') },
  { names: ['login', 'logout'], load: () => import('./login.js') },
  { names: ['serve'], load: () => import('./serve.js') },
  { names: ['events'], load: () => import('./events.js') },
  { names: ['info', 'version', 'system', 'image prune'], load: () => import('./system.js') },
  { names: ['update'], load: () => import('./update.js') },
  { names: ['save'], load: () => import('./save.js') },
  { names: ['history'], load: () => import('./history.js') },
  { names: ['cp'], load: () => import('./cp.js') },
  { names: ['diff'], load: () => import('./diff.js') },
  { names: ['export'], load: () => import('./export.js') },
  { names: ['commit'], load: () => import('./commit.js') },
  { names: ['attach'], load: () => import('./attach.js') },
];

/** The module that owns `name` (a top-level command, or "GROUP SUB"), if any. */
function ownerOf(name: string): (typeof COMMAND_MODULES)[number] | undefined {
  return COMMAND_MODULES.find((m) => m.names.includes(name));
}

/**
 * Register the commands argv can reach: only the owning module when argv names a known
 * command (through a group alias too: `container ls` is `ps`), else every command (no
 * command, `help`, an unknown name: commander's help and "unknown command" need them all).
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const words = commandWords(program, argv);
  const [first, second] = words;
  let owner = first === undefined ? undefined : ownerOf(first);
  if (first !== undefined && GROUPS[first]) {
    const target = second === undefined ? undefined : GROUPS[first]!.aliases[second]?.[0];
    owner = second === undefined ? undefined : target !== undefined ? ownerOf(target) : ownerOf(`${first} ${second}`);
  }
  await registerModules(program, owner && first !== 'help' ? [owner] : COMMAND_MODULES);
}

/** Every command (tests, and help for all). */
export async function registerAll(program: Command): Promise<void> {
  await registerModules(program, COMMAND_MODULES);
}

async function registerModules(program: Command, modules: readonly (typeof COMMAND_MODULES)[number][]): Promise<void> {
  for (const m of await Promise.all(modules.map((x) => x.load()))) m.register(program);
  // last: `image ls`, `container rm`, ... list the commands that exist by now
  registerGroups(program);
}

/** The first two words of argv after the global flags (the command, and a group's subcommand). */
function commandWords(program: Command, argv: readonly string[]): string[] {
  const args = argv.slice(2);
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    const flag = args[i]!;
    const o = program.options.find((x) => x.long === flag.split('=')[0] || x.short === flag);
    i += o?.required && !flag.includes('=') ? 2 : 1;
  }
  return args.slice(i, i + 2);
}
