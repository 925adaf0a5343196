// The delegation walk, in notary's order (formats.md §7.6, security.md: "lookup order MUST be
// notary's breadth-first order"): breadth-first from `targets`, each role's children in the order
// it lists them. Every walk over the role tree goes through breadthFirst (loading delegations,
// reading targets, purging keys), and what is read through it lives here: which role signs a
// target, every target of every role, the order `list` and `lookup` see them in.

import { compareUtf8 } from './canonical.js';
import type { FileMeta, Targets } from './metadata.js';
import { pathAllowed } from './roles.js';
import { inNameOrder, summaries, type TargetSummary } from './targetfiles.js';

/**
 * Roles breadth-first from `start`, each once. A role's children are asked for only when the walk
 * moves on from it, after the caller handled it: a walk that loads roles as it goes sees its own
 * loads (as python-tuf's Updater._preorder_depth_first_walk, in notary's breadth-first order).
 */
export function* breadthFirst(start: Iterable<string>, childrenOf: (role: string) => Iterable<string>): Generator<string> {
  const queue = [...start];
  const visited = new Set<string>();
  for (let i = 0; i < queue.length; i++) {
    const role = queue[i]!;
    if (visited.has(role)) continue;
    visited.add(role);
    yield role;
    for (const child of childrenOf(role)) queue.push(child);
  }
}

/** What the readers need of a verified collection (the builder gives it). */
export interface TrustedTargets {
  /** Every trusted targets role, `targets` included. */
  readonly targetsRoles: ReadonlyMap<string, { readonly meta: Targets }>;
  /** The paths a trusted role may sign, cut down to its ancestors' (formats.md §7.6). */
  pathsOf(role: string): readonly string[] | undefined;
}

export interface TargetEntry {
  name: string;
  meta: FileMeta;
  role: string;
}

/**
 * Trusted roles in walk order from `from` (default: `targets`). A role in `from` that is not
 * trusted is left out, and so is what lies under it.
 */
export function trustedRoles(t: TrustedTargets, from?: readonly string[]): string[] {
  const trusted = t.targetsRoles;
  const children = (role: string): string[] => {
    const out: string[] = [];
    for (const d of trusted.get(role)?.meta.delegations.roles ?? []) if (trusted.has(d.name)) out.push(d.name);
    return out;
  };
  const order: string[] = [];
  for (const role of breadthFirst(from && from.length > 0 ? from : ['targets'], children)) if (trusted.has(role)) order.push(role);
  return order;
}

/**
 * Targets in walk order from `targets` (or from `roles`, when given); the first role that has a
 * name wins, and a role only contributes names inside its paths.
 */
export function listTargets(t: TrustedTargets, roles?: readonly string[]): TargetEntry[] {
  const seen = new Set<string>();
  const out: TargetEntry[] = [];
  for (const role of trustedRoles(t, roles)) {
    const paths = t.pathsOf(role) ?? [];
    for (const [name, meta] of t.targetsRoles.get(role)!.meta.targets) {
      if (seen.has(name) || !pathAllowed(name, paths)) continue;
      seen.add(name);
      out.push({ name, meta, role });
    }
  }
  return out;
}

/**
 * The entries of listTargets as summaries, sorted by the bytes of their names (notary's list
 * order); it can be iterated more than once. When a single role has targets and its file was
 * indexed, they come straight from the file, one at a time.
 */
export function listTargetSummaries(t: TrustedTargets, roles?: readonly string[]): Iterable<TargetSummary> {
  const parts: { role: string; targets: ReadonlyMap<string, FileMeta>; paths: readonly string[] }[] = [];
  for (const role of trustedRoles(t, roles)) {
    const targets = t.targetsRoles.get(role)!.meta.targets;
    if (targets.size > 0) parts.push({ role, targets, paths: t.pathsOf(role) ?? [] });
  }
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (only && inNameOrder(only.targets)) {
    const { targets, role, paths } = only;
    if (paths.includes('')) return { [Symbol.iterator]: () => summaries(targets, role)[Symbol.iterator]() };
    return {
      *[Symbol.iterator]() {
        for (const s of summaries(targets, role)) if (pathAllowed(s.name, paths)) yield s;
      },
    };
  }
  const seen = new Set<string>();
  const out: TargetSummary[] = [];
  for (const { role, targets, paths } of parts) {
    for (const s of summaries(targets, role)) {
      if (seen.has(s.name) || !pathAllowed(s.name, paths)) continue;
      seen.add(s.name);
      out.push(s);
    }
  }
  return out.sort((a, b) => compareUtf8(a.name, b.name));
}

/** The role that signs `name`, in walk order from `targets` (or from `roles`): the first whose paths allow it. */
export function lookup(t: TrustedTargets, name: string, roles?: readonly string[]): TargetEntry | undefined {
  for (const role of trustedRoles(t, roles)) {
    const meta = t.targetsRoles.get(role)!.meta.targets.get(name);
    if (meta && pathAllowed(name, t.pathsOf(role) ?? [])) return { name, meta, role };
  }
  return undefined;
}

/**
 * Every entry named `name` (every entry, when undefined) in every trusted role inside its paths,
 * in walk order: not only the first, as notary's GetAllTargetMetadataByName (docker's view).
 */
export function targetsByName(t: TrustedTargets, name: string | undefined): TargetEntry[] {
  const out: TargetEntry[] = [];
  for (const role of trustedRoles(t)) {
    const targets = t.targetsRoles.get(role)!.meta.targets;
    const paths = t.pathsOf(role) ?? [];
    const entries = name === undefined ? [...targets] : targets.has(name) ? [[name, targets.get(name)!] as const] : [];
    for (const [n, meta] of entries) {
      if (pathAllowed(n, paths)) out.push({ name: n, meta, role });
    }
  }
  return out;
}
