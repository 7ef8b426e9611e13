"""Only ``reconciler/kube/`` builds Kubernetes API paths: everywhere else names a kind, and the client layer (its
resource registry, :mod:`reconciler.kube.resources`) knows where that kind lives."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
API_PREFIXES = ("/api/v1", "/apis/")
KNOWN_EXCEPTIONS: set[str] = set()  # modules outside kube/ allowed to spell a path: none


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants: prose may mention a path, only code builds one."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def api_paths(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string literal in ``source`` (f-string parts included) that spells an API path."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
            and any(prefix in node.value for prefix in API_PREFIXES)]


def test_the_scan_finds_paths_in_plain_and_formatted_strings_but_not_in_docstrings() -> None:
    source = ('"""Talks to /api/v1/namespaces."""\n'
              'EVENTS = "/api/v1/namespaces/default/events"\n'
              'def lease(ns: str) -> str:\n'
              '    """GETs /apis/coordination.k8s.io/v1/..."""\n'
              '    return f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/x"\n')
    assert api_paths(source) == [(2, "/api/v1/namespaces/default/events"),
                                 (5, "/apis/coordination.k8s.io/v1/namespaces/")]


def test_no_module_outside_kube_builds_an_api_path() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("kube/") or relative in KNOWN_EXCEPTIONS:
            continue
        literals = api_paths(path.read_text(encoding="utf-8"))
        if literals:
            found[relative] = literals
    assert found == {}, ("API paths built outside reconciler/kube/ (name a Resource of reconciler.kube.resources and "
                         f"let the client build the path): {found}")


def test_inside_kube_every_path_comes_from_the_resource_registry() -> None:
    found = {}
    for path in sorted((PACKAGE / "kube").rglob("*.py")):
        if path.name != "resources.py":
            literals = api_paths(path.read_text(encoding="utf-8"))
            if literals:
                found[path.name] = literals
    assert found == {}, f"API paths spelled beside reconciler/kube/resources.py (add a Resource there): {found}"
