"""``reconciler validate [PATH...]``: a repository folder, or the files and folders a pre-commit hook passes.

Named files are validated as part of their whole repository (references cross files: a Team renamed in one file
breaks the Environment in another), found as the nearest folder above them that holds a ``.reconcilerignore``, else
the top of their git work tree, unless ``--repo`` says where it is."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from reconciler import config
from reconciler.cli import flags as cli_flags
from reconciler.cli import guardrails as guardrails_cli
from reconciler.config.ignore import IGNORE_FILE, Ignored
from reconciler.errors import ReconcilerError

EPILOG = """\
examples:
  reconciler validate sample-repo
  reconciler validate sample-repo/environments/prod.yaml sample-repo/teams   # files and folders
  reconciler validate --repo sample-repo sample-repo/environments/prod.yaml

pre-commit (.pre-commit-config.yaml of the environments repository):
  - repo: local
    hooks:
      - {id: reconciler, name: reconciler validate, entry: reconciler validate, language: system, files: '\\.ya?ml$'}
"""


def add_command(commands: cli_flags.Commands) -> None:
    validate = commands.add_parser(
        "validate", help="check the repository: YAML, schemas, references, semantic checks, policy",
        description="Check every *.yaml/*.yml file of the repository (less what its .reconcilerignore excludes, in "
        "gitignore syntax) and report all errors as path:line: field: message. Given files, check the repository "
        "they belong to. Exit 0 when valid, 1 otherwise.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                          help="the repository folder, or files and folders inside it (default: .)")
    validate.add_argument("--repo", type=Path, default=None, metavar="DIR",
                          help="the repository the named files belong to (default: found from the files)")
    guardrails_cli.add_argument(validate)
    validate.set_defaults(handler=run)


def _git_top(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def repository_of(paths: list[Path]) -> Path:
    """The repository that holds ``paths``: a single folder is one; files belong to the nearest folder above
    them that has a .reconcilerignore, else to their git work tree's top, else to their common folder."""
    if len(paths) == 1 and not paths[0].is_file():
        return paths[0]  # a folder, or a missing one that loading reports as it always has
    for path in paths:
        if not path.exists():
            raise ReconcilerError(f"{path}: no such file or folder; pass files of the environments repository")
    common = Path(os.path.commonpath([p.resolve() if p.is_dir() else p.resolve().parent for p in paths]))
    for folder in (common, *common.parents):
        if (folder / IGNORE_FILE).is_file():
            return folder
    return _git_top(common) or common


def _named_but_skipped(root: Path, paths: list[Path]) -> list[str]:
    ignored = Ignored(root.resolve())
    skipped = []
    for path in paths:
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise ReconcilerError(f"{path}: not inside the repository {root}; pass --repo DIR or files inside "
                                  "it") from None
        if relative != "." and (ignored.folder(relative) if path.is_dir() else ignored.file(relative)):
            skipped.append(f"{path}: not checked, {root / IGNORE_FILE} excludes it")
    return skipped


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths or [Path(".")]
    root = args.repo or repository_of(paths)
    args.repo = root  # errors are reported against the repository, as for every other command
    for note in _named_but_skipped(root, paths):
        print(note, file=sys.stderr)
    landscape = config.load_landscape(root, guardrails_cli.offline(args))
    print(f"{root}: valid: {landscape.summary()}")
    return 0
