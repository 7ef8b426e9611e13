"""The pipeline's layers: only reconciler/kube talks to the Kubernetes API; the pure stages import no client."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
PURE = ("config", "render", "plan.py", "policy.py", "diff.py", "windows.py", "quantity.py", "inventory.py",
        "quota.py", "statuspage.py", "statuspage_parts.py", "statuspage_detail.py", "status_text.py",
        "prometheus_text.py", "target_metrics.py", "rolecheck.py", "kueue_plan.py", "kueue_usage.py")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_kube_package_imports_the_kubernetes_client() -> None:
    offenders = [
        str(path.relative_to(PACKAGE)) for path in _modules()
        if "kube" not in path.relative_to(PACKAGE).parts[:1]
        and any(name == "kubernetes" or name.startswith("kubernetes.") for name in _imports(path))
    ]
    assert offenders == []


def test_pure_stages_import_neither_the_client_nor_the_kube_package() -> None:
    offenders = []
    for path in _modules():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] not in PURE:
            continue
        for name in _imports(path):
            if name.startswith(("kubernetes", "reconciler.kube", "reconciler.converge", "urllib3")):
                offenders.append(f"{relative}: {name}")
    assert offenders == []
