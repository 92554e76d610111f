/**
 * Image references, Docker's grammar in small: `name[:tag]` (tag defaults to `latest`,
 * `docker.io/library/` is dropped so `busybox` and `docker.io/library/busybox` are one
 * name), `sha256:<hex>` ids, bare hex strings that may be an id prefix, and remote
 * references `[host[:port]/]path[:tag][@sha256:<hex>]` split into registry and repository.
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

/** Split `name[:tag]` and check its grammar; the tag is undefined when none was typed. */
function splitName(ref: string, whole: string): { name: string; tag?: string } {
  let name = ref;
  let tag: string | undefined;
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) {
    name = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
    if (!TAG.test(tag)) throw bad(whole, `tag '${tag}' is not valid`);
  }
  const parts = name.split('/');
  let first = 0;
  if (parts.length > 1 && isDomain(parts[0]!)) {
    if (!DOMAIN.test(parts[0]!)) throw bad(whole, `registry '${parts[0]}' is not valid`);
    first = 1;
  }
  for (const part of parts.slice(first)) {
    if (!COMPONENT.test(part)) {
      throw bad(whole, part.toLowerCase() !== part ? 'repository name must be lowercase' : `'${part}' is not a valid name component`);
    }
  }
  return { name, tag };
}

/** Docker's rule: the first component names a registry when it has a dot or a port, or is localhost. */
const isDomain = (first: string): boolean => first.includes('.') || first.includes(':') || first === 'localhost';

/** Parse a name reference only (for tag targets and archive tags): no ids. */
export function parseNameRef(ref: string): NameRef {
  if (ref.length === 0 || ref.length > 255) throw bad(ref, 'empty or longer than 255 characters');
  if (ref.includes('@')) throw bad(ref, 'a digest (NAME@sha256:...) names no tag here');
  const split = splitName(ref, ref);
  const name = normalizeName(split.name);
  const tag = split.tag ?? DEFAULT_TAG;
  const out: NameRef = { kind: 'name', name, tag, full: `${name}:${tag}` };
  if (ref === name && HEX.test(ref) && ref.length <= 64) out.idPrefix = ref;
  return out;
}

/** A reference to an image in a registry, as `pull`, `push` and `run` see it. */
export interface RemoteRef {
  /** the registry as Docker names it: `docker.io` for Docker Hub, else `host[:port]` */
  domain: string;
  /** the repository on that registry, e.g. `library/busybox` */
  repository: string;
  /** the name the local store keeps (`busybox`, `127.0.0.1:5000/app`) */
  name: string;
  /** undefined only when a digest alone was given */
  tag?: string;
  digest?: string;
  /** what the registry is asked for: the digest when given, else the tag */
  reference: string;
  /** the local `name:tag` (undefined when a digest alone was given) */
  full?: string;
  /** Docker's fully qualified form, e.g. `docker.io/library/busybox:latest` */
  canonical: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const DIGEST_REF = /^sha256:[0-9a-f]{64}$/;

/** `NAME[:TAG][@DIGEST]` with Docker's defaults: docker.io, `library/` for one-component names, `latest`. */
export function parseRemoteRef(ref: string): RemoteRef {
  if (ref.length === 0 || ref.length > 255 + 72) throw bad(ref, 'empty or too long');
  const at = ref.indexOf('@');
  const digest = at < 0 ? undefined : ref.slice(at + 1);
  if (digest !== undefined && !DIGEST_REF.test(digest)) throw bad(ref, `digest '${digest}' is not sha256: followed by 64 lowercase hex digits`);
  const split = splitName(at < 0 ? ref : ref.slice(0, at), ref);
  const parts = split.name.split('/');
  let domain = DEFAULT_DOMAIN;
  let path = split.name;
  if (parts.length > 1 && isDomain(parts[0]!)) {
    domain = parts[0]!;
    path = parts.slice(1).join('/');
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  const name = normalizeName(`${domain}/${path}`);
  const tag = split.tag ?? (digest ? undefined : DEFAULT_TAG);
  const suffix = `${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return {
    domain,
    repository: path,
    name,
    tag,
    digest,
    reference: digest ?? tag!,
    full: tag ? `${name}:${tag}` : undefined,
    canonical: `${domain}/${path}${suffix}`,
  };
}

/** The host that serves a registry: Docker Hub's API lives at registry-1.docker.io. */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
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
