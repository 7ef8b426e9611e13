"""One file's text -> its documents and errors; a document that cannot be read is left out, the next one is read."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import yaml

from reconciler.config.located import Document, LocatedDict
from reconciler.config.yaml_reader import Reader, Refused
from reconciler.config.yaml_tags import Loader
from reconciler.errors import ConfigError, Location


def _document(node: yaml.Node, path: str, loader: yaml.SafeLoader, digest: bytes,
              merges: bool = True) -> tuple[Document | None, list[ConfigError]]:
    reader = Reader(path, loader, merges)
    try:
        body = reader.value(node)
    except Refused as refused:
        return None, [refused.error()]
    except RecursionError:
        return None, [ConfigError(reader.location(node), "", "document is nested too deeply to read safely")]
    if not isinstance(body, LocatedDict):
        return None, [ConfigError(reader.location(node), "", "a document must be a mapping with apiVersion, kind, "
                                  "metadata and spec")]
    return Document(body, body.location, digest), reader.errors


def parse_documents(text: str, path: str) -> tuple[list[Document], list[ConfigError]]:
    """Parse one file's text into documents and errors.

    A document that cannot be read is left out and the next one is read; a YAML syntax error stops the file.
    """
    documents, errors, _ = parse_file(text, path)
    return documents, errors


class ParsedFile(NamedTuple):
    documents: list[Document]
    errors: list[ConfigError]
    complete: bool  # false when a document could not be read: names it defines may be missing


def parse_file(text: str, path: str) -> ParsedFile:
    """Like :func:`parse_documents`, and whether every document of the file was read (for LoadResult.unread)."""
    documents: list[Document] = []
    errors: list[ConfigError] = []
    complete = True
    # The whole file's text and the document's place in it: a change anywhere in a file is a change of each of its
    # documents (their lines may have moved), and nothing else is.
    file_digest = hashlib.blake2b(f"{path}\0{text}".encode(), digest_size=16)
    loader = Loader(text)
    # A merge key is the plain scalar "<<" or a node tagged explicitly (every tag is written with a "!"): without
    # either in the text, no mapping of the file needs its pairs checked for one.
    merges = "<<" in text or "!" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
                continue  # an empty document, e.g. after a trailing "---"
            digest = file_digest.copy()
            digest.update(node.start_mark.line.to_bytes(8, "big"))  # one document starts on each line at most
            document, document_errors = _document(node, path, loader, digest.digest(), merges)
            errors.extend(document_errors)
            if document is None:
                complete = False
            else:
                documents.append(document)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        errors.append(ConfigError(where, "", f"YAML syntax error: {problem}"))
        complete = False
    except yaml.reader.ReaderError as exc:
        errors.append(_unreadable_character(text, path, exc))
        complete = False
    except yaml.YAMLError as exc:
        errors.append(ConfigError(Location(path, 1), "", f"YAML error: {' '.join(str(exc).split())}"))
        complete = False
    except RecursionError:
        errors.append(ConfigError(Location(path, 1), "", "document is nested too deeply to read safely"))
        complete = False
    finally:
        loader.dispose()
    return ParsedFile(documents, errors, complete)


def _unreadable_character(text: str, path: str, exc: yaml.reader.ReaderError) -> ConfigError:
    """YAML refuses control characters; name the one found, and where, on one line."""
    position = max(0, min(exc.position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    where = Location(path, text.count("\n", 0, position) + 1, position - line_start + 1)
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return ConfigError(where, "", f"control character U+{code:04X} is not allowed in YAML; remove it (inside "
                       f"double quotes it can be written as \\u{code:04x})")
