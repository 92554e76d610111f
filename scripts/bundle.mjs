// Bundles the CLI into one CommonJS file, dist/tsdocker.cjs, that bin/tsdocker compiles with a
// V8 code cache. Measured on `run --rm --network none busybox true` (median of 10):
//   ~80 separate ES modules            150 ms   (module resolution and loading)
//   one ES module bundle               140 ms
//   one CommonJS bundle + code cache   127 ms   (no parse/compile of what ran before)
// CommonJS because vm.Script takes cachedData and ES modules cannot. koffi (a native addon),
// pino (loaded lazily), tar (its parser, loaded lazily by load/import only: bundled, it
// would add 84 kB that every start parses) and etcd3 (gRPC, loaded by overlay commands only)
// stay in node_modules.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';

// commander requires child_process at load for executable subcommands (which tsdocker has
// none of); child_process loads net and dgram with it. This plugin hands commander a
// child_process that is required on first use, so a start pays for none of them.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, k) => require('node:child_process')[k] });",
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: 'dist/tsdocker.cjs',
  external: ['koffi', 'pino', 'tar', 'etcd3'],
  define: { 'import.meta.url': '__tsdImportMetaUrl' },
  // the bundle is the body of the function bin/tsdocker compiles: read as it is, with no copy
  // to wrap it in one (~0.5 ms a start for a 1 MB string)
  banner: { js: "(function (exports, require, module, __filename, __dirname) {const __tsdImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  footer: { js: '})' },
  // ASCII only, so bin/tsdocker may read it as latin1: a copy of the bytes, ~0.7 ms less than
  // decoding 1 MB of UTF-8 (checked below)
  charset: 'ascii',
  plugins: [lazyChildProcess],
  sourcemap: true,
  logLevel: 'warning',
});
if (/[^\x00-\x7f]/.test(readFileSync('dist/tsdocker.cjs', 'latin1'))) {
  throw new Error('dist/tsdocker.cjs has non-ASCII characters: bin/tsdocker reads it as latin1; escape them in the source (\\u00b5)');
}
// a new bundle invalidates the code cache of the old one (V8 would reject it anyway)
for (const f of readdirSync('dist')) if (/^tsdocker\.cjs\..*cache$/.test(f)) rmSync(`dist/${f}`, { force: true });
rmSync('dist/tsdocker.mjs', { force: true });
rmSync('dist/tsdocker.mjs.map', { force: true });
