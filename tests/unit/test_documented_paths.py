"""Every module, test and manifest the documentation names exists: README.md and docs/*.md point newcomers at files
by path (`reconciler/plan/changes.py`, `tests/integration/test_prune.py`, `deploy/admission-fence.yaml`), and a path
left behind by a move sends them nowhere. A document that names a moved file fails here, with its line."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# A path starts where no longer path does (`lib/reconciler/x.py` is not ours), may be written relative to docs/
# (`../reconciler/...`, as a Markdown link), and ends at `.py` or `.yaml` (a `::name` may follow). Labels such as
# `reconciler/environment` have no suffix and are not paths.
PATH = re.compile(r"(?<![\w./-])(?:\.\./)*((?:reconciler|tests|bench|testenv|deploy)/[\w./-]*?\.(?:py|yaml))"
                  r"(?:::(\w+))?(?![\w])")


def named_paths(text: str) -> list[tuple[int, str]]:
    """(line number, path) for every file of the repository (code, tests, benchmarks, manifests) a document names."""
    return [(number, match.group(1))
            for number, line in enumerate(text.splitlines(), start=1)
            for match in PATH.finditer(line)]


def named_functions(text: str) -> list[tuple[int, str, str]]:
    """(line number, path, name) for every `path.py::name` a document names (a test to run, a function to read)."""
    return [(number, match.group(1), match.group(2))
            for number, line in enumerate(text.splitlines(), start=1)
            for match in PATH.finditer(line) if match.group(2)]


def _defines(path: Path, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b|^{name}\s*[:=]", path.read_text(encoding="utf-8"),
                     re.MULTILINE) is not None


def test_the_pattern_finds_paths_as_the_documents_write_them() -> None:
    text = ("see `reconciler/plan/changes.py` and [prune](../tests/integration/test_prune.py)\n"
            "`reconciler/kube/connect.py::connect_landscape`, not lib/reconciler/x.py nor reconciler/environment\n"
            "`deploy/admission-fence.yaml`, `bench/scale.py`\n")
    assert named_paths(text) == [(1, "reconciler/plan/changes.py"), (1, "tests/integration/test_prune.py"),
                                 (2, "reconciler/kube/connect.py"), (3, "deploy/admission-fence.yaml"),
                                 (3, "bench/scale.py")]
    assert named_functions(text) == [(2, "reconciler/kube/connect.py", "connect_landscape")]


def test_the_documents_name_paths_at_all() -> None:
    # Guards the guard: if the pattern stopped matching, the test below would pass on nothing.
    named = [path for document in DOCUMENTS for _, path in named_paths(document.read_text(encoding="utf-8"))]
    assert len(named) > 20


def test_every_documented_path_exists() -> None:
    missing = [f"{document.relative_to(ROOT)}:{number}: {path}"
               for document in DOCUMENTS
               for number, path in named_paths(document.read_text(encoding="utf-8"))
               if not (ROOT / path).is_file()]
    assert not missing, ("these documents name files that do not exist; correct the path to where the code now "
                         "lives (or drop the mention):\n" + "\n".join(missing))


def test_every_documented_test_and_function_is_defined_where_the_document_says() -> None:
    # A renamed test leaves `pytest path::old_name` in a doc that then runs nothing ("no tests ran").
    missing = [f"{document.relative_to(ROOT)}:{number}: {path}::{name}"
               for document in DOCUMENTS
               for number, path, name in named_functions(document.read_text(encoding="utf-8"))
               if (ROOT / path).is_file() and not _defines(ROOT / path, name)]
    assert not missing, ("these documents name a test or function that its file does not define; use its current "
                         "name:\n" + "\n".join(missing))
