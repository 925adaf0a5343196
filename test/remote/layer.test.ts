// src/remote may import only src/tuf, src/fs, src/crypto, the error base src/errors.ts, its own
// files and node built-ins, and never reads process.env (callers pass the environment):
// design.md layers, this layer's contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';

test('src/remote imports only tuf/, fs/, crypto/, itself and node built-ins; no process access', () => {
  const dir = join(REPO_ROOT, 'src', 'remote');
  const found: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const code = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
      const mod = m[1]!;
      const ok = mod.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(mod) || /^\.\.\/(tuf|fs|crypto)\/[\w-]+\.js$/.test(mod) || mod === '../errors.js';
      if (!ok) found.push(`${f}: imports ${mod}`);
    }
    if (/\bprocess\s*\./.test(code)) found.push(`${f}: uses process`);
  }
  assert.deepEqual(found, []);
});
