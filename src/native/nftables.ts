/**
 * libnftables in the CLI's own process: the nft batches of a start and of a removal where our
 * own transactions (native/src/nftguard.c, nftports.c) cannot, with no `nft` process. The library is nft itself (the
 * same parser, cache and error texts: `nft` is a thin main() around it), so the scripts stay
 * nft's language; Debian's nftables package depends on it, so where `nft` is, it is.
 *
 * Measured here (2 cores, one sandbox, the binding batch of a start, n=20 medians): dlopen of
 * libnftables and its libraries 0.9-1.2 ms and nft_ctx_new 0.3 ms, once per process; a batch
 * 0.85 ms (1.5 ms with 400 chains) against 4.3 ms (5.5 ms) for `nft -f -` from Node.
 *
 * The batch runs on a libuv pool thread (koffi's async call): it touches no namespace (the
 * pool threads are in the process's own, DESIGN.md), and the veth is made meanwhile. So does
 * the context's release, which may wait in the kernel (below).
 * Without the library (another distribution's soname, a musl build), `nftRun` says so
 * (undefined) and the caller runs `nft`.
 */
import { loadKoffi } from './index.js';

export interface NftRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface NftLib {
  ctxNew: (flags: number) => unknown;
  ctxFree: { async: (ctx: unknown, cb: (err: unknown) => void) => void };
  bufferOutput: (ctx: unknown) => number;
  bufferError: (ctx: unknown) => number;
  setOutputFlags: (ctx: unknown, flags: number) => void;
  outputBuffer: (ctx: unknown) => string;
  errorBuffer: (ctx: unknown) => string;
  run: { async: (ctx: unknown, buf: string, cb: (err: unknown, rc: number) => void) => void };
}

/** NFT_CTX_OUTPUT_JSON of libnftables.h */
const OUTPUT_JSON = 1 << 4;

let lib: NftLib | null | undefined;

function load(): NftLib | undefined {
  if (lib !== undefined) return lib ?? undefined;
  try {
    const h = loadKoffi().load(process.env.TSDOCKER_LIBNFTABLES ?? 'libnftables.so.1');
    lib = {
      ctxNew: h.func('void *nft_ctx_new(uint32_t flags)'),
      ctxFree: h.func('void nft_ctx_free(void *ctx)') as NftLib['ctxFree'],
      bufferOutput: h.func('int nft_ctx_buffer_output(void *ctx)'),
      bufferError: h.func('int nft_ctx_buffer_error(void *ctx)'),
      setOutputFlags: h.func('void nft_ctx_output_set_flags(void *ctx, unsigned int flags)'),
      outputBuffer: h.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
      errorBuffer: h.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
      run: h.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as NftLib['run'],
    };
  } catch {
    lib = null;
  }
  return lib ?? undefined;
}

/**
 * `nft [-j] -f -` of `script` in process: exit code 0 or 1 as nft's, its output and error
 * texts. A fresh context per call: nothing of one call's buffers or cache leaks into the next.
 * Undefined when libnftables cannot be loaded.
 */
export function nftRun(script: string, opts: { json?: boolean } = {}): Promise<NftRunResult> | undefined {
  const l = load();
  if (!l) return undefined;
  const ctx = l.ctxNew(0);
  if (!ctx) return undefined;
  l.bufferOutput(ctx);
  l.bufferError(ctx);
  if (opts.json) l.setOutputFlags(ctx, OUTPUT_JSON);
  return new Promise((resolve, reject) => {
    l.run.async(ctx, script, (err, rc) => {
      try {
        if (err) reject(err);
        else resolve({ code: rc === 0 ? 0 : 1, stdout: l.outputBuffer(ctx) ?? '', stderr: l.errorBuffer(ctx) ?? '' });
      } finally {
        // on a pool thread, not awaited: freeing closes the context's netlink socket, and after a
        // batch that deleted something the kernel makes that close wait an RCU grace period
        // (4-14 ms here: the removal of a container's binding) for the deletion to finish
        l.ctxFree.async(ctx, () => undefined);
      }
    });
  });
}
