// `vaultgate completion bash|zsh|fish`: a completion script generated from the command tree itself.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { example } from '../options.js';
import { writeOut } from '../output.js';

interface Node {
  path: string;
  children: { name: string; description: string }[];
  options: string[];
}

/** Every command path with its subcommands and visible flags. */
export function commandTree(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (cmd: Command, path: string) => {
    const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    const options = cmd.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === 'string'));
    out.push({ path, children: visible.map((c) => ({ name: c.name(), description: c.description() })), options: [...options, '--help'] });
    for (const c of visible) walk(c, path === '' ? c.name() : `${path} ${c.name()}`);
  };
  walk(root, '');
  return out;
}

const fileFlags = ['--from-file', '--from_file', '-f', '--file', '--spec', '--new-key-file'];
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashScript(tree: Node[]): string {
  const children = tree.map((n) => `    ${quote(n.path)}) echo ${quote(n.children.map((c) => c.name).join(' '))} ;;`).join('\n');
  const options = tree.map((n) => `    ${quote(n.path)}) echo ${quote(n.options.join(' '))} ;;`).join('\n');
  return `# vaultgate bash completion. Load it with:  source <(vaultgate completion bash)
_vaultgate_children() {
  case "$1" in
${children}
  esac
}
_vaultgate_options() {
  case "$1" in
${options}
  esac
}
_vaultgate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmdpath="" w i
  case "$prev" in ${fileFlags.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;; esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -- ]] && return
    [[ "$w" == -* ]] && continue
    case " $(_vaultgate_children "$cmdpath") " in *" $w "*) cmdpath="\${cmdpath:+$cmdpath }$w" ;; esac
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_vaultgate_options "$cmdpath")" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(_vaultgate_children "$cmdpath")" -- "$cur") )
  fi
}
complete -o default -F _vaultgate vaultgate
`;
}

export function zshScript(tree: Node[]): string {
  const describe = (n: Node) => n.children.map((c) => quote(`${c.name}:${c.description.replace(/\s+/g, ' ')}`)).join(' ');
  const children = tree.map((n) => `    ${quote(n.path)}) cmds=(${describe(n)}) ;;`).join('\n');
  const options = tree.map((n) => `    ${quote(n.path)}) opts=(${n.options.map(quote).join(' ')}) ;;`).join('\n');
  return `#compdef vaultgate
# vaultgate zsh completion. Load it with:  source <(vaultgate completion zsh)
# (or save it as _vaultgate in a directory of your $fpath)
_vaultgate() {
  local -a cmds opts names
  local cmdpath="" w i
  case "\${words[CURRENT-1]}" in ${fileFlags.join('|')}) _files; return ;; esac
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ "$w" == -- ]] && return
    [[ "$w" == -* ]] && continue
    _vaultgate_tree "$cmdpath"
    names=(\${cmds%%:*})
    (( \${names[(Ie)$w]} )) && cmdpath="\${cmdpath:+$cmdpath }$w"
  done
  _vaultgate_tree "$cmdpath"
  if [[ "$PREFIX" == -* ]]; then
    compadd -- $opts
  else
    _describe -t commands 'vaultgate command' cmds
  fi
}
_vaultgate_tree() {
  cmds=() opts=()
  case "$1" in
${children}
  esac
  case "$1" in
${options}
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautoload ]]; then
  _vaultgate "$@"
else
  compdef _vaultgate vaultgate
fi
`;
}

/** fish's single quotes: only \\ and \' are special. */
const fishQuote = (s: string) => `'${s.replace(/[\\']/g, '\\$&')}'`;

/** One `complete` line per subcommand and per flag, each guarded by the command path typed so far. */
export function fishScript(tree: Node[]): string {
  const children = tree.filter((n) => n.children.length > 0).map((n) => `        case ${fishQuote(n.path)}\n            printf '%s\\n' ${n.children.map((c) => fishQuote(c.name)).join(' ')}`).join('\n');
  const lines: string[] = [];
  for (const n of tree) {
    const at = `-n ${fishQuote(`__vaultgate_at ${fishQuote(n.path)}`)}`;
    for (const c of n.children) lines.push(`complete -c vaultgate -f ${at} -a ${fishQuote(c.name)} -d ${fishQuote(c.description.replace(/\s+/g, ' '))}`);
    for (const o of n.options) {
      const flag = o.startsWith('--') ? `-l ${fishQuote(o.slice(2))}` : `-s ${fishQuote(o.slice(1))}`;
      lines.push(`complete -c vaultgate ${at} ${flag}${fileFlags.includes(o) ? ' -r -F' : ''}`);
    }
  }
  return `# vaultgate fish completion. Load it with:  vaultgate completion fish | source
# (or save it as ~/.config/fish/completions/vaultgate.fish)
function __vaultgate_children
    switch $argv[1]
${children}
    end
end
# The command path typed so far: the words that name subcommands, flags and their values left out.
function __vaultgate_path
    set -l path ''
    for w in (commandline -opc)[2..-1]
        # After --, the words belong to the command \`run\` starts: no path matches (fish completes files).
        string match -q -- '--' $w; and begin; printf '%s\\n' --; return; end
        string match -q -- '-*' $w; and continue
        contains -- $w (__vaultgate_children $path); and set path (string trim -- "$path $w")
    end
    echo $path
end
function __vaultgate_at
    set -l p (__vaultgate_path)
    test "x$p" = "x$argv[1]"
end
complete -c vaultgate -e
${lines.join('\n')}
`;
}

export function registerCompletionCommand(program: Command): void {
  const cmd = program.command('completion <shell>').description('print a completion script for bash, zsh or fish');
  example(
    cmd,
    'source <(vaultgate completion bash)        # in ~/.bashrc',
    'source <(vaultgate completion zsh)         # in ~/.zshrc',
    'vaultgate completion fish | source         # in ~/.config/fish/config.fish',
  ).action((shell: string) => {
    const tree = commandTree(program);
    if (shell === 'bash') writeOut(bashScript(tree));
    else if (shell === 'zsh') writeOut(zshScript(tree));
    else if (shell === 'fish') writeOut(fishScript(tree));
    else throw new UsageError('completion supports bash, zsh and fish');
  });
}
