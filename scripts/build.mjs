// Two outputs:
//  dist/   the CLI as one CommonJS file, loaded by bin/dtrust with a V8 code cache;
//  build/  every source, test and bench file transpiled one-to-one for `node --test`.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
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

rmSync('dist', { recursive: true, force: true });
rmSync('build', { recursive: true, force: true });

// commander requires child_process (and net and dgram behind it) for executable subcommands,
// which dtrust does not have: load it only if it is ever called.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes(`node_modules${sep}commander${sep}`) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };",
      loader: 'js',
    }));
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
  plugins: [lazyChildProcess],
  // bin/dtrust reads the bundle as latin1: ASCII only, comments too.
  charset: 'ascii',
  legalComments: 'none',
  // The bundle is CommonJS: import.meta.url (createRequire's base) is the bundle's own path.
  define: { ...define, 'import.meta.url': '__filename' },
  minifyWhitespace: true,
  sourcemap: false,
  logLevel: 'warning',
});
if (/[^a-zA-Z_$.]import\(/.test(readFileSync(bundle, 'latin1'))) throw new Error(`${bundle} has an import(): a code-cached script cannot run it`);
if (/[^\x00-\x7f]/.test(readFileSync(bundle, 'latin1'))) throw new Error(`${bundle} is not ASCII`);
// The build id names the code cache, so that a cache never outlives the code it was made from.
const id = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
writeFileSync(bundle, `${readFileSync(bundle, 'utf8')}//# dtrust-build ${id}\n`);

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
