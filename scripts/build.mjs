// Two outputs:
//  dist/   the CLI as CommonJS bundles, loaded by bin/dtrust with a V8 code cache: dtrust.cjs
//          (every command) and stage.cjs (the staging commands alone, for a faster start);
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
// exports read through to the real one; esbuild reads imported names at call time, so nothing
// else changes.
const LAZY_BUILTINS = ['node:crypto', 'node:fs/promises', 'node:http', 'node:https', 'node:tls', 'node:net', 'node:child_process', 'node:stream/promises', 'node:timers/promises', 'node:os', 'node:async_hooks', 'node:tty', 'node:worker_threads'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (LAZY_BUILTINS.includes(args.path) && args.namespace !== 'lazy' ? { path: args.path, namespace: 'lazy' } : undefined));
    // The reads go through a proxy that is the prototype of the exports: esbuild's interop
    // (__toESM) copies own properties into a new object for every module that imports this one,
    // and inherits the prototype, so nothing is copied; it asks for __esModule, which must not
    // load the module. A getter per name instead cost a short command ~0.5 ms to define.
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents:
        `let real;\nconst load = () => (real ??= require(${JSON.stringify(args.path)}));\n` +
        `module.exports = Object.create(new Proxy({}, { get: (_, name) => (name === '__esModule' ? undefined : load()[name]) }));\n`,
      loader: 'js',
    }));
  },
};

// One CommonJS file per entry: bin/dtrust compiles it with a V8 code cache (CommonJS can take
// one, ES modules cannot on Node 20), and a dynamic import() of our own code becomes a lazy init
// call, so command implementations still run only when used.
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Dependencies are bundled too: resolving node_modules at start-up costs more than it saves.
  // The Sigstore libraries (and their HTTP stack) stay in node_modules: only the cosign-format
  // commands load them, with import(), which esbuild turns into require() on first use.
  external: ['@peculiar/x509', '@sigstore/*'],
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
  metafile: true,
};

// The staging commands' bundle (src/cli/stage.ts) holds what add, addhash, remove and witness
// load without -p. Every other module that this code reaches only through import() (the other
// repository commands, the server, keys, publishing) is cut out: it becomes a module that fails
// as an internal error, which no staging command reaches (stage.ts hands a -p to dist/dtrust.cjs).
const STAGE_LAZY = ['../config/config.js', '../remote/url.js'];
const stageCut = {
  name: 'stage-cut',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' && !STAGE_LAZY.includes(args.path) ? { path: `${args.path} (from ${args.importer.slice(process.cwd().length + 1)})`, namespace: 'cut' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'cut' }, (args) => ({ contents: `throw new Error(${JSON.stringify(`internal error: ${args.path} is not part of dist/stage.cjs`)});\n`, loader: 'js' }));
  },
};

const bundles = [
  { entry: 'src/cli/main.ts', file: 'dist/dtrust.cjs', plugins: [lazyBuiltins] },
  { entry: 'src/cli/stage.ts', file: 'dist/stage.cjs', plugins: [stageCut, lazyBuiltins] },
];
const inputs = {};
for (const o of bundles) {
  const r = await build({ ...common, entryPoints: [o.entry], outfile: o.file, plugins: o.plugins });
  inputs[o.file] = Object.keys(r.metafile.inputs);
  const text = readFileSync(o.file, 'latin1');
  if (/[^a-zA-Z_$.]import\(/.test(text)) throw new Error(`${o.file} has an import(): a code-cached script cannot run it`);
  if (/[^\x00-\x7f]/.test(text)) throw new Error(`${o.file} is not ASCII`);
}
// The staging bundle is worth having only while it stays small: no commander, none of the server,
// key or publish code.
for (const heavy of ['node_modules/commander/index.js', 'src/client/publish.ts', 'src/remote/http.ts', 'src/keystore/filestore.ts', 'src/tuf/builder.ts']) {
  if (inputs['dist/stage.cjs'].includes(heavy)) throw new Error(`dist/stage.cjs holds ${heavy}: a static import pulled it into the staging commands' bundle`);
}
// The build id names the code cache, so that a cache never outlives the code it was made from;
// both bundles carry the same one, so that neither removes the other's cache files.
const hash = createHash('sha256');
for (const o of bundles) hash.update(readFileSync(o.file));
const id = hash.digest('hex').slice(0, 16);
for (const o of bundles) writeFileSync(o.file, `${readFileSync(o.file, 'utf8')}//# dtrust-build ${id}\n`);

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
