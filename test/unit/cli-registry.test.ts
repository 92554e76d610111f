/**
 * The command table that lets a start register only the command it runs
 * (src/cli/commands/index.ts) must say exactly what each module registers: a command left out
 * would be "unknown" when invoked alone, and one listed under the wrong module would not exist.
 */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { COMMAND_MODULES, registerCommands } from '../../src/cli/commands/index.js';
import { GROUPS } from '../../src/cli/groups.js';

const fresh = () => new Command('tsdocker').enablePositionalOptions().option('--root <dir>').option('-D, --debug');

describe('command registry', () => {
  it('lists, for each module, the commands it registers', async () => {
    for (const m of COMMAND_MODULES) {
      const p = fresh();
      (await m.load()).register(p);
      const names = p.commands.flatMap((c) => (GROUPS[c.name()] ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()]));
      expect(names.sort()).toEqual([...m.names].sort());
    }
  });

  it('registers only the module of the command argv names, through globals and group aliases', async () => {
    const cases: [string[], string[]][] = [
      [['run', 'busybox'], ['run']],
      [['create', 'busybox'], ['create']],
      [['--root', '/x', '-D', 'ps', '-a'], ['ps', 'start', 'stop', 'kill', 'rm', 'wait', 'logs', 'internal']],
      [['container', 'ls'], ['ps', 'start', 'stop', 'kill', 'rm', 'wait', 'logs', 'internal']],
      [['image', 'prune'], ['info', 'version', 'system']],
      [['image', 'ls'], ['images']],
    ];
    for (const [args, expected] of cases) {
      const p = fresh();
      await registerCommands(p, ['node', 'tsdocker', ...args]);
      expect(p.commands.map((c) => c.name()).filter((n) => !GROUPS[n]).sort()).toEqual([...expected].sort());
    }
  });

  it('registers every command for help, an unknown command, or none', async () => {
    const all = COMMAND_MODULES.flatMap((m) => m.names.filter((n) => !n.includes(' '))).length;
    for (const args of [[], ['help'], ['--help'], ['nosuch'], ['container'], ['container', '--help'], ['image', 'nosuch']]) {
      const p = fresh();
      await registerCommands(p, ['node', 'tsdocker', ...args]);
      expect(p.commands.filter((c) => !GROUPS[c.name()]).length).toBe(all);
    }
  });
});
