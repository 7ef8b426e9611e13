"""The controller's source loop with --verify-signatures: held commits change nothing, signed ones are offered.

No cluster: the source loop is driven by hand (``check_source``) and stopped, so no worker writes anything.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.controller.loop import Controller
from reconciler.controller.settings import Settings
from reconciler.source.signatures import KeysError

from ..signing import Keys, keys

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Keys]:
    with keys(tmp_path / "keys") as made_keys:
        yield made_keys


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    shutil.copytree(SAMPLE, repo / "envs")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(repo)], check=True)
    return repo


def _controller(origin: Path, tmp_path: Path, **keys_given: Path) -> Controller:
    controller = Controller(Settings(repo=str(origin), path="envs", workdir=tmp_path / "work", **keys_given))
    controller.stop.set()  # workers that start stop at once: nothing is converged
    controller._prepare_workdir()
    return controller


def _edit(origin: Path, old: str, new: str) -> None:
    prod = origin / "envs" / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace(old, new, 1))


def test_unsigned_unknown_and_tampered_commits_are_held_and_the_last_good_one_stays(
        origin: Path, tmp_path: Path, made: Keys) -> None:
    alice, mallory = made.ssh("alice"), made.ssh("mallory")
    good = made.commit(origin, "landscape", alice)
    controller = _controller(origin, tmp_path, verify_signatures=made.allowed_signers(alice))
    controller.check_source()
    assert controller.desired is not None and controller.desired.revision == good

    _edit(origin, "gpu: 8", "gpu: 1")  # in the held commits, and applied with the next signed one
    held = []
    for reason, key in (("unsigned", None), ("unknown-key", mallory), ("bad-signature", alice)):
        commit = made.commit(origin, f"held: {reason}", key)
        if reason == "bad-signature":
            commit = made.tamper(origin, commit)
            subprocess.run(["git", "-C", str(origin), "update-ref", "refs/heads/main", commit], check=True)
        controller.check_source()
        snapshot = controller.status.snapshot()
        assert snapshot["heldRevision"]["revision"] == commit and snapshot["heldRevision"]["reason"] == reason
        assert snapshot["heldRevision"]["keptRevision"] == good
        assert controller.desired.revision == good and controller.status.revision == good
        held.append(commit)
    assert not (tmp_path / "work" / "trees" / held[-1]).exists(), "a held commit is never even checked out"

    on_top = made.commit(origin, "signed on top of the held commits", alice)
    controller.check_source()
    snapshot = controller.status.snapshot()
    assert snapshot["heldRevision"]["revision"] == on_top and snapshot["heldRevision"]["commit"] in held
    assert controller.desired.revision == good, "a signed tip does not vouch for the unsigned commits it brings"

    subprocess.run(["git", "-C", str(origin), "reset", "--quiet", "--soft", good], check=True)
    signed = made.commit(origin, "signed again", alice)  # the held changes, rewritten as one signed commit
    controller.check_source()
    assert controller.desired.revision == signed
    assert controller.desired.landscape.environments["prod"].quota["requests.nvidia.com/gpu"] == "1"
    assert controller.status.snapshot()["heldRevision"] is None


def test_keys_that_cannot_be_used_stop_the_controller_at_start(origin: Path, tmp_path: Path) -> None:
    with pytest.raises(KeysError, match=r"--verify-gpg-keys .*missing\.gpg: cannot read it"):
        _controller(origin, tmp_path, verify_gpg_keys=tmp_path / "missing.gpg")
