/**
 * What a staged archive contains, as a list of images to store: `docker save` (manifest.json,
 * in the old <id>/layer.tar layout or Docker 25+'s blobs/sha256 layout) and OCI image layout
 * (oci-layout + index.json, nested indexes, platform chosen for this host). Every blob is
 * checked against its digest; each image's config must list one diff-id per layer.
 */
import { TsdError } from '../sys/errors.js';
import { hasMember, invalid, member, readMemberJson, type Staged, type StagedFile } from './archive.js';
import { parseNameRef } from './reference.js';
import type { ImageConfigJson } from './store.js';
import { MEDIA } from './media.js';
import { hostArch } from './registry/platform.js';

export interface LayerSpec {
  /** staged file holding the (possibly compressed) layer tar */
  file: string;
  /** sha256 hex and size of that file as staged */
  sha256: string;
  size: number;
  /** sha256:<hex> from the config's rootfs.diff_ids */
  diffId: string;
}

export interface ImageSpec {
  id: string;
  config: ImageConfigJson;
  /** the config exactly as archived (its sha256 is the id) */
  configBytes: Buffer;
  layers: LayerSpec[];
  repoTags: string[];
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const INDEX_TYPES: string[] = [MEDIA.ociIndex, MEDIA.dockerList];

function blobName(st: Staged, digest: unknown): string {
  const m = typeof digest === 'string' ? DIGEST.exec(digest) : null;
  if (!m) throw invalid(st.what, `unsupported or malformed digest '${String(digest)}'`);
  return `blobs/sha256/${m[1]}`;
}

const isStrList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isObj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with an image config's run settings (the `config` object), or undefined. */
export function runConfigProblem(c: unknown): string | undefined {
  if (c === undefined || c === null) return undefined;
  if (!isObj(c)) return 'config is not an object';
  const o = c as Record<string, unknown>;
  for (const k of ['Env', 'Cmd', 'Entrypoint']) if (o[k] != null && !isStrList(o[k])) return `config.${k} is not a list of strings`;
  for (const k of ['WorkingDir', 'User']) if (o[k] != null && typeof o[k] !== 'string') return `config.${k} is not a string`;
  for (const k of ['ExposedPorts', 'Volumes', 'Labels']) if (o[k] != null && !isObj(o[k])) return `config.${k} is not an object`;
  if (o.Labels != null && !Object.values(o.Labels as object).every((v) => typeof v === 'string')) return 'config.Labels has a non-string value';
  return undefined;
}

/** Check a config and pair its diff-ids with the layer files. */
function imageSpec(st: Staged, cfg: { sha256: string; value: ImageConfigJson; bytes: Buffer }, layerFiles: StagedFile[], tags: string[]): ImageSpec {
  const { sha256: configSha, value: config } = cfg;
  const diffIds = config.rootfs?.diff_ids;
  if (config.rootfs?.type !== 'layers' || !Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && DIGEST.test(d))) {
    throw invalid(st.what, `image config sha256:${configSha} has no valid rootfs.diff_ids`);
  }
  if (diffIds.length !== layerFiles.length) {
    throw invalid(st.what, `image sha256:${configSha} lists ${diffIds.length} diff-ids but ${layerFiles.length} layers`);
  }
  const problem = runConfigProblem(config.config);
  if (problem) throw invalid(st.what, `image config sha256:${configSha}: ${problem}`);
  const repoTags: string[] = [];
  for (const t of tags) {
    try {
      repoTags.push(parseNameRef(t).full);
    } catch {
      throw invalid(st.what, `bad image name '${t}'`);
    }
  }
  return {
    id: `sha256:${configSha}`,
    config,
    configBytes: cfg.bytes,
    layers: layerFiles.map((f, i) => ({ file: f.file, sha256: f.sha256, size: f.size, diffId: diffIds[i]! })),
    repoTags,
  };
}

