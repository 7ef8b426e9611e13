"""The README's benchmark tables: each benchmark rewrites the text between its pair of markers, headed by the
command that measured it, as a shell would type it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def rewrite(name: str, text: str) -> None:
    """Replace what stands between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` with ``text``."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    readme = README.read_text()
    if begin not in readme or end not in readme:
        raise SystemExit(f"{README}: no {begin} ... {end} section to rewrite; add the two markers where the table goes")
    command = f"python bench/{Path(sys.argv[0]).name} {shlex.join(sys.argv[1:])}"
    start, stop = readme.index(begin) + len(begin), readme.index(end)
    README.write_text(f"{readme[:start]}\nMeasured with `{command}`:\n\n{text}\n{readme[stop:]}")
