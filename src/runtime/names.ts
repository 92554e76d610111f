/** Ids and Docker-style generated names (adjective_scientist). */
import { randomBytes, randomInt } from '../sys/random.js';
import { TsdError } from '../sys/errors.js';
import { NAME_RE } from '../state/names.js';

const LEFT = [
  'admiring', 'bold', 'brave', 'calm', 'clever', 'eager', 'elegant', 'focused', 'gallant', 'happy',
  'jolly', 'keen', 'kind', 'lucid', 'modest', 'nifty', 'quirky', 'relaxed', 'serene', 'sharp',
  'stoic', 'tender', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zealous', 'agitated', 'brisk', 'dreamy',
];
const RIGHT = [
  'agnesi', 'babbage', 'bardeen', 'curie', 'dijkstra', 'euclid', 'fermat', 'galois', 'hopper', 'hypatia',
  'kepler', 'knuth', 'lamport', 'lovelace', 'mccarthy', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson',
  'torvalds', 'turing', 'wozniak', 'yalow', 'zuse', 'liskov', 'kowalevski', 'ramanujan', 'tesla', 'wiles',
];

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** A name `taken` does not have (the names index under the containers lock, in create). */
export function generateName(taken: { has(name: string): boolean }): string {
  for (let i = 0; i < 1000; i++) {
    const name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}${i > 10 ? randomInt(100) : ''}`;
    if (!taken.has(name)) return name;
  }
  return `tsd_${randomBytes(6).toString('hex')}`;
}

export function validateName(name: string): string {
  const n = name.replace(/^\//, '');
  if (!NAME_RE.test(n) || n.length > 128) {
    throw new TsdError('BAD_ARGS', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, {
      hint: 'pick a name made of letters, digits, _, . and -',
    });
  }
  return n;
}

/** Docker's name conflict (create and rename). */
export function nameConflict(name: string, owner: string): TsdError {
  return new TsdError('CONTAINER_EXISTS', `Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
    hint: 'remove (or rename) that container to be able to reuse that name',
  });
}
