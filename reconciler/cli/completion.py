"""``reconciler completion bash|zsh|fish``: a completion script generated from the parser itself, so a new command
or flag completes without anyone editing a script."""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish")

EPILOG = """\
examples:
  reconciler completion bash > /etc/bash_completion.d/reconciler
  source <(reconciler completion zsh)
  reconciler completion fish > ~/.config/fish/completions/reconciler.fish
"""


def _commands(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each command's long and short flags, read from the parser."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sorted({o for a in sub._actions for o in a.option_strings})
    return found


def _bash(commands: dict[str, list[str]]) -> str:
    cases = "".join(f"        {name}) flags=\"{' '.join(flags)}\" ;;\n" for name, flags in commands.items())
    return f"""# bash completion for reconciler
_reconciler() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} flags=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{' '.join(commands)} --help --version" -- "$cur"))
        return
    fi
    case "${{COMP_WORDS[1]}}" in
{cases}    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _reconciler reconciler
"""


def _zsh(commands: dict[str, list[str]]) -> str:
    # zsh runs bash completion functions through bashcompinit, which keeps one generator for both shells.
    return "#compdef reconciler\nautoload -U +X bashcompinit && bashcompinit\n" + _bash(commands)


def _fish(commands: dict[str, list[str]]) -> str:
    lines = ["# fish completion for reconciler", "complete -c reconciler -f"]
    names = " ".join(commands)
    lines.extend(f"complete -c reconciler -n 'not __fish_seen_subcommand_from {names}' -a {name}"
                 for name in commands)
    for name, flags in commands.items():
        for flag in flags:
            if flag.startswith("--"):
                lines.append(f"complete -c reconciler -n '__fish_seen_subcommand_from {name}' -l {flag[2:]}")
            else:
                lines.append(f"complete -c reconciler -n '__fish_seen_subcommand_from {name}' -s {flag[1:]}")
    return "\n".join(lines) + "\n"


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    commands = _commands(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](commands)
