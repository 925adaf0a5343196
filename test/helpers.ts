// Paths shared by tests: the repository root and its fixtures, from the compiled location.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** build/test/helpers.js → repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO_ROOT, 'fixtures');
export const NOTARY_SOURCE = '/usr/share/gocode/src/github.com/theupdateframework/notary';
