// Two outputs:
//  dist/   the CLI as one CommonJS file, loaded by bin/dtrust with a V8 code cache;
//  build/  every source, test and bench file transpiled one-to-one for `node --test`.
// `node scripts/build.mjs dist` makes dist/ only: what a package needs (npm's prepare and prepack).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
let commit = '';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout
}
const define = { DTRUST_VERSION: JSON.stringify(pkg.version), DTRUST_COMMIT: JSON.stringify(commit) };

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const distOnly = process.argv[2] === 'dist';
rmSync('dist', { recursive: true, force: true });
if (!distOnly) rmSync('build', { recursive: true, force: true });

// Built-in modules that cost milliseconds to load (crypto ~2.6 ms, https ~6 ms with tls and http)
// are loaded on first use, not when a module that imports them initialises: `key list` never
// needs crypto, a plain-http server never needs tls, and commander's child_process (for
// executable subcommands, which dtrust has none of) is never loaded. Each becomes a module whose
// exports are getters over the real one; esbuild reads imported names at call time, so nothing
// else changes. The names are the building Node's (a name missing at run time reads undefined,
// as it would directly).
const LAZY_BUILTINS = ['node:crypto', 'node:fs/promises', 'node:http', 'node:https', 'node:tls', 'node:net', 'node:child_process', 'node:stream/promises', 'node:timers/promises', 'node:os', 'node:async_hooks', 'node:tty', 'node:worker_threads'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (LAZY_BUILTINS.includes(args.path) && args.namespace !== 'lazy' ? { path: args.path, namespace: 'lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default');
      // The getters sit on the prototype of the exports: esbuild's interop (__toESM) copies own
      // properties into a new object for every module that imports this one, and inherits the
      // prototype, so nothing is copied (a copy per importer was ~0.1 ms and 70 closures each).
      return {
        contents:
          `let real;\nconst load = () => (real ??= require(${JSON.stringify(args.path)}));\nconst getters = {};\n` +
          `for (const name of ${JSON.stringify(names)}) Object.defineProperty(getters, name, { enumerable: true, get: () => load()[name] });\n` +
          `module.exports = Object.create(getters);\n`,
        loader: 'js',
      };
    });
  },
};

// One CommonJS file: bin/dtrust compiles it with a V8 code cache (CommonJS can take one, ES
// modules cannot on Node 20), and a dynamic import() of our own code becomes a lazy init call, so
// command implementations still run only when used.
const bundle = 'dist/dtrust.cjs';
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Dependencies are bundled too: resolving node_modules at start-up costs more than it saves.
  external: ['@peculiar/x509'],
  plugins: [lazyBuiltins],
  // The file is the function bin/dtrust runs, so the launcher compiles it as read, without a copy.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
  footer: { js: '})' },
  // bin/dtrust reads the bundle as latin1: ASCII only, comments too.
  charset: 'ascii',
  legalComments: 'none',
  // The bundle is CommonJS: import.meta.url (createRequire's base) is the bundle's own path.
  define: { ...define, 'import.meta.url': '__filename' },
  // Smaller source is less to read and hash at every start. Function names are not kept: defining
  // them costs a command ~1.7 ms of CPU, and the error classes set their own `name`.
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
if (/[^a-zA-Z_$.]import\(/.test(readFileSync(bundle, 'latin1'))) throw new Error(`${bundle} has an import(): a code-cached script cannot run it`);
if (/[^\x00-\x7f]/.test(readFileSync(bundle, 'latin1'))) throw new Error(`${bundle} is not ASCII`);
// The build id names the code cache, so that a cache never outlives the code it was made from.
const id = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
writeFileSync(bundle, `${readFileSync(bundle, 'utf8')}//# dtrust-build ${id}\n`);

if (!distOnly) {
  await build({
    entryPoints: [...files('src'), ...files('test'), ...files('bench'), ...files('demo')],
    outdir: 'build',
    outbase: '.',
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
    define,
  });
}
