"""Verified commits: real commits signed in the test with ssh-keygen and gpg keys, judged by git."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.source import signatures
from reconciler.source.signatures import KeysError, TrustedKeys

from ..signing import Keys, SigningKey, keys


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Keys]:
    with keys(tmp_path / "keys") as made_keys:
        yield made_keys


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    subprocess.run(["git", "init", "--quiet", str(path)], check=True)
    (path / "env.yaml").write_text("kind: Environment\n")
    return path


def _trusted(tmp_path: Path, made: Keys, ssh: tuple[SigningKey, ...] = (),
             gpg: tuple[SigningKey, ...] = ()) -> TrustedKeys:
    signers = made.allowed_signers(*ssh) if ssh else None
    keyring = made.export(*gpg) if gpg else None
    return signatures.prepare(signers, keyring, tmp_path / "reconciler-gnupg")


def test_a_commit_signed_by_a_listed_ssh_key_is_accepted_with_its_signer(
        tmp_path: Path, made: Keys, work: Path) -> None:
    alice = made.ssh("alice")
    commit = made.commit(work, "signed", alice)
    verdict = signatures.verify(work, commit, _trusted(tmp_path, made, ssh=(alice,)))
    assert verdict.accepted, verdict.describe()
    assert (verdict.status, verdict.signer) == ("G", "alice@example.com")
    assert verdict.key.startswith("SHA256:")


def test_a_commit_signed_by_an_ssh_key_that_is_not_listed_is_held(tmp_path: Path, made: Keys, work: Path) -> None:
    alice, mallory = made.ssh("alice"), made.ssh("mallory")
    commit = made.commit(work, "signed by someone else", mallory)
    verdict = signatures.verify(work, commit, _trusted(tmp_path, made, ssh=(alice,)))
    assert verdict.reason == "unknown-key"
    assert verdict.signer == ""
    assert f"commit {commit[:12]} is held: unknown-key (key SHA256:" in verdict.describe()


def test_an_unsigned_commit_is_held(tmp_path: Path, made: Keys, work: Path) -> None:
    alice = made.ssh("alice")
    commit = made.commit(work, "unsigned", None)
    verdict = signatures.verify(work, commit, _trusted(tmp_path, made, ssh=(alice,)))
    assert (verdict.reason, verdict.status) == ("unsigned", "N")
    assert "held: unsigned (no signature); sign it" in verdict.describe()


def test_a_commit_changed_after_signing_has_a_bad_signature(tmp_path: Path, made: Keys, work: Path) -> None:
    alice, bob = made.ssh("alice"), made.gpg("bob")
    trusted = _trusted(tmp_path, made, ssh=(alice,), gpg=(bob,))
    for key in (alice, bob):
        forged = made.tamper(work, made.commit(work, f"signed by {key.name}", key))
        verdict = signatures.verify(work, forged, trusted)
        assert verdict.reason == "bad-signature", (key.format, verdict)


def test_a_signed_commit_does_not_vouch_for_an_unsigned_one_since_the_last_applied(
        tmp_path: Path, made: Keys, work: Path) -> None:
    alice, mallory = made.ssh("alice"), made.ssh("mallory")
    trusted = _trusted(tmp_path, made, ssh=(alice,))
    applied = made.commit(work, "applied", alice)
    (work / "env.yaml").write_text("kind: Environment\nspec: {access: [{user: mallory, role: admin}]}\n")
    for reason, key in (("unsigned", None), ("unknown-key", mallory)):
        pushed = made.commit(work, f"pushed by someone without a listed key: {reason}", key)
        tip = made.commit(work, "signed on top", alice)
        verdict = signatures.verify_new(work, tip, applied, trusted)
        assert (verdict.reason, verdict.commit, verdict.brought_by) == (reason, pushed, tip)
        assert f"commit {tip[:12]} is held: it brings commit {pushed[:12]}, which is not signed" in verdict.describe()
        assert signatures.verify(work, tip, trusted).accepted, "the tip alone is signed"
        assert signatures.verify_new(work, tip, None, trusted).accepted, "nothing applied yet: the tip is judged"
    assert signatures.verify_new(work, made.commit(work, "next", alice), tip, trusted).accepted


def test_a_commit_signed_by_a_gpg_key_of_the_keyring_is_accepted(tmp_path: Path, made: Keys, work: Path) -> None:
    bob = made.gpg("bob")
    commit = made.commit(work, "gpg signed", bob)
    verdict = signatures.verify(work, commit, _trusted(tmp_path, made, gpg=(bob,)))
    assert verdict.accepted, verdict.describe()
    assert verdict.signer == "bob <bob@example.com>"
    assert verdict.key == bob.key


def test_a_gpg_key_outside_the_keyring_is_held_even_if_the_user_keyring_has_it(
        tmp_path: Path, made: Keys, work: Path) -> None:
    bob, eve = made.gpg("bob"), made.gpg("eve")  # both live in the keyring the commit was signed with
    commit = made.commit(work, "signed by eve", eve)
    verdict = signatures.verify(work, commit, _trusted(tmp_path, made, gpg=(bob,)))
    assert verdict.reason == "unknown-key"
    assert eve.key.endswith(verdict.key)


def test_each_kind_of_key_vouches_only_for_its_own_list(tmp_path: Path, made: Keys, work: Path) -> None:
    alice, bob = made.ssh("alice"), made.gpg("bob")
    ssh_only = _trusted(tmp_path, made, ssh=(alice,))
    assert signatures.verify(work, made.commit(work, "gpg", bob), ssh_only).reason == "unknown-key"
    gpg_only = signatures.prepare(None, made.export(bob), tmp_path / "gpg-only")
    assert signatures.verify(work, made.commit(work, "ssh", alice), gpg_only).reason == "unknown-key"


def test_keys_that_cannot_be_used_are_refused_at_start_with_the_option_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    with pytest.raises(KeysError, match=rf"--verify-signatures {missing}: cannot read it"):
        signatures.prepare(missing, None, tmp_path / "home")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(KeysError, match="the file is empty, so no commit could ever be applied"):
        signatures.prepare(empty, None, tmp_path / "home")
    garbage = tmp_path / "garbage.gpg"
    garbage.write_text("not a keyring\n")
    with pytest.raises(KeysError, match=rf"--verify-gpg-keys {garbage}: no public key could be imported"):
        signatures.prepare(None, garbage, tmp_path / "home")
