// Shell completion (issue 18 item 1). The scripts for bash, zsh and fish are thin: on TAB they run
// `<program> __complete WORD...` (the words after the program name, the last one being completed)
// and offer what it prints, one candidate a line; a first line `:file` or `:dir` asks the shell
// for its own file or directory completion. The candidates are read from the command tree, so a
// command, flag or argument added anywhere completes without an edit here; GUNs, roles and key
// IDs come from the trust directory the words name (-d, -c) or the default one.

import type { Command, Option } from 'commander';
import type { GlobalFlags } from '../config/config.js';
import { gunsIn, keyIdsIn, rolesOf } from '../client/names.js';
import { argumentNames } from './help.js';

export type Kind = 'gun' | 'role' | 'keyid' | 'file' | 'dir' | 'none' | { choices: string[] };

export interface Candidates {
  /** `file`/`dir`: let the shell complete paths. */
  shell?: 'file' | 'dir';
  words: string[];
}

/** Where names come from: resolved lazily, only when a GUN, role or key ID is completed. */
export interface NameSource {
  guns(): string[];
  roles(gun: string | undefined): string[];
  keyIds(): string[];
}

function chain(cmd: Command): Command[] {
  const out: Command[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) out.push(c);
  return out;
}

function findOption(cmd: Command, word: string): Option | undefined {
  const flag = word.split('=')[0]!;
  for (const c of chain(cmd)) {
    const o = c.options.find((x) => x.short === flag || x.long === flag);
    if (o !== undefined) return o;
  }
  return undefined;
}

const takesValue = (o: Option): boolean => o.required || o.optional;

