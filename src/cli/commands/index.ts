/**
 * Every command module exports `register(program)`; this list is the registry. Command
 * modules import their implementation lazily inside the action, so `tsdocker run` loads
 * only what it needs.
 */
import type { Command } from 'commander';
import { registerGroups } from '../groups.js';
import { register as run } from './run.js';
import { register as container } from './container.js';
import { register as manage } from './manage.js';
import { register as exec } from './exec.js';
import { register as load } from './load.js';
import { register as importCmd } from './import.js';
import { register as images } from './images.js';
import { register as rmi } from './rmi.js';
import { register as tag } from './tag.js';
import { register as network } from './network.js';
import { register as port } from './port.js';
import { register as volume } from './volume.js';
import { register as stats } from './stats.js';
import { register as node } from './node.js';
import { register as inspect } from './inspect.js';
import { register as pull } from './pull.js';
import { register as push } from './push.js';
import { register as login } from './login.js';
import { register as serve } from './serve.js';
import { register as events } from './events.js';
import { register as system } from './system.js';
import { register as update } from './update.js';
import { register as save } from './save.js';
import { register as history } from './history.js';
import { register as cp } from './cp.js';
import { register as diff } from './diff.js';
import { register as exportCmd } from './export.js';
import { register as commit } from './commit.js';
import { register as attach } from './attach.js';

type Register = (program: Command) => void;

const modules: Register[] = [
  load,
  importCmd,
  images,
  rmi,
  tag,
  run,
  container,
  manage,
  exec,
  network,
  port,
  volume,
  stats,
  node,
  inspect,
  pull,
  push,
  login,
  serve,
  events,
  system,
  update,
  save,
  history,
  cp,
  diff,
  exportCmd,
  commit,
  attach,
];

export function registerAll(program: Command): void {
  for (const register of modules) register(program);
  // last: `image ls`, `container rm`, ... list the commands that exist by now
  registerGroups(program);
}
