/** `tsdocker diff CONTAINER`: files the container added (A), changed (C) or deleted (D). */
import type { Command } from 'commander';
import { out, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description("Inspect changes to files or directories on a container's filesystem")
    .argument('<container>', 'container name or id')
    .action(async (ref: string) => {
      requireRoot();
      const { containerChanges } = await import('../../runtime/changes.js');
      for (const c of await containerChanges(ref)) out(`${'CAD'[c.Kind]} ${c.Path}`);
    });
}
