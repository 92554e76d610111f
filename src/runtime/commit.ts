/** `commit` (POST /commit): the container's upper layer on its image, paused while it is read. */
import { emitContainer } from '../state/events.js';
import { findContainer } from '../state/containers.js';
import { containerDirs } from '../rootfs/prepare.js';
import { applyChanges, resolveImage } from '../image/index.js';
import { commitImage } from '../image/commit.js';
import { packLayer } from './cp-fs.js';
import { runtimePaths } from './changes.js';
import { isPaused, pauseContainer, unpauseContainer } from './pause.js';

export interface CommitOptions {
  author?: string;
  message?: string;
  changes?: string[];
  pause?: boolean;
  tag?: string;
}

export async function commitContainer(ref: string, o: CommitOptions = {}): Promise<string> {
  const v = await findContainer(ref);
  const img = await resolveImage(v.config.image.id);
  const c = v.config;
  const run: Record<string, unknown> = {
    ...((img.imageConfig.config ?? {}) as Record<string, unknown>),
    Env: c.env,
    Cmd: c.cmd ?? null,
    Entrypoint: c.entrypoint ?? null,
    WorkingDir: c.workingDir,
    User: c.user,
    Labels: { ...(img.config.Labels ?? {}), ...(c.labels ?? {}) },
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
  };
  if (Object.keys(run.Labels as object).length === 0) run.Labels = null;
  const config = applyChanges(run, o.changes ?? []);
  const pause = o.pause !== false && v.status === 'running' && !isPaused(v);
  if (pause) await pauseContainer(c.id);
  try {
    const imageId = await commitImage({
      layer: packLayer(containerDirs(c.id).upper, runtimePaths(c.id)),
      baseId: img.id,
      config,
      containerId: c.id,
      createdBy: (c.cmd ?? [c.path, ...c.args]).join(' '),
      author: o.author,
      comment: o.message,
      tag: o.tag,
    });
    emitContainer(c, 'commit', { comment: o.message, imageID: imageId, imageRef: o.tag });
    return imageId;
  } finally {
    if (pause) await unpauseContainer(c.id);
  }
}
