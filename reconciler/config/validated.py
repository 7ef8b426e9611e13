"""Schema results by document content: a revision validates only the documents that changed since the last ones.

The controller validates every commit of the branch and ``diff`` two revisions, mostly of the same files. A
document's schema errors depend only on its content and lines, which its digest names, so they are kept by digest
for the documents of the last two landscapes (the previous commit's, or a pull request's base and head) and
forgotten after: memory stays that of two revisions, however many commits the controller sees.
"""

from __future__ import annotations

import threading

from reconciler.config.located import Document
from reconciler.config.schema import validate_document
from reconciler.errors import ConfigError


class SchemaResults:
    """Schema errors by document digest, for the documents of the current and the previous generation."""

    def __init__(self) -> None:
        self._current: dict[bytes, tuple[ConfigError, ...]] = {}
        self._previous: dict[bytes, tuple[ConfigError, ...]] = {}
        self._lock = threading.Lock()

    def new_generation(self) -> None:
        """Start a landscape: what the one before last used and the last did not is forgotten."""
        with self._lock:
            self._previous, self._current = self._current, {}

    def errors(self, document: Document) -> list[ConfigError]:
        if not document.digest:
            return validate_document(document)
        with self._lock:
            known = self._current.get(document.digest)
            if known is None:
                known = self._previous.get(document.digest)
        if known is None:
            known = tuple(validate_document(document))
        with self._lock:
            self._current[document.digest] = known
        return list(known)

    def __len__(self) -> int:
        with self._lock:
            return len(self._current.keys() | self._previous.keys())


RESULTS = SchemaResults()  # shared by every landscape of the process
