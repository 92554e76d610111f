/** Which images a list selects, as dockerd's: one row per tag, Docker's image filters. Used by `images` and GET /images/json. */
import { boolFilter, matchLabels, values, type Filters } from './filters.js';
import { resolveImage, type ImageRecord } from '../image/index.js';

export const IMAGE_FILTERS = ['before', 'dangling', 'label', 'reference', 'since'] as const;

/** Go's path.Match of a shell pattern (`*` and `?` stop at '/'), as Docker's reference filter uses it. */
export function globMatch(pattern: string, text: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) return false;
      re += `[${pattern.slice(i + 1, close).replace(/^\^/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`).test(text);
  } catch {
    return false;
  }
}

export interface ImageRow { repo: string; tag: string; digest: string; img: ImageRecord }

/** One row per tag (an untagged image is one <none>:<none> row), filtered as Docker's daemon does. */
export async function imageRows(images: ImageRecord[], f: Filters): Promise<ImageRow[]> {
  const dangling = boolFilter(f, 'dangling');
  const createdOf = async (ref: string | undefined) => (ref === undefined ? undefined : (await resolveImage(ref)).created);
  const before = await createdOf(values(f, 'before')[0]);
  const since = await createdOf(values(f, 'since')[0]);
  const refs = values(f, 'reference');
  const rows: ImageRow[] = [];
  for (const img of images) {
    if (dangling !== undefined && (img.repoTags.length === 0) !== dangling) continue;
    if (!matchLabels(f, 'label', img.config.Labels)) continue;
    if (before !== undefined && !(img.created < before)) continue;
    if (since !== undefined && !(img.created > since)) continue;
    const digests = img.repoDigests ?? [];
    if (img.repoTags.length === 0) {
      // an untagged pulled image still names its repository through its digest, as Docker's
      const d = digests[0];
      if (refs.length === 0) rows.push({ repo: d ? d.slice(0, d.indexOf('@')) : '<none>', tag: '<none>', digest: d ? d.slice(d.indexOf('@') + 1) : '<none>', img });
      continue;
    }
    for (const t of img.repoTags) {
      const i = t.lastIndexOf(':');
      const repo = t.slice(0, i);
      if (refs.length && !refs.some((p) => globMatch(p, t) || globMatch(p, repo))) continue;
      const digest = digests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1) ?? '<none>';
      rows.push({ repo, tag: t.slice(i + 1), digest, img });
    }
  }
  return rows;
}
