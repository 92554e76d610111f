/**
 * `commit`: a new image made of a base image and one more layer (a container's changes, as
 * a tar in Docker's whiteout format), with the config Docker writes: the container's run
 * settings (after `-c` changes), author, comment, and a history entry. The layer goes
 * through the same extraction and store commit as `import`, its tar kept as its archive.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { commitImages, extractInto, withTmp } from './load.js';
import { blobOf, teeToFile } from './blobfile.js';
import { openSource } from './source.js';
import { limits } from './tar-rules.js';
import { parseNameRef } from './reference.js';
import { hexOf, readRecord, type ImageConfigJson } from './store.js';
import { TsdError } from '../sys/errors.js';

export interface CommitRequest {
  layer: AsyncIterable<Buffer>;
  baseId: string;
  config: Record<string, unknown>;
  containerId: string;
  createdBy: string;
  author?: string;
  comment?: string;
  tag?: string;
}

export async function commitImage(r: CommitRequest): Promise<string> {
  const tag = r.tag ? parseNameRef(r.tag).full : undefined;
  const base = await readRecord(hexOf(r.baseId));
  if (!base) throw new TsdError('IMAGE_NOT_FOUND', `the container's image ${r.baseId} is gone`, { exitCode: 1 });
  return withTmp(async (tmp) => {
    const work = join(tmp, 'l-new');
    await fsp.mkdir(work);
    const kept = teeToFile(r.layer, join(work, 'blob'));
    const src = await openSource(kept.stream, 'commit', limits());
    const meta = await extractInto(src, work, 'the container changes', () => ({ blob: blobOf('none', kept.result().digest, kept.result().size) }));
    const hex = hexOf(meta.diffId);
    await fsp.rename(work, join(tmp, `l-${hex}`));
    const now = new Date().toISOString();
    const b = base.config;
    const history = [...(Array.isArray(b.history) ? b.history : []), {
      created: now, ...(r.author ? { author: r.author } : {}), created_by: r.createdBy, ...(r.comment ? { comment: r.comment } : {}),
    }];
    const diffIds = [...base.diffIds, meta.diffId];
    const config: ImageConfigJson = {
      architecture: b.architecture, ...(b.variant ? { variant: b.variant } : {}), os: b.os ?? 'linux',
      ...(r.author ? { author: r.author } : {}), ...(r.comment ? { comment: r.comment } : {}),
      config: r.config, container: r.containerId, created: now,
      history, rootfs: { type: 'layers', diff_ids: diffIds },
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    await commitImages(tmp, new Map([[hex, meta]]), [{ spec: { id, config, configBytes, diffIds, repoTags: tag ? [tag] : [] } }]);
    return id;
  });
}
