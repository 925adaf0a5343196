// What every parser property checks: only the parser's own typed errors, and Object.prototype
// untouched.
import assert from 'node:assert/strict';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error & { code: string } };

/**
 * Runs `fn`; an error that `typed` accepts becomes an outcome, anything else (a TypeError, a
 * RangeError, a foreign error class) is rethrown and fails the property.
 */
export function outcome<T>(fn: () => T, typed: (e: unknown) => boolean): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (!typed(e)) throw e;
    return { ok: false, error: e as Error & { code: string } };
  }
}

export async function outcomeAsync<T>(fn: () => Promise<T>, typed: (e: unknown) => boolean): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (!typed(e)) throw e;
    return { ok: false, error: e as Error & { code: string } };
  }
}

/** An error of one of the classes, with a string `code`. */
export function typedAs(...classes: (abstract new (...args: never[]) => Error)[]): (e: unknown) => boolean {
  return (e) => classes.some((c) => e instanceof c) && typeof (e as { code?: unknown }).code === 'string';
}

/** The same result, or the same error code. */
export function assertSameOutcome<A, B>(a: Outcome<A>, b: Outcome<B>, what: string): void {
  const show = (o: Outcome<unknown>): string => (o.ok ? 'accepted' : `refused (${o.error.code}: ${o.error.message})`);
  assert.equal(a.ok ? 'accepted' : `refused (${a.error.code})`, b.ok ? 'accepted' : `refused (${b.error.code})`, `${what}: ${show(a)} / ${show(b)}`);
}

const PROTOTYPES: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
];
const ORIGINAL = PROTOTYPES.map(([, p]) => Reflect.ownKeys(p).length);

/** Fails when a property was added to (or removed from) a built-in prototype. */
export function assertPrototypesUntouched(): void {
  PROTOTYPES.forEach(([name, p], i) => {
    const keys = Reflect.ownKeys(p);
    assert.equal(keys.length, ORIGINAL[i], `${name} changed: ${keys.map(String).join(', ')}`);
  });
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype.polluted appeared');
}
