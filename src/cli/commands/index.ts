/**
 * Every command module exports `register(program)`; this list is the registry. Command
 * modules import their implementation lazily inside the action, so `tsdocker run` loads
 * only what it needs.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

const modules: Register[] = [];

export function registerAll(program: Command): void {
  for (const register of modules) register(program);
}
