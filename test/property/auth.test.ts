// WWW-Authenticate (remote/auth.ts parseChallenges): challenges written as RFC 7235 allows
// read back as written; any header, including mutated real ones, parses without an exception
// into well-formed challenges; the parser is linear in the header.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseChallenges } from '../../src/remote/auth.js';
import { property } from './budget.js';
import { assertPrototypesUntouched } from './checks.js';
import { applyMutations, fileArb, mutatedFileArb } from './mutate.js';
import { assertLinear } from './timing.js';

/** Headers as notary-server, docker's registry and others send them. */
const REAL = [
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
  'Bearer realm="https://auth.docker.io/token",service="notary.docker.io",scope="repository:docker.io/library/alpine:pull"',
  'Basic realm="Registry Realm"',
  'Basic realm="notary-server", Bearer realm="http://127.0.0.1:5001/auth",service="Notary Server",scope=repository:a/b:pull',
  'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull",error="insufficient_scope"',
  'Negotiate abc123==, Basic realm="x\\"y"',
].map((text, i) => ({ id: `header ${i}`, bytes: Buffer.from(text, 'latin1') }));

const tokenChars = [...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 10 });
/** Quoted-string content: visible ASCII, space, tab and obs-text. */
const quotable = fc.string({ unit: fc.constantFrom(...'aZ09 \t",\\=/:;!~\xe9\xff'), maxLength: 20 });

interface Written {
  scheme: string;
  params: [string, string, boolean][];
}

const challengeArb: fc.Arbitrary<Written> = fc.record({
  scheme: token,
  params: fc.uniqueArray(fc.tuple(token, fc.oneof(quotable, token), fc.boolean()), { selector: ([n]) => n.toLowerCase(), maxLength: 4 }),
});

function write(c: Written): string {
  const params = c.params.map(([name, value, quoted]) => {
    const bare = quoted || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value);
    return `${name}=${bare ? `"${value.replace(/["\\]/g, '\\$&')}"` : value}`;
  });
  return params.length === 0 ? c.scheme : `${c.scheme} ${params.join(', ')}`;
}

property(
  'auth/challenge-round-trip',
  fc.property(fc.array(challengeArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (challenges, oneHeader) => {
    const headers = challenges.map(write);
    const back = parseChallenges(oneHeader ? headers.join(', ') : headers);
    assert.deepEqual(
      back.map((c) => [c.scheme, [...c.params]]),
      challenges.map((c) => [c.scheme.toLowerCase(), c.params.map(([n, v]) => [n.toLowerCase(), v])]),
    );
  }),
);

property(
  'auth/any-header',
  fc.property(
    fc.oneof(
      mutatedFileArb(REAL).map(({ file, mutations }) => applyMutations(file.bytes, mutations).toString('latin1')),
      fc.string({ unit: fc.constantFrom(...'a =,"\\\t;B'), maxLength: 30 }),
      fc.string({ maxLength: 30 }),
    ),
    (header) => {
      for (const c of parseChallenges([header, header])) {
        assert.ok(c.scheme !== '' && c.scheme === c.scheme.toLowerCase(), `scheme ${JSON.stringify(c.scheme)}`);
        for (const name of c.params.keys()) assert.equal(name, name.toLowerCase());
      }
      assertPrototypesUntouched();
    },
  ),
);

const UNITS = [',', '"', '\\', '=', 'a=', 'a ', 'a="', '\\"', ' ,', 'Bearer ', 'a=b,', '==', '\t'];
const CONTEXTS = [
  { id: 'bare', pre: '', post: '' },
  { id: 'after a scheme', pre: 'Bearer ', post: '' },
  { id: 'in a quoted value', pre: 'Bearer realm="', post: '"' },
  { id: 'in a token68', pre: 'Negotiate ', post: '==, Basic realm="x"' },
];

property(
  'auth/linear-time',
  fc.property(fileArb(CONTEXTS), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (ctx, unit) => {
    assertLinear('parseChallenges', (n) => ctx.pre + unit.repeat(Math.ceil(n / unit.length)) + ctx.post, (h) => void parseChallenges(h));
  }),
);
