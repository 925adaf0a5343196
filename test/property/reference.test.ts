// Image references (docker/reference.ts): references built from distribution's grammar parse
// into their parts and print back to themselves; any string gives a reference or a DockerError,
// and a parsed reference is consistent; the parser is linear in the reference.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DockerError } from '../../src/docker/errors.js';
import { DEFAULT_DOMAIN, NAME_TOTAL_LENGTH_MAX, familiarName, parseImageReference, type ImageReference } from '../../src/docker/reference.js';
import { property } from './budget.js';
import { outcome, typedAs } from './checks.js';
import { applyMutations, fileArb, mutationsArb } from './mutate.js';
import { assertLinear } from './timing.js';

const typed = typedAs(DockerError);

const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const pathComponent = fc.tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 })).map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(''));
const domainComponent = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const domain = fc.oneof(
  fc.tuple(domainComponent, fc.array(domainComponent, { minLength: 1, maxLength: 2 })).map(([a, rest]) => [a, ...rest].join('.')),
  fc.constant('localhost'),
  domainComponent.map((d) => `${d}.example`),
  fc.constantFrom('[::1]', '[fe80::1]'),
);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const tag = fc.stringMatching(/^[\w][\w.-]{0,40}$/);
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256:${Buffer.from(b).toString('hex')}`);

interface Parts {
  domain?: string;
  path: string[];
  tag?: string;
  digest?: string;
}

const partsArb: fc.Arbitrary<Parts> = fc.record(
  {
    domain: fc.tuple(domain, port).map(([d, p]) => (p === undefined ? d : `${d}:${p}`)),
    path: fc.array(pathComponent, { minLength: 1, maxLength: 3 }),
    tag,
    digest,
  },
  { requiredKeys: ['path'] },
);

function written(p: Parts): string {
  return `${p.domain ? `${p.domain}/` : ''}${p.path.join('/')}${p.tag ? `:${p.tag}` : ''}${p.digest ? `@${p.digest}` : ''}`;
}

function shown(r: ImageReference): string {
  return `${r.name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** What any parsed reference satisfies, and printing it parses back to it. */
function consistent(r: ImageReference): void {
  assert.equal(r.name, `${r.domain}/${r.path}`);
  assert.ok(r.name.length <= NAME_TOTAL_LENGTH_MAX);
  assert.equal(r.path, r.path.toLowerCase());
  const again = parseImageReference(shown(r));
  assert.deepEqual({ ...again, original: '' }, { ...r, original: '' });
  assert.equal(parseImageReference(familiarName(r)).name, r.name);
}

property(
  'reference/valid-references-round-trip',
  fc.property(partsArb, (p) => {
    const s = written(p);
    // Without a domain, a first component with a dot is the domain (docker's rule).
    const first = p.path[0]!;
    let expectedName: string;
    if (p.domain !== undefined || (p.path.length > 1 && first.includes('.'))) expectedName = [p.domain, ...p.path].filter((x) => x !== undefined).join('/');
    else expectedName = `${DEFAULT_DOMAIN}/${p.path.length === 1 ? `library/${first}` : p.path.join('/')}`;
    const r = outcome(() => parseImageReference(s), typed);
    if (expectedName.length > NAME_TOTAL_LENGTH_MAX || /^[a-f0-9]{64}$/.test(s)) {
      assert.ok(!r.ok, 'too long a name is refused');
      return;
    }
    assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
    assert.equal(r.value.name, expectedName);
    assert.equal(r.value.tag, p.tag);
    assert.equal(r.value.digest, p.digest);
    consistent(r.value);
  }),
);

property(
  'reference/any-string',
  fc.property(
    fc.oneof(
      fc.tuple(partsArb, mutationsArb()).map(([p, m]) => applyMutations(Buffer.from(written(p), 'latin1'), m).toString('latin1')),
      fc.string({ unit: fc.constantFrom(...'aZ0:/@.-_[]'), maxLength: 30 }),
      fc.string({ maxLength: 30 }),
    ),
    (s) => {
      const r = outcome(() => parseImageReference(s), typed);
      if (r.ok) consistent(r.value);
    },
  ),
);

const UNITS = ['a', 'a-', 'a.', 'a_', 'a__', 'a/', 'a-/', 'A', 'a:', ':1', '@', 'a.b-', '[::', '0', '-', '.', '/', 'a1'];
const CONTEXTS = [
  { id: 'bare', pre: '', post: '' },
  { id: 'domain', pre: '', post: '/a' },
  { id: 'path', pre: 'example.com/', post: '!' },
  { id: 'tag', pre: 'a:', post: '' },
  { id: 'digest', pre: 'a@sha256:', post: '' },
];

property(
  'reference/linear-time',
  fc.property(fileArb(CONTEXTS), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (ctx, unit) => {
    // References are refused beyond 4096 characters before any parsing: compare 400 with 4000.
    assertLinear('parseImageReference', (n) => ctx.pre + unit.repeat(Math.ceil(n / unit.length)) + ctx.post, (s) => void outcome(() => parseImageReference(s), typed), { small: 400, large: 4000 });
  }),
);
