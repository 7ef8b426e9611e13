"""The controller's reader of a commit's repository parses only the documents whose text or lines changed, and reads
exactly what ``load_repository`` reads: documents, every line and column, errors and unread files, checked over a
sequence of random edits that also break the YAML, move lines and use what the cut cannot (directives, other line
breaks)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from reconciler import config
from reconciler.config import parse
from reconciler.config.load import LoadResult, load_repository
from reconciler.config.located import LocatedDict, LocatedList
from reconciler.controller.documents import Documents
from reconciler.errors import InvalidRepository
from tests.unit.edits import ENVIRONMENT, PLATFORM, PROFILE, TEAM

ENVIRONMENTS = 30


def _environment(i: int, gpu: int) -> str:
    return "---\n" + ENVIRONMENT.format(i=i, profile="small", cluster=("east", "west")[i % 2], gpu=gpu,
                                        team="vision", role="view")


def _files() -> dict[str, list[str]]:
    """Each file as its documents' texts, so an edit changes one of them."""
    return {
        "platform.yaml": [PLATFORM.format(control="polyaxon", pool="cpu")],
        "shared.yaml": ["---\n" + TEAM.format(name="vision", version=1),
                        "---\n" + PROFILE.format(name="small", cpu=8, network="isolated", patch=1)],
        "environments.yaml": [_environment(i, 1) for i in range(ENVIRONMENTS)],
    }


BREAKS = ["  broken: [unclosed\n", "\tkey: tab\n", "%YAML 1.1\n", "...\n", "# a comment\n", "--- # a marker\n",
          "spec: {twice: 1}\n", "extra: \"line\\\none\"\n", "\r\n", "name: \u2028\n"]


def _edit(files: dict[str, list[str]], rng: random.Random) -> None:
    texts = files["environments.yaml"]
    index = rng.randrange(len(texts))
    kind = rng.choice(["value", "value", "insert", "remove", "break", "restore", "shared"])
    if kind == "value":
        texts[index] = texts[index].replace(f"gpu: {texts[index].split('gpu: ')[1][0]}", f"gpu: {rng.randint(0, 9)}")
    elif kind == "insert":
        texts.insert(index, _environment(100 + rng.randrange(900), 2))
    elif kind == "remove" and len(texts) > 1:
        del texts[index]
    elif kind == "break":
        lines = texts[index].splitlines(keepends=True)
        lines.insert(rng.randrange(1, len(lines)), rng.choice(BREAKS))
        texts[index] = "".join(lines)
    elif kind == "restore":
        texts[index] = _environment(200 + index, 3)
    else:
        shared = files["shared.yaml"]
        shared[1] = shared[1].replace("cpu: \"", f"cpu: \"{rng.randint(1, 9)}")


def _write(root: Path, files: dict[str, list[str]]) -> None:
    for name, texts in files.items():
        (root / name).write_bytes("".join(texts).encode())


def _deep(value: Any) -> Any:
    """A value with every location it remembers, to compare two reads line by line."""
    if isinstance(value, LocatedDict):
        return ("map", value.location, tuple((k, value.where(k), _deep(v)) for k, v in value.items()))
    if isinstance(value, LocatedList):
        return ("list", value.location, tuple((value.where(i), value.origin(i), _deep(v))
                                              for i, v in enumerate(value)))
    return value


def _shown(loaded: LoadResult) -> tuple[Any, ...]:
    return ([(_deep(d.body), d.location) for d in loaded.documents], [str(e) for e in loaded.errors],
            loaded.files, loaded.unread)


def test_reading_with_reuse_reads_what_load_repository_reads_over_random_edits(tmp_path: Path) -> None:
    rng = random.Random(4)
    files = _files()
    documents = Documents()
    valid = invalid = 0
    for _ in range(120):
        _write(tmp_path, files)
        reused = documents.load(tmp_path)
        fresh = load_repository(tmp_path)
        assert _shown(reused) == _shown(fresh)
        try:
            landscape = config.landscape_from(fresh, results=None)
        except InvalidRepository:
            invalid += 1
        else:
            assert config.landscape_from(reused) == landscape
            valid += 1
        _edit(files, rng)
    assert valid > 10 and invalid > 10  # both kinds of revision were read


def test_only_changed_documents_are_parsed_again(tmp_path: Path, monkeypatch: Any) -> None:
    files = _files()
    _write(tmp_path, files)
    documents = Documents()
    documents.load(tmp_path)
    parsed: list[str] = []
    real = parse.parse_file

    def counting(text: str, path: str) -> Any:
        parsed.append(text.strip().splitlines()[-1])
        return real(text, path)

    monkeypatch.setattr(parse, "parse_file", counting)
    files["environments.yaml"][7] = _environment(7, 5)  # one line of one document
    _write(tmp_path, files)
    documents.load(tmp_path)
    assert parsed == ["  access: [{team: vision, role: view}]"]  # the one document changed, nothing else
