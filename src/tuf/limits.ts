// Size limits of metadata files (SEC-V10, formats.md §7.2): a file is read up to the length its
// parent signed; the files nothing signs a length for are read up to these caps.

export const MiB = 1024 * 1024;
/** root.json and N.root.json. */
export const ROOT_MAX = 2 * MiB;
export const TIMESTAMP_MAX = 1 * MiB;
/** A cached file read before the length its parent signed is known (any role). */
export const CACHED_MAX = 100 * MiB;

export interface Limits {
  /** Files without a signed length: root.json and N.root.json. */
  rootMax: number;
  timestampMax: number;
  /** Root versions walked in one update (SEC-V7). */
  maxRootWalk: number;
}

export const DEFAULT_LIMITS: Limits = { rootMax: ROOT_MAX, timestampMax: TIMESTAMP_MAX, maxRootWalk: 256 };
