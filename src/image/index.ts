/**
 * The image room's public face: what the runtime and the CLI use. Everything else in
 * src/image is internal.
 */
export { resolveImage, listImages, tagImage, removeImages, containersUsing, type ImageRecord } from './ops.js';
export { loadArchive, importTarball, type LoadedImage, type LoadOutcome, type LoadProgress } from './load.js';
export { parseImageRef, parseNameRef, shortId, type ImageRef, type NameRef, type IdRef } from './reference.js';
export { inspectImage } from './inspect.js';
export { saveImages } from './save.js';
export { imageHistory, type HistoryItem } from './history.js';
export { commitImage, type CommitRequest } from './commit.js';
export { applyChanges } from './changes.js';
