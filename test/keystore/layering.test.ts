// Layer rules of the key store and its crypto (design.md): keystore imports only tuf/, fs/ and
// crypto/ (and node built-ins, and the error base src/errors.ts) and never reads process.env;
// crypto imports only node built-ins and the error base (and @peculiar/x509, lazily, in
// certgen.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';

function imports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [...code.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('src/keystore imports only tuf/, fs/, crypto/ and node built-ins, and never reads process.env', () => {
  const dir = join(REPO_ROOT, 'src', 'keystore');
  const bad: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of imports(text)) {
      const ok = m.startsWith('node:') || m.startsWith('./') || m.startsWith('../tuf/') || m.startsWith('../fs/') || m.startsWith('../crypto/') || m === '../errors.js';
      if (!ok) bad.push(`${f}: imports ${m}`);
    }
    if (/process\.env/.test(text.replace(/\/\/.*$/gm, ''))) bad.push(`${f}: reads process.env`);
  }
  assert.deepEqual(bad, []);
});

test('the key encodings in src/crypto use only node built-ins, other crypto modules and the error base', () => {
  const bad: string[] = [];
  for (const f of ['keyfile.ts', 'pbes2.ts']) {
    for (const m of imports(readFileSync(join(REPO_ROOT, 'src', 'crypto', f), 'utf8'))) {
      if (!(m.startsWith('node:') || (m.startsWith('./') && !m.includes('/', 2)) || m === '../errors.js')) bad.push(`${f}: imports ${m}`);
    }
  }
  assert.deepEqual(bad, []);
});
