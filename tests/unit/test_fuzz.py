"""Seeded random mutations of sample-repo: ``validate`` and ``render`` never crash or hang, and every error is one
line that starts with ``path:line`` (a line the file has).

A few hundred mutations run in every test run (a few seconds). A longer run:
``RECONCILER_FUZZ=20000 RECONCILER_FUZZ_SEED=7 pytest tests/unit/test_fuzz.py``. A failure names the seed and the
mutation, which replays it exactly.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from reconciler.config import load_landscape
from reconciler.errors import InvalidRepository
from reconciler.render import output, render_landscape
from tests.unit.conftest import SAMPLE_REPO

MUTATIONS = int(os.environ.get("RECONCILER_FUZZ", "300"))
SEED = int(os.environ.get("RECONCILER_FUZZ_SEED", "10"))
SECONDS_PER_MUTATION = 10
ERROR_LINE = re.compile(r'^(?P<path>"(?:[^"\\]|\\.)*"|[^\s:"][^:\n]*):(?P<line>\d+)(?::\d+)?: \S[^\n]*$')

SCALARS = ["0", "-1", "1e999", "1.5", "true", "no", "null", "~", "''", '""', "[]", "{}", "'x'", "0x1F", "0o17",
           ".nan", "-.inf", "2025-01-01", "12:30:00", "'1Gi'", "500m", "4Gi", "-4Gi", "1e3", "1E", "∞", "'\\t'",
           "\"\\x01\"", "\"\\u0000\"", "x" * 70_000, "[a, [b, [c]]]", "{a: {b: {c: d}}}", "*undefined", "&a x",
           "!!bool maybe", '!!bool ""', '!!int ""', '!!float ""', "!!int 0b2", "!!binary aGk=", "!!timestamp 5",
           "!!set {a: null}", "!!omap [{a: 1}]", "!!python/object:os.system x", "!custom x", "!!str", "!!null x",
           "!!map {a: 1}", "!!seq [1]", "|\n  block", ">-\n  folded", "'" + "y" * 300_000 + "'"]


def _line_mutations(rng: random.Random) -> list[Callable[[list[str]], list[str]]]:
    def replace_value(lines: list[str]) -> list[str]:
        index = rng.randrange(len(lines))
        head, colon, _ = lines[index].partition(": ")
        lines[index] = f"{head}: {rng.choice(SCALARS)}" if colon else f"{lines[index]} {rng.choice(SCALARS)}"
        return lines

    def drop_line(lines: list[str]) -> list[str]:
        del lines[rng.randrange(len(lines))]
        return lines

    def duplicate_line(lines: list[str]) -> list[str]:
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
        return lines

    def reindent(lines: list[str]) -> list[str]:
        index = rng.randrange(len(lines))
        lines[index] = rng.choice(["", " ", "  ", "\t", "      "]) + lines[index].lstrip()
        return lines

    def anchors(lines: list[str]) -> list[str]:
        index = rng.randrange(len(lines))
        head, colon, value = lines[index].partition(": ")
        if colon:
            lines[index] = f"{head}: &x {value}"
            lines.insert(min(len(lines), index + rng.randrange(1, 6)), rng.choice(
                ["  copy: *x", "  <<: *x", "- *x", "  spec: *x", "  <<: [*x, *x]", "  y: &x *x"]))
        return lines

    def bomb(lines: list[str]) -> list[str]:
        bomb_lines = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
        return ["---", "apiVersion: reconciler.dev/v1alpha1", "kind: Team", "metadata: {name: bomb}", *bomb_lines,
                "spec: {users: *h}", "---", *lines]

    def splice(lines: list[str]) -> list[str]:
        start = rng.randrange(len(lines))
        chunk = lines[start:start + rng.randrange(1, 8)]
        at = rng.randrange(len(lines))
        return lines[:at] + chunk + lines[at:]

    def separators(lines: list[str]) -> list[str]:
        lines.insert(rng.randrange(len(lines)), rng.choice(["---", "...", "--- !!map", "%YAML 1.1", "? a", ": b"]))
        return lines

    def deep(lines: list[str]) -> list[str]:
        depth = rng.choice([50, 500, 5000])
        lines.append("deep: " + "[" * depth + "]" * depth)
        return lines

    return [replace_value, replace_value, replace_value, drop_line, duplicate_line, reindent, anchors, bomb, splice,
            separators, deep]


def _file_mutations(rng: random.Random, root: Path) -> list[Callable[[Path], None]]:
    def encode(path: Path) -> None:
        text = path.read_text(encoding="utf-8", errors="replace")
        path.write_bytes(rng.choice([text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + text.encode(),
                                     text.encode() + b"\xff\xfe", text.encode().replace(b"e", b"\xe9", 1),
                                     text.encode().replace(b"\n", b"\r\n"), text.encode().replace(b"\n", b"\r"),
                                     text.encode() + b"\x00", b"\x1b[31m" + text.encode()]))

    def kind_of_file(path: Path) -> None:
        path.unlink()
        choice = rng.randrange(6)
        if choice == 0:
            path.mkdir()
            (path / "inner.yaml").write_text("kind: Team\n")
        elif choice == 1:
            path.symlink_to("/etc/hostname")
        elif choice == 2:
            path.symlink_to(path)  # a loop
        elif choice == 3:
            os.mkfifo(path)  # reading it would block for ever
        elif choice == 4:
            path.write_bytes(os.urandom(rng.randrange(1, 4096)))
        else:
            path.write_bytes(b"")

    def odd_name(path: Path) -> None:
        path.rename(path.with_name(rng.choice(["new\nline.yaml", "tab\there.yaml", "colon:name.yaml", "é.yaml",
                                               " .yaml", "-.yml", "\x1b.yaml"])))

    def huge(path: Path) -> None:
        with path.open("a", encoding="utf-8") as file:
            file.write(rng.choice(["\n# " + "z" * 2_000_000, "\nnote: '" + "w" * 900_000 + "'\n",
                                   "\n---\n" * 50_000]))

    return [encode, kind_of_file, odd_name, huge]


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang(f"no result after {SECONDS_PER_MUTATION}s")


def _mutate(rng: random.Random, root: Path) -> str:
    """Apply one to three mutations to the copy at ``root``; returns what was done, for the failure message."""
    done = []
    for _ in range(rng.randrange(1, 4)):
        files = sorted(p for p in root.rglob("*.yaml") if p.is_file() and not p.is_symlink())
        if not files:
            break
        path = rng.choice(files)
        if rng.random() < 0.8:
            mutation = rng.choice(_line_mutations(rng))
            lines = path.read_text(encoding="utf-8", errors="replace").split("\n") or [""]
            path.write_text("\n".join(mutation(lines or [""])), encoding="utf-8")
        else:
            file_mutation = rng.choice(_file_mutations(rng, root))
            file_mutation(path)
            mutation = file_mutation  # type: ignore[assignment]
        done.append(f"{mutation.__name__}({path.relative_to(root).as_posix()!r})")
    return ", ".join(done)


def _check_errors(errors: list[str], root: Path) -> None:
    for error in errors:
        match = ERROR_LINE.match(error)
        assert match, f"not one path:line error: {error[:300]!r}"
        assert len(error) < 2000, f"error too long ({len(error)} characters): {error[:300]!r}"
        assert int(match["line"]) >= 1, error[:300]


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Path]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    yield tmp_path
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_validate_and_render_survive_random_mutations(copy: Path) -> None:
    rng = random.Random(SEED)
    outcomes = {"valid": 0, "invalid": 0}
    for number in range(MUTATIONS):
        root = copy / f"m{number}"
        shutil.copytree(SAMPLE_REPO, root)
        what = _mutate(rng, root)
        signal.alarm(SECONDS_PER_MUTATION)
        try:
            landscape = load_landscape(root)
            output.to_yaml([o for objects in render_landscape(landscape, landscape.targets).values() for o in objects])
            outcomes["valid"] += 1
        except InvalidRepository as invalid:
            _check_errors([str(error) for error in invalid.errors], root)
            outcomes["invalid"] += 1
        except Exception as error:
            raise AssertionError(f"seed {SEED}, mutation {number}: {what}: {type(error).__name__}: "
                                 f"{str(error)[:500]}") from error
        finally:
            signal.alarm(0)
            shutil.rmtree(root, ignore_errors=True)
    # The mutations must reach both sides: a fuzzer whose every repository is invalid tests only the reader.
    assert outcomes["valid"] > MUTATIONS // 20 and outcomes["invalid"] > MUTATIONS // 2, outcomes
