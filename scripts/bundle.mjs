// Bundles the CLI into one ES module, dist/tsdocker.mjs. Module resolution and loading of
// ~80 small files cost ~30 ms of every `tsdocker run` on our machines (measured: 180 ms ->
// 150 ms for `run --rm busybox true`); one file avoids that. koffi (a native addon), pino
// (loaded lazily) and etcd3 (overlay only) stay in node_modules.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/tsdocker.mjs',
  external: ['koffi', 'pino', 'etcd3'],
  banner: { js: "import { createRequire as __tsdCreateRequire } from 'node:module'; const require = __tsdCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
