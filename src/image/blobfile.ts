/**
 * Keep a layer's archive as it passes: `teeToFile` writes every chunk to a file (created
 * exclusively) and hashes it on the way to the extractor, so a layer is read once and its
 * distribution digest is known when the extraction ends.
 */
import { promises as fsp, constants as C } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Source } from './source.js';
import { MEDIA } from './media.js';
import type { LayerBlob } from './store.js';

export interface Tee {
  stream: AsyncIterable<Buffer>;
  /** sha256 and byte count of what passed, once the stream is drained */
  result(): { digest: string; size: number };
}

export function teeToFile(src: AsyncIterable<Buffer | Uint8Array>, file: string, onChunk?: (n: number) => void): Tee {
  const hash = createHash('sha256');
  let size = 0;
  async function* gen(): AsyncGenerator<Buffer> {
    const fh = await fsp.open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      for await (const c of src) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        hash.update(b);
        size += b.length;
        await fh.write(b);
        onChunk?.(b.length);
        yield b;
      }
    } finally {
      await fh.close();
    }
  }
  return { stream: gen(), result: () => ({ digest: `sha256:${hash.copy().digest('hex')}`, size }) };
}

/** The media type a kept archive is pushed as, from what openSource found in it. */
export function blobOf(compression: Source['compression'], digest: string, size: number): LayerBlob {
  const mediaType = compression === 'gzip' ? MEDIA.dockerLayerGzip : compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.dockerLayerTar;
  return { digest, mediaType, size };
}