/** What the value of a flag is, from its attribute and placeholder (`-r, --roles <roles>`). */
export function valueKind(o: Option): Kind {
  const p = (/[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '').toLowerCase();
  const a = o.attributeName().toLowerCase();
  if (a === 'trustdir' || p === 'dir' || p.endsWith(' dir')) return 'dir';
  if (a === 'roles' || p.includes('role')) return 'role';
  if (p.includes('keyid') || p === 'id') return 'keyid';
  if (p.includes('gun')) return 'gun';
  if (/file|path|cert|pem|module/.test(`${p} ${a}`)) return 'file';
  return 'none';
}

/** What each positional argument is, from the argument names (`GUN TARGET FILE`). */
export function argumentKinds(cmd: Command): { kinds: Kind[]; repeatLast: boolean } {
  const names = argumentNames(cmd).split(' ').filter((n) => n !== '');
  const kinds = names.map((n): Kind => {
    const w = n.replace(/\.\.\.$/, '').replace(/\[.*$/, '');
    if (w.includes('|')) return { choices: w.split('|') };
    if (w === 'GUN' || w.startsWith('IMAGE') || w.startsWith('REPOSITORY')) return 'gun';
    if (w === 'ROLE' || w.endsWith('-ROLE')) return 'role';
    if (w === 'KEYID') return 'keyid';
    if (w === 'ALGORITHM') return { choices: ['ecdsa', 'rsa'] };
    if (/FILE|PATH|PEM/.test(w)) return 'file';
    return 'none';
  });
  const last = names[names.length - 1] ?? '';
  return { kinds, repeatLast: last.endsWith('...') || last.endsWith('...]') };
}

function visibleCommands(cmd: Command): Command[] {
  return cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden);
}

function flagsOf(cmd: Command): string[] {
  const out: string[] = [];
  for (const c of chain(cmd)) for (const o of c.options) if (!o.hidden) out.push(...[o.long, o.short].filter((f): f is string => f !== undefined));
  out.push('--help');
  return [...new Set(out)];
}

/** The candidates for the last of `words` (the words after the program name). */
export function complete(program: Command, words: readonly string[], names: NameSource): Candidates {
  const cur = words[words.length - 1] ?? '';
  let node = program;
  const pos: string[] = [];
  let i = 0;
  let pending: Option | undefined;
  for (; i < words.length - 1; i++) {
    const w = words[i]!;
    pending = undefined;
    if (w === '--') {
      pos.push(...words.slice(i + 1, -1));
      break;
    }
    if (w.startsWith('-') && w !== '-') {
      const o = findOption(node, w);
      if (o !== undefined && takesValue(o) && !w.includes('=')) {
        if (i + 1 < words.length - 1) i++;
        else pending = o;
      }
      continue;
    }
    const sub = pos.length === 0 ? visibleCommands(node).find((c) => c.name() === w) : undefined;
    if (sub !== undefined) node = sub;
    else pos.push(w);
  }
  const only = (list: string[]): Candidates => ({ words: list.filter((x) => x.startsWith(cur)) });
  const of = (kind: Kind): Candidates => {
    if (typeof kind === 'object') return only(kind.choices);
    if (kind === 'file' || kind === 'dir') return { shell: kind, words: [] };
    if (kind === 'gun') return only(names.guns());
    if (kind === 'role') return only(names.roles(pos[0]));
    if (kind === 'keyid') return only(names.keyIds());
    return { words: [] };
  };
  if (pending !== undefined) return of(valueKind(pending));
  if (cur.startsWith('-')) return only(flagsOf(node));
  const subs = visibleCommands(node);
  if (pos.length === 0 && subs.length > 0) return only(subs.map((c) => c.name()));
  const { kinds, repeatLast } = argumentKinds(node);
  const kind = kinds[pos.length] ?? (repeatLast ? kinds[kinds.length - 1] : undefined);
  return of(kind ?? 'none');
}

/** The global flags among `words` that choose the trust directory. */
export function trustDirFlags(words: readonly string[]): Pick<GlobalFlags, 'trustDir' | 'configFile'> {
  const out: { trustDir?: string; configFile?: string } = {};
  for (let i = 0; i < words.length - 1; i++) {
    const m = /^(-d|--trustDir|-c|--configFile)(?:=(.*))?$/s.exec(words[i]!);
    if (!m) continue;
    const value = m[2] ?? words[i + 1];
    if (value === undefined) continue;
    if (m[1] === '-d' || m[1] === '--trustDir') out.trustDir = value;
    else out.configFile = value;
  }
  return out;
}

/** Names from a trust directory, read once each. */
export function trustDirNames(trustDir: () => Promise<string | undefined>): Promise<NameSource> {
  return trustDir().then((dir) => ({
    guns: () => (dir === undefined ? [] : gunsIn(dir)),
    roles: (gun) => (dir === undefined ? rolesOf('/nonexistent', undefined) : rolesOf(dir, gun)),
    keyIds: () => (dir === undefined ? [] : keyIdsIn(dir)),
  }));
}

/** What `__complete` prints. */
export function formatCandidates(c: Candidates): string {
  return (c.shell !== undefined ? `:${c.shell}\n` : '') + c.words.map((w) => `${w}\n`).join('');
}

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** The script a shell loads; `name` is the program name the completion is registered for. */
export function completionScript(shell: Shell, name: string): string {
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  if (shell === 'bash') {
    return `# bash completion for ${name}. Load it in ~/.bashrc with:
#   source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out
  out=$(${name} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  case "$out" in
    :file*) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    :dir*) compopt -o dirnames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) local IFS=$'\\n'; COMPREPLY=($out) ;;
  esac
}
complete -F ${fn} ${name}
`;
  }
  if (shell === 'zsh') {
    return `#compdef ${name}
# zsh completion for ${name}. Load it in ~/.zshrc (after compinit) with:
#   source <(${name} completion zsh)
# or save it as _${name} in a directory of $fpath.
${fn}() {
  local -a out
  out=("\${(@f)$(${name} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  case "\${out[1]}" in
    :file) _files ;;
    :dir) _files -/ ;;
    *) compadd -Q -a out ;;
  esac
}
if [ "\${funcstack[1]}" = "_${name}" ]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
  }
  return `# fish completion for ${name}. Load it with:
#   ${name} completion fish > ~/.config/fish/completions/${name}.fish
function ${fn}
    set -l words (commandline -opc) (commandline -ct)
    set -l out (${name} __complete $words[2..-1] 2>/dev/null)
    switch "$out[1]"
        case :file
            __fish_complete_path (commandline -ct)
        case :dir
            __fish_complete_directories (commandline -ct)
        case '*'
            printf '%s\\n' $out
    end
end
complete -c ${name} -f -a '(${fn})'
`;
}
