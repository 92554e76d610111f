/**
 * The image room's public face: what the runtime and the CLI use. Everything else in
 * src/image is internal, except three heavy entry points that have their own modules:
 * load.js (loadArchive, importTarball), save.js (saveImages) and commit.js (commitImage).
 * They pull in tar, zlib, crypto and streams, so they are not re-exported here: every start
 * imports this module, and would pay ~8 ms to evaluate them.
 */
export { resolveImage, listImages, tagImage, removeImages, containersUsing, type ImageRecord } from './ops.js';
export { parseImageRef, parseNameRef, shortId, type ImageRef, type NameRef, type IdRef } from './reference.js';
export { inspectImage } from './inspect.js';
export { imageHistory, type HistoryItem } from './history.js';
export { applyChanges } from './changes.js';
