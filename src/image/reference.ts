/**
 * Image references, Docker's grammar in small: `name[:tag]` (tag defaults to `latest`,
 * `docker.io/library/` is dropped so `busybox` and `docker.io/library/busybox` are one
 * name), `sha256:<hex>` ids, and bare hex strings that may be an id prefix.
 */
import { TsdError } from '../sys/errors.js';

export interface NameRef {
  kind: 'name';
  /** normalized repository, e.g. `busybox`, `localhost:5000/team/app` */
  name: string;
  tag: string;
  /** `name:tag` */
  full: string;
  /** set when the reference is also a plausible id prefix (bare lowercase hex) */
  idPrefix?: string;
}

export interface IdRef {
  kind: 'id';
  /** lowercase hex, 1..64 characters, without `sha256:` */
  prefix: string;
}

export type ImageRef = NameRef | IdRef;

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX = /^[0-9a-f]+$/;
export const DEFAULT_TAG = 'latest';

function bad(ref: string, why: string): TsdError {
  return new TsdError('BAD_ARGS', `invalid reference format '${ref}': ${why}`, {
    hint: 'use NAME[:TAG] (lowercase name, e.g. busybox:latest) or an image id (sha256:... or a unique prefix)',
  });
}

/** Drop Docker Hub's implicit parts so `docker.io/library/busybox` is stored as `busybox`. */
export function normalizeName(name: string): string {
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (name.startsWith(prefix) && name.length > prefix.length) return name.slice(prefix.length);
  }
  return name;
}

/** Parse a name reference only (for tag targets and archive tags): no ids. */
export function parseNameRef(ref: string): NameRef {
  if (ref.length === 0 || ref.length > 255) throw bad(ref, 'empty or longer than 255 characters');
  if (ref.includes('@')) throw bad(ref, 'digest references (NAME@sha256:...) are not supported');
  let name = ref;
  let tag = DEFAULT_TAG;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) {
    name = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
    if (!TAG.test(tag)) throw bad(ref, `tag '${tag}' is not valid`);
  }
  const parts = name.split('/');
  let first = 0;
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    if (!DOMAIN.test(parts[0]!)) throw bad(ref, `registry '${parts[0]}' is not valid`);
    first = 1;
  }
  for (const part of parts.slice(first)) {
    if (!COMPONENT.test(part)) {
      throw bad(ref, part.toLowerCase() !== part ? 'repository name must be lowercase' : `'${part}' is not a valid name component`);
    }
  }
  name = normalizeName(name);
  const out: NameRef = { kind: 'name', name, tag, full: `${name}:${tag}` };
  if (ref === name && HEX.test(ref) && ref.length <= 64) out.idPrefix = ref;
  return out;
}

/** Parse what a user typed: `sha256:<hex>` (full or prefix), or a name reference. */
export function parseImageRef(ref: string): ImageRef {
  if (ref.startsWith('sha256:')) {
    const prefix = ref.slice(7);
    if (!HEX.test(prefix) || prefix.length > 64) throw bad(ref, 'an image id is sha256: followed by up to 64 lowercase hex digits');
    return { kind: 'id', prefix };
  }
  return parseNameRef(ref);
}

/** The 12-character id Docker shows. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
