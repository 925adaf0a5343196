// src/tuf is the pure engine: no file system, network, process or clock (design.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers.js';

const FORBIDDEN_MODULES = /^(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|process|os|worker_threads|cluster|readline|timers)$/;
const FORBIDDEN_CODE: [RegExp, string][] = [
  [/\bprocess\s*\./, 'uses process'],
  [/\bDate\.now\s*\(/, 'reads the clock (Date.now)'],
  [/\bnew\s+Date\s*\(\s*\)/, 'reads the clock (new Date())'],
  [/\bperformance\s*\.\s*now/, 'reads the clock (performance.now)'],
  [/\bsetTimeout\s*\(|\bsetInterval\s*\(/, 'uses timers'],
  [/\brequire\s*\(/, 'uses require'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Violations in one file's text; exported shape kept small so the rule itself can be tested. */
export function violations(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const mod = m[1]!;
    if (FORBIDDEN_MODULES.test(mod)) out.push(`imports ${mod}`);
    if (mod.startsWith('.') && /\/(cli|docker|client|config|remote|storage|keystore|fs)\//.test(`/${mod.replace(/^\.\.\//, '')}`)) {
      out.push(`imports a higher layer (${mod})`);
    }
  }
  for (const [re, why] of FORBIDDEN_CODE) if (re.test(code)) out.push(why);
  return out;
}

test('the rule catches what it forbids', () => {
  assert.deepEqual(violations("import { readFileSync } from 'node:fs';"), ['imports node:fs']);
  assert.deepEqual(violations("import http from 'http';"), ['imports http']);
  assert.deepEqual(violations('const t = Date.now();'), ['reads the clock (Date.now)']);
  assert.deepEqual(violations('const t = new Date();'), ['reads the clock (new Date())']);
  assert.deepEqual(violations('if (process.env.X) {}'), ['uses process']);
  assert.deepEqual(violations("import { x } from '../remote/http.js';"), ['imports a higher layer (../remote/http.js)']);
  assert.deepEqual(violations("const d = new Date(ms); // Date.now() in a comment\nimport { sha256 } from '../crypto/hash.js';"), []);
});

test('src/tuf is pure', () => {
  const dir = join(REPO_ROOT, 'src', 'tuf');
  const found: string[] = [];
  for (const f of sources(dir)) {
    for (const v of violations(readFileSync(f, 'utf8'))) found.push(`${relative(REPO_ROOT, f)}: ${v}`);
  }
  assert.deepEqual(found, []);
});
