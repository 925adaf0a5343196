// `inspect` output exactly as docker prints it (cli.md §11.5): the JSON array of its inspect
// package (Go's json.Marshal, then json.Indent with four spaces) and the `--pretty` layout with
// docker's table writer (Go text/tabwriter: minwidth 10, tabwidth 1, padding 3, spaces).

import { goJsonString } from '../storage/changelist.js';
import { REPO_ADMIN, naturalCompare, type SignedTagRow } from './trustdata.js';

export interface TrustKeyJson {
  ID?: string;
}

export interface TrustSignerJson {
  Name?: string;
  Keys?: TrustKeyJson[];
}

/** docker's trustRepo struct, field order as Go marshals it. */
export interface TrustRepoJson {
  Name: string;
  SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
  Signers: TrustSignerJson[];
  AdministrativeKeys: TrustSignerJson[];
}

export interface InspectData {
  rows: SignedTagRow[];
  /** Signer name → canonical key IDs (targets/releases excluded). */
  signers: Map<string, string[]>;
  rootKeyIds: string[];
  targetsKeyIds: string[];
}

/** docker's getRepoTrustInfo: the object for one argument. */
export function trustRepoJson(name: string, d: InspectData): TrustRepoJson {
  const signer = (n: string, ids: readonly string[]): TrustSignerJson => {
    const s: TrustSignerJson = {};
    if (n !== '') s.Name = n;
    const keys = ids.map((id) => (id === '' ? {} : { ID: id }));
    if (keys.length > 0) s.Keys = keys;
    return s;
  };
  const signers = [...d.signers].map(([n, ids]) => signer(n, ids)).sort((a, b) => ((a.Name ?? '') > (b.Name ?? '') ? -1 : (a.Name ?? '') < (b.Name ?? '') ? 1 : 0));
  return {
    Name: name,
    SignedTags: d.rows.map((r) => ({ SignedTag: r.tag, Digest: r.digest, Signers: r.signers.length === 0 ? [REPO_ADMIN] : [...r.signers] })),
    Signers: signers,
    // Sorted by name descending: Root before Repository.
    AdministrativeKeys: [signer('Root', d.rootKeyIds), signer('Repository', d.targetsKeyIds)],
  };
}

/** Go's json.Marshal of a plain value (strings escaped as encoding/json does), indented as json.Indent(4). */
export function goIndentJson(v: unknown, indent = '    ', level = 0): string {
  const pad = indent.repeat(level + 1);
  const end = indent.repeat(level);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => pad + goIndentJson(x, indent, level + 1)).join(',\n')}\n${end}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${pad}${goJsonString(k)}: ${goIndentJson(x, indent, level + 1)}`).join(',\n')}\n${end}}`;
}

/** docker's inspect output: `[]` when nothing succeeded, else the indented array; then a newline. */
export function inspectJson(repos: readonly TrustRepoJson[]): string {
  if (repos.length === 0) return '[]\n';
  return goIndentJson(repos) + '\n';
}

// ---------------------------------------------------------------------------------------------
// --pretty

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Go text/tabwriter as docker's formatter configures it (10, 1, 3, ' ', 0); rows of equal length. */
export function dockerTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? 10, runeCount(cell) + 3);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - runeCount(cell)))).join('') + '\n').join('');
}

/** docker's TruncateID: drop an `algo:` prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** One argument of `inspect --pretty`. */
export function prettyInspect(name: string, d: InspectData): string {
  let out = '';
  if (d.rows.length > 0) {
    out += `\nSignatures for ${name}\n\n`;
    const rows = d.rows.map((r) => {
      const signers = r.signers.length === 0 ? [`(${REPO_ADMIN})`] : [...r.signers].sort(byteCompare);
      return [r.tag, r.digest, signers.join(', ')];
    });
    out += dockerTable([['SIGNED TAG', 'DIGEST', 'SIGNERS'], ...rows]);
  } else {
    out += `\nNo signatures for ${name}\n\n`;
  }
  if (d.signers.size > 0) {
    out += `\nList of signers and their keys for ${name}\n\n`;
    const rows = [...d.signers]
      .sort(([a], [b]) => naturalCompare(a, b))
      .map(([n, ids]) => [n, [...ids].sort(byteCompare).map(truncateId).join(', ')]);
    out += dockerTable([['SIGNER', 'KEYS'], ...rows]);
  }
  out += `\nAdministrative keys for ${name}\n\n`;
  out += `  Repository Key:\t${[...d.targetsKeyIds].sort(byteCompare).join(', ')}\n`;
  out += `  Root Key:\t${[...d.rootKeyIds].sort(byteCompare).join(', ')}\n`;
  return out;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
