// Two outputs:
//  dist/   the CLI, bundled with code splitting so that each command loads only its own chunk;
//  build/  every source, test and bench file transpiled one-to-one for `node --test`.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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

rmSync('dist', { recursive: true, force: true });
rmSync('build', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies are bundled too: resolving node_modules at start-up costs more than it saves.
  external: ['@peculiar/x509'],
  // commander is CommonJS: give its require() calls a real require.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: false,
  logLevel: 'warning',
  define,
});

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
