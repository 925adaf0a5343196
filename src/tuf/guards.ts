// Narrowing parsed JSON into model types without casts (design principle 2). Every failure is a
// typed METADATA_INVALID error naming the role and the field (SEC-V11).

import { TrustError } from './errors.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';

export class Ctx {
  constructor(
    readonly role: string,
    private readonly base: string = '',
    private readonly parent?: Ctx,
  ) {}

  /** A context one field deeper; the path string is only built when an error needs it. */
  at(field: string): Ctx {
    return new Ctx(this.role, field, this);
  }

  get path(): string {
    if (!this.parent) return this.base;
    const p = this.parent.path;
    return p === '' ? this.base : `${p}.${this.base}`;
  }

  fail(msg: string): never {
    const path = this.path;
    const where = path === '' ? this.role : `${this.role} ${path}`;
    throw new TrustError('METADATA_INVALID', `${where}: ${msg}`, { role: this.role, field: path });
  }
}

/** Checks an object and refuses case variants of its known fields (Go would match them). */
export function object(v: Json | undefined, ctx: Ctx, known?: readonly string[]): JsonObject {
  if (!isJsonObject(v)) ctx.fail(`expected an object, found ${describe(v)}`);
  if (known) {
    for (const k of Object.keys(v)) {
      if (known.includes(k)) continue;
      const lower = k.toLowerCase();
      const match = known.find((f) => f.toLowerCase() === lower);
      if (match) ctx.at(k).fail(`field name differs from ${JSON.stringify(match)} only in case`);
    }
  }
  return v;
}

export function get(o: JsonObject, k: string): Json | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

export function str(v: Json | undefined, ctx: Ctx): string {
  if (typeof v !== 'string') ctx.fail(`expected a string, found ${describe(v)}`);
  return v;
}

export function int(v: Json | undefined, ctx: Ctx, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) ctx.fail(`expected an integer, found ${describe(v)}`);
  if (v < min) ctx.fail(`must be at least ${min}, found ${v}`);
  return v;
}

export function bool(v: Json | undefined, ctx: Ctx): boolean {
  if (typeof v !== 'boolean') ctx.fail(`expected true or false, found ${describe(v)}`);
  return v;
}

export function array(v: Json | undefined, ctx: Ctx): Json[] {
  if (!Array.isArray(v)) ctx.fail(`expected an array, found ${describe(v)}`);
  return v;
}

/** An array of strings, or null (Go's nil slice). */
export function stringsOrNull(v: Json | undefined, ctx: Ctx): string[] | null {
  if (v === undefined || v === null) return null;
  return array(v, ctx).map((s, i) => str(s, ctx.at(String(i))));
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with padding, as Go's []byte fields require (Node alone would also take `-_`). */
export function base64(v: Json | undefined, ctx: Ctx): Buffer {
  const s = str(v, ctx);
  if (s.length % 4 !== 0 || !B64.test(s)) ctx.fail('is not standard padded base64');
  const b = Buffer.from(s, 'base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  if (b.length !== (s.length / 4) * 3 - pad) ctx.fail('is not standard padded base64');
  return b;
}

function describe(v: Json | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
