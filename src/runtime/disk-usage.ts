/**
 * dockerd's types.DiskUsage from tsdocker's state: images with their shared and unique
 * bytes (layers used by more than one image are shared) and how many containers use each,
 * containers with the size of their writable layer (the overlay's upper dir), local volumes
 * with their size and reference count; no build cache. The one source for `system df` and
 * GET /system/df.
 */
import { listImages, type ImageRecord } from '../image/index.js';
import { layerMeta, hexOf } from '../image/store.js';
import { listContainers, type ContainerView } from '../state/containers.js';
import { diskUsage, listVolumes, volumeFiles, volumeUsers, type VolumeRecord } from '../state/volumes.js';
import { containerDirs } from '../rootfs/prepare.js';

export interface ImageUsage { image: ImageRecord; size: number; shared: number; containers: number }
export interface ContainerUsage { view: ContainerView; sizeRw: number }
export interface VolumeUsage { volume: VolumeRecord; size: number; refCount: number }

export interface DiskUsage {
  layersSize: number;
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
}

export async function imageUsage(containers?: ContainerView[]): Promise<{ layersSize: number; images: ImageUsage[] }> {
  const images = await listImages();
  const views = containers ?? (await listContainers());
  const users = new Map<string, number>();
  for (const layer of images.flatMap((i) => [...new Set(i.diffIds)])) users.set(layer, (users.get(layer) ?? 0) + 1);
  const sizes = new Map<string, number>();
  for (const layer of users.keys()) sizes.set(layer, (await layerMeta(hexOf(layer)))?.size ?? 0);
  let layersSize = 0;
  for (const s of sizes.values()) layersSize += s;
  return {
    layersSize,
    images: images.map((image) => ({
      image,
      size: image.size,
      shared: [...new Set(image.diffIds)].filter((l) => (users.get(l) ?? 0) > 1).reduce((n, l) => n + (sizes.get(l) ?? 0), 0),
      containers: views.filter((v) => v.config.image.id === image.id).length,
    })),
  };
}

export async function containerSizeRw(id: string): Promise<number> {
  return diskUsage(containerDirs(id).upper);
}

/** ps -s and GET /containers/json?size=1: each container's writable layer, and that plus its image (dockerd's SizeRw, SizeRootFs). */
export async function containerSizes(views: ContainerView[]): Promise<Map<string, { rw: number; rootFs: number }>> {
  const imageSize = new Map((await listImages()).map((i) => [i.id, i.size] as const));
  const out = new Map<string, { rw: number; rootFs: number }>();
  for (const v of views) {
    const rw = await containerSizeRw(v.config.id);
    out.set(v.config.id, { rw, rootFs: rw + (imageSize.get(v.config.image.id) ?? 0) });
  }
  return out;
}

export async function systemDiskUsage(): Promise<DiskUsage> {
  const views = await listContainers();
  const { layersSize, images } = await imageUsage(views);
  const containers = await Promise.all(views.map(async (view) => ({ view, sizeRw: await containerSizeRw(view.config.id) })));
  const refs = await volumeUsers();
  const volumes = await Promise.all(
    (await listVolumes()).map(async (volume) => ({ volume, size: await diskUsage(volumeFiles.data(volume.Name)), refCount: refs.get(volume.Name)?.length ?? 0 })),
  );
  return { layersSize, images, containers, volumes };
}