async function fromDockerSave(st: Staged): Promise<ImageSpec[]> {
  const { value: manifest } = await readMemberJson<unknown>(st, 'manifest.json');
  if (!Array.isArray(manifest)) throw invalid(st.what, 'manifest.json is not a list');
  const out: ImageSpec[] = [];
  for (const item of manifest as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) {
      throw invalid(st.what, 'manifest.json entry without Config or Layers');
    }
    const cfg = await readMemberJson<ImageConfigJson>(st, item.Config);
    // old layout names the config <hex>.json: the name is its digest, check it too
    const named = /(?:^|\/)([0-9a-f]{64})\.json$/.exec(item.Config);
    if (named && named[1] !== cfg.sha256) {
      throw new TsdError('IMAGE_INVALID', `${st.what}: config ${item.Config} does not match its digest (content is sha256:${cfg.sha256})`, {
        hint: 'the archive is corrupt or was tampered with; do not trust its source',
      });
    }
    const layers = (item.Layers as string[]).map((l) => member(st, l));
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    out.push(imageSpec(st, cfg, layers, tags));
  }
  return out;
}

function refName(d: Descriptor): string[] {
  const a = d.annotations ?? {};
  const full = a['io.containerd.image.name'] ?? a['org.opencontainers.image.ref.name'];
  // a bare ref.name is only a tag ("latest") in OCI layouts: that names nothing on its own
  if (!full || !(full.includes(':') || full.includes('/'))) return [];
  return [full];
}

async function walk(st: Staged, d: Descriptor, tags: string[], depth: number, out: ImageSpec[]): Promise<void> {
  if (depth > 8) throw invalid(st.what, 'image indexes nested too deeply');
  const name = blobName(st, d.digest);
  const blob = await readMemberJson<Record<string, unknown>>(st, name);
  if (typeof d.size === 'number' && d.size !== member(st, name).size) throw invalid(st.what, `${name} has the wrong size`);
  const isIndex = d.mediaType ? INDEX_TYPES.includes(d.mediaType) : Array.isArray(blob.value.manifests);
  if (isIndex) {
    const all = (Array.isArray(blob.value.manifests) ? blob.value.manifests : []) as Descriptor[];
    const images = all.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && m.platform?.os !== 'unknown');
    const fits = images.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === hostArch()));
    const pick = fits[0];
    if (!pick) throw invalid(st.what, `no image for linux/${hostArch()} in the index`);
    await walk(st, pick, tags, depth + 1, out);
    return;
  }
  const m = blob.value as { config?: Descriptor; layers?: Descriptor[] };
  if (!m.config || !Array.isArray(m.layers)) throw invalid(st.what, `${name} is neither an image index nor a manifest`);
  const cfgName = blobName(st, m.config.digest);
  const cfg = await readMemberJson<ImageConfigJson>(st, cfgName);
  const layers = m.layers.map((l) => {
    if (typeof l.mediaType === 'string' && /nondistributable|foreign/.test(l.mediaType)) {
      throw invalid(st.what, `layer media type ${l.mediaType} is not supported`);
    }
    const f = member(st, blobName(st, l.digest));
    if (typeof l.size === 'number' && l.size !== f.size) throw invalid(st.what, `layer ${l.digest} has the wrong size`);
    return f;
  });
  out.push(imageSpec(st, cfg, layers, tags));
}

async function fromOciLayout(st: Staged): Promise<ImageSpec[]> {
  const { value: index } = await readMemberJson<{ manifests?: Descriptor[] }>(st, 'index.json');
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw invalid(st.what, 'index.json lists no manifests');
  const out: ImageSpec[] = [];
  for (const d of index.manifests) await walk(st, d, refName(d), 0, out);
  return out;
}

/** The images in a staged archive, merged by id (tags united). */
export async function imagesIn(st: Staged): Promise<ImageSpec[]> {
  let specs: ImageSpec[];
  if (hasMember(st, 'manifest.json')) specs = await fromDockerSave(st);
  else if (hasMember(st, 'index.json') && hasMember(st, 'oci-layout')) specs = await fromOciLayout(st);
  else if (st.files.size === 0) throw invalid(st.what, 'the archive is empty');
  else throw invalid(st.what, 'not an image archive (no manifest.json, no oci-layout + index.json)');
  const byId = new Map<string, ImageSpec>();
  for (const s of specs) {
    const prev = byId.get(s.id);
    if (prev) prev.repoTags = [...new Set([...prev.repoTags, ...s.repoTags])];
    else byId.set(s.id, s);
  }
  if (byId.size === 0) throw invalid(st.what, 'the archive holds no image');
  return [...byId.values()];
}
