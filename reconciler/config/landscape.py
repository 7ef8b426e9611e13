"""The environments repository as a whole: load, validate against the schemas, resolve into a typed landscape."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.gcpause import without_cyclic_gc
from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.load import LoadResult, load_repository
from reconciler.config.model import Landscape
from reconciler.config.resolve import resolve
from reconciler.config.resolve_memo import ResolveMemo
from reconciler.config.schema import expect, validate_document
from reconciler.config.validated import RESULTS, SchemaResults
from reconciler.errors import InvalidRepository, ReconcilerError


class RepositoryNotFound(ReconcilerError):
    """The path given as the environments repository is not a directory, or holds no documents."""


@without_cyclic_gc
def landscape_from(loaded: LoadResult, guardrails: Guardrails = DEFAULT_GUARDRAILS,
                   results: SchemaResults | None = RESULTS, memo: ResolveMemo | None = None) -> Landscape:
    """Validate and resolve loaded documents; raises InvalidRepository with every error found. ``results`` keeps
    schema results of unchanged documents between landscapes (None: every document is validated afresh), and
    ``memo`` the environments resolved (None: every environment is resolved afresh)."""
    errors = list(loaded.errors)
    valid = []
    broken: set[tuple[str, str]] = set()
    if results is not None:
        results.new_generation()
    validate = validate_document if results is None else results.errors
    expect(loaded.documents)
    for document in loaded.documents:
        document_errors = validate(document)
        errors.extend(document_errors)
        if document_errors:
            broken.add((document.kind, document.name))
        else:
            valid.append(document)
    landscape, reference_errors = resolve(valid, loaded.files, broken, all_read=not loaded.unread,
                                         guardrails=guardrails, memo=memo)
    errors.extend(reference_errors)
    if errors:
        raise InvalidRepository(errors)
    return landscape


@without_cyclic_gc
def load_landscape(root: Path, guardrails: Guardrails = DEFAULT_GUARDRAILS) -> Landscape:
    """Read, validate and resolve the environments repository at ``root``."""
    if not root.is_dir():
        raise RepositoryNotFound(f"{root}: no such directory; pass the path of an environments repository")
    loaded = load_repository(root)
    if not loaded.documents and not loaded.errors:
        raise RepositoryNotFound(f"{root}: no documents in *.yaml or *.yml files; pass the path of an environments "
                                 "repository (such as sample-repo)")
    return landscape_from(loaded, guardrails)
